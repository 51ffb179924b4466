"""Every error sfn-offload raises, in one tree.

::

    SfnOffloadError                     root: catch this to catch everything below
    ├── ConfigurationError              missing/invalid table, bucket, TTL, threshold...
    ├── StopExecutionError              StopExecution could not be sent (no ARN, API error)
    ├── MapRunFailedError               a Map's results include failed, pending or missing
    │                                   iterations (Inline gather or Distributed ResultWriter)
    ├── StateShapeError                 what the task returns cannot fit the state the ASL
    │                                   builds from it (a Map/Parallel share smaller than a
    │                                   pointer, a fan-out placeholder too long to stay inline)
    ├── RunningLoopError                an async handler's sync form was called from a running
    │                                   event loop (await ``handler.aio(...)`` there instead)
    ├── QuotaExceededError              the local kit found an execution AWS would fail (a state
    │                                   over 262,144 bytes, a history over 25,000 events)
    └── StateDataClientError            anything about storing or loading state data
        ├── NoItemFound                 the item/object a pointer names is missing or expired
        ├── PayloadEncodingError        a value Step Functions cannot carry (NaN, set, bytes,
        │                               datetime, lone surrogate) or bytes that do not decode
        ├── PayloadTooLargeError        a payload exceeds what the backends or caps allow
        ├── PointerError                a malformed pointer, unknown version or backend
        │   └── PointerNotAllowedError  a pointer naming a table/bucket off the allow-list
        ├── IntegrityError              stored bytes do not match the pointer's size/SHA-256
        └── StoreError                  a DynamoDB/S3 request failed after retries (chained
                                        to the botocore error)

``StateDataClientError`` and ``NoItemFound`` keep the names (and the parent/child relation)
of ``py2sfn_task_tools.exceptions``, so ``except NoItemFound`` written for the predecessor
keeps working.

Foreign exceptions (``botocore.exceptions.ClientError`` and friends) are translated in exactly
one place, :func:`translate_aws_errors`, always chained with ``raise ... from exc``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError

__all__ = [
    "ConfigurationError",
    "IntegrityError",
    "MapRunFailedError",
    "NoItemFound",
    "PayloadEncodingError",
    "PayloadTooLargeError",
    "PointerError",
    "PointerNotAllowedError",
    "QuotaExceededError",
    "RunningLoopError",
    "SfnOffloadError",
    "StateDataClientError",
    "StateShapeError",
    "StopExecutionError",
    "StoreError",
    "translate_aws_errors",
]


class SfnOffloadError(Exception):
    """Root of every error raised by sfn-offload."""


class ConfigurationError(SfnOffloadError):
    """The configuration is missing something or holds an invalid value."""


class MapRunFailedError(SfnOffloadError):
    """A Map's results are incomplete: iterations that failed, are pending or left no result."""


class StateShapeError(SfnOffloadError):
    """The state machine's shape leaves no room for what the task returns.

    Raised inside the task (so ``Catch`` can route it) instead of letting Step Functions fail the
    execution with the uncatchable ``States.DataLimitExceeded``; the message names the shape and
    the fix.
    """


class RunningLoopError(SfnOffloadError, RuntimeError):
    """The sync form of a decorated ``async def`` handler was called while this thread runs an
    event loop. The sync form is what the Lambda runtime calls; from async code, await the
    handler's awaitable form, ``handler.aio(event, context)``."""


class QuotaExceededError(SfnOffloadError, AssertionError):
    """A local execution did something AWS would refuse and moto does not: a state input or
    output over 262,144 bytes, or more history events than a Standard execution may write.

    Raised by :class:`sfn_offload.testing.LocalStepFunctions` when it is strict; otherwise it
    issues a :class:`sfn_offload.testing.QuotaWarning` with the same message. An
    ``AssertionError`` too, so a test reports it as a failure.
    """


class StopExecutionError(SfnOffloadError):
    """A StopExecution request could not be made (no execution ARN, or the API refused)."""


class StateDataClientError(SfnOffloadError):
    """Base for errors about storing or loading state data (py2sfn-task-tools name)."""


class NoItemFound(StateDataClientError):
    """The item or object a pointer refers to does not exist (never written, or expired)."""


class PayloadEncodingError(StateDataClientError):
    """A value cannot travel as Step Functions JSON, or stored bytes cannot be decoded."""


class PayloadTooLargeError(StateDataClientError):
    """A payload is larger than the configured backends or limits allow."""


class PointerError(StateDataClientError):
    """A pointer is malformed, of an unsupported version, or names an unknown backend."""


class PointerNotAllowedError(PointerError):
    """A pointer names a table or bucket that is not on the allow-list."""


class IntegrityError(StateDataClientError):
    """Stored bytes do not match the size or digest recorded in the pointer."""


class StoreError(StateDataClientError):
    """A DynamoDB or S3 request failed (after the retries the client allows).

    Attributes:
        code: the AWS error code (``ThrottlingException``, ``AccessDenied``...) or the botocore
            exception's class name for transport errors.
    """

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
#: DynamoDB answers ResourceNotFoundException only for a missing table or index (a missing item
#: is an empty GetItem response), with the bare message "Requested resource not found".
_MISSING_CONTAINER_CODES = frozenset({"NoSuchBucket", "ResourceNotFoundException"})


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore exception (``""`` when it carries none)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


@contextlib.contextmanager
def translate_aws_errors(operation: str, where: str) -> Iterator[None]:
    """Turn botocore exceptions raised inside the block into library errors.

    ``operation`` is the AWS operation (``"DynamoDB.BatchWriteItem"``) and ``where`` names the
    resource (``"table 'state' partition_key 'exec:k' index 3"``), so every message says what
    failed and where.

    A missing S3 object becomes :class:`NoItemFound`; a missing table or bucket becomes
    :class:`ConfigurationError` (it is a setup problem, not a data problem); everything else
    becomes :class:`StoreError` with the AWS error code.

    >>> from botocore.exceptions import ClientError
    >>> try:
    ...     with translate_aws_errors("S3.GetObject", "bucket 'b' key 'k'"):
    ...         raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
    ... except NoItemFound as exc:
    ...     print(exc)
    S3.GetObject: no object at bucket 'b' key 'k' (NoSuchKey)
    """
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        if code in _MISSING_CONTAINER_CODES:
            raise ConfigurationError(
                f"{operation}: {where}: the table or bucket does not exist ({code}: {message})"
            ) from exc
        if code in _NOT_FOUND_CODES:
            raise NoItemFound(f"{operation}: no object at {where} ({code})") from exc
        hint = ""
        if operation == "S3.GetObject" and code == "AccessDenied":
            # Without s3:ListBucket (which the least-privilege policy does not grant), S3 answers
            # 403 for a key that does not exist, e.g. an object the lifecycle rule removed.
            hint = (
                " (S3 also answers AccessDenied for a missing object when the role lacks "
                "s3:ListBucket: the object may have expired)"
            )
        raise StoreError(
            f"{operation} failed for {where}: {code}: {message}".rstrip(": ") + hint, code=code
        ) from exc
    except BotoCoreError as exc:
        raise StoreError(
            f"{operation} failed for {where}: {type(exc).__name__}: {exc}",
            code=type(exc).__name__,
        ) from exc
