"""Every error sfn-offload raises, in one tree.

::

    SfnOffloadError                     root: catch this to catch everything below
    ├── ConfigurationError              missing/invalid table, bucket, TTL, threshold...
    ├── StopExecutionError              StopExecution could not be sent (no ARN, API error)
    │   ├── StopNotAllowedError         the execution's state machine is not on the stop
    │   │                               allow-list (``stop_state_machines``)
    │   └── StopArgumentError           ``error``/``cause`` are not strings
    ├── MapRunFailedError               a Map's results include failed, pending or missing
    │                                   iterations (Inline gather or Distributed ResultWriter)
    ├── StateShapeError                 what the task returns cannot fit the state the ASL
    │                                   builds from it (a Map/Parallel share smaller than a
    │                                   pointer, a fan-out placeholder too long to stay inline)
    ├── RunningLoopError                an async handler's sync form was called from a running
    │                                   event loop (await ``handler.aio(...)`` there instead)
    ├── QuotaExceededError              the local kit found an execution AWS would fail (a state
    │                                   over 262,144 bytes, a history over 25,000 events)
    ├── DefinitionCheckError            the local kit was asked to run a definition that fails
    │                                   ``sfn-offload check`` (a shape where the limit bites)
    └── StateDataClientError            anything about storing or loading state data
        ├── NoItemFound                 the item/object a pointer names is missing or expired
        ├── PayloadEncodingError        a value Step Functions cannot carry (NaN, set, bytes,
        │                               datetime, lone surrogate, duplicate keys, nesting too
        │                               deep) or stored bytes that do not decode
        ├── PayloadTooLargeError        a payload, list or manifest exceeds what the backends or
        │                               the read caps allow
        ├── PointerError                a malformed pointer, unknown version or backend
        │   └── PointerNotAllowedError  a pointer naming a table/bucket off the allow-list, an
        │       │                       S3 key outside the library's prefixes
        │       └── ForeignDataError    unverifiable data (no digest in the pointer) written
        │                               for another execution
        ├── IntegrityError              stored bytes do not match the pointer's size/SHA-256, an
        │   │                           element does not belong to its list
        │   └── ConcurrentWriteError    a list holds elements of two different writes
        └── StoreError                  a DynamoDB/S3 request failed after retries (chained
            │                           to the botocore error)
            ├── StoreThrottledError     throttled (DynamoDB capacity, S3 SlowDown, batches
            │                           left unprocessed): worth a ``Retry`` with backoff
            └── StoreAccessDeniedError  the role may not do this (IAM, KMS, bucket owner):
                                        retrying does not help

**For ASL.** The Lambda runtime reports the bare class name as ``errorType``, and Step Functions
matches ``ErrorEquals`` against it exactly (no inheritance). Route by the leaf names: retry
``StoreThrottledError`` (and ``StoreError``, for 5xx and connection failures), fail fast on
``StoreAccessDeniedError``, ``NoItemFound``, ``IntegrityError``, ``ForeignDataError``,
``PointerNotAllowedError``, ``PayloadTooLargeError`` (docs/RELIABILITY.md has an example).

``StateDataClientError`` and ``NoItemFound`` keep the names (and the parent/child relation)
of ``py2sfn_task_tools.exceptions``, so ``except NoItemFound`` written for the predecessor
keeps working.

Foreign exceptions (``botocore.exceptions.ClientError`` and friends) are translated in exactly
one place, :func:`translate_aws_errors`, always chained with ``raise ... from exc``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

from botocore.exceptions import BotoCoreError, ClientError

__all__ = [
    "ConcurrentWriteError",
    "ConfigurationError",
    "DefinitionCheckError",
    "ForeignDataError",
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
    "StopArgumentError",
    "StopExecutionError",
    "StopNotAllowedError",
    "StoreAccessDeniedError",
    "StoreError",
    "StoreThrottledError",
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


class DefinitionCheckError(SfnOffloadError, AssertionError):
    """A state machine definition fails sfn-offload's static check (:mod:`sfn_offload.checks`).

    Raised by :class:`sfn_offload.testing.LocalStepFunctions` before it creates a state machine
    whose definition has a failing finding (errors by default; see its ``check``), and by
    :func:`sfn_offload.testing.assert_definition_ok`. The message lists every finding with the
    state's path and the fix. An ``AssertionError`` too, so a test reports it as a failure.
    """


class StopExecutionError(SfnOffloadError):
    """A StopExecution request could not be made (no execution ARN, or the API refused)."""


class StopNotAllowedError(StopExecutionError):
    """The execution's state machine is not one this function may stop.

    Set ``stop_state_machines`` (``SFN_OFFLOAD_STOP_STATE_MACHINES``) to the state machines a
    function may stop; an event naming any other execution cannot make it stop that one.
    """


class StopArgumentError(StopExecutionError):
    """``StopExecution(error=..., cause=...)`` was given something other than strings."""


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


class ForeignDataError(PointerNotAllowedError):
    """A reference without a digest names data written for another execution.

    Lists, element references, py2sfn Map events and Map results whose pointer carries no digest
    can only be checked by where they live: by default they must be in the reading execution's
    namespace. ``cross_execution_reads`` (``SFN_OFFLOAD_CROSS_EXECUTION_READS``) lifts this.
    """


class IntegrityError(StateDataClientError):
    """Stored bytes do not match the size or digest recorded in the pointer (or an element does
    not belong to the list its reference names)."""


class ConcurrentWriteError(IntegrityError):
    """A list read back holds elements of different writes (two writers of one key ran at once).

    Nothing is returned; reading again after the writers finish may succeed if one of them wrote
    the whole list last, otherwise the list must be written again.
    """


class StoreError(StateDataClientError):
    """A DynamoDB or S3 request failed (after the retries the client allows).

    Attributes:
        code: the AWS error code (``ThrottlingException``, ``AccessDenied``...) or the botocore
            exception's class name for transport errors.
    """

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class StoreThrottledError(StoreError):
    """DynamoDB or S3 throttled the request, and botocore's and sfn-offload's retries ran out.

    Worth an ASL ``Retry`` with backoff: capacity frees up.
    """


class StoreAccessDeniedError(StoreError):
    """The role may not make this request (IAM, KMS key policy, expected bucket owner).

    Retrying does not help. S3 also answers ``AccessDenied`` for a missing object when the role
    lacks ``s3:ListBucket``; the message then says the object may have expired.
    """


#: AWS error codes of throttling (DynamoDB, S3, KMS, Step Functions) and of batches left
#: unprocessed after every retry.
THROTTLING_CODES: Final = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "RequestThrottled",
        "UnprocessedItems",
        "UnprocessedKeys",
    }
)
#: AWS error codes meaning the caller may not do this.
ACCESS_DENIED_CODES: Final = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "UnrecognizedClientException",
        "KMS.AccessDeniedException",
        "KMS.DisabledException",
        "KMS.KMSInvalidStateException",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)


def store_error(message: str, code: str) -> StoreError:
    """The :class:`StoreError` subclass for an AWS error ``code``."""
    if code in THROTTLING_CODES:
        return StoreThrottledError(message, code=code)
    if code in ACCESS_DENIED_CODES:
        return StoreAccessDeniedError(message, code=code)
    return StoreError(message, code=code)


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
    :class:`ConfigurationError` (it is a setup problem, not a data problem); throttling becomes
    :class:`StoreThrottledError`, a denied request :class:`StoreAccessDeniedError`, everything
    else :class:`StoreError`, each with the AWS error code.

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
        raise store_error(
            f"{operation} failed for {where}: {code}: {message}".rstrip(": ") + hint, code
        ) from exc
    except BotoCoreError as exc:
        raise StoreError(
            f"{operation} failed for {where}: {type(exc).__name__}: {exc}",
            code=type(exc).__name__,
        ) from exc
