"""Stopping the running execution from inside a task.

``raise StopExecution(error=..., cause=...)`` in a decorated handler (or
``context.stop_execution(...)``) calls the StopExecution API on the current execution:

- ``error`` is cut to 256 characters and ``cause`` to 32,768 (the API's limits), ending in a
  visible ``...[truncated]`` marker; each is sent only when given (py2sfn semantics; a caller
  that sends neither needs no KMS permission on encrypted executions).
- An execution that already finished is tolerated (no error).
- Where the API cannot stop the execution (an Express workflow, or an input without an execution
  ARN) the task *fails* instead, with an exception whose class name is ``error`` (default
  ``"StopExecution"``), so an ASL ``Catch``/``Retry`` with ``"ErrorEquals": ["<error>"]`` can
  match it.

The handler's invocation then returns a small summary (``{"stopped": True, "execution_arn": ...,
"status": "ABORTED"}``), which Step Functions discards because the execution is already
``ABORTED``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from .errors import StopExecutionError, error_code

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

__all__ = [
    "CAUSE_LIMIT",
    "ERROR_LIMIT",
    "StopExecution",
    "send_stop",
    "stop_failure",
    "truncate",
]

logger = logging.getLogger("sfn_offload")

ERROR_LIMIT: Final = 256
CAUSE_LIMIT: Final = 32_768
TRUNCATION_MARKER: Final = "...[truncated]"


class StopExecution(Exception):
    """Raise in a decorated handler to stop the running execution (it becomes ``ABORTED``).

    >>> exc = StopExecution(error="FeatureDisabled", cause="orders-v2 flag is off")
    >>> exc.error, exc.cause
    ('FeatureDisabled', 'orders-v2 flag is off')
    """

    def __init__(self, error: str | None = None, cause: str | None = None) -> None:
        super().__init__(error or "StopExecution")
        self.error = error
        self.cause = cause


def truncate(text: str | None, limit: int) -> str | None:
    """Cut ``text`` to ``limit`` characters, ending with a visible marker when cut.

    >>> truncate("x" * 300, 256)[-20:]
    'xxxxxx...[truncated]'
    >>> len(truncate("x" * 300, 256))
    256
    """
    if text is None or len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


def stop_failure(error: str | None, cause: str | None, reason: str) -> StopExecutionError:
    """An exception whose class name is ``error``, for executions the API cannot stop.

    The Lambda runtime reports ``type(exc).__name__`` as ``errorType``, which Step Functions
    matches against ``ErrorEquals``.

    >>> exc = stop_failure("FeatureDisabled", "flag off", "Express workflow")
    >>> type(exc).__name__, isinstance(exc, StopExecutionError)
    ('FeatureDisabled', True)
    """
    name = truncate(error, ERROR_LIMIT) or "StopExecution"
    cls = type(name, (StopExecutionError,), {"__module__": "sfn_offload"})
    message = f"{reason}; failing the task with error {name!r} instead"
    if cause:
        message += f": {truncate(cause, CAUSE_LIMIT)}"
    exc: StopExecutionError = cls(message)
    return exc


def send_stop(
    client: SFNClient, execution_arn: str, error: str | None, cause: str | None
) -> dict[str, Any]:
    """Call StopExecution; tolerate an execution that already finished.

    Returns a small summary (never the cause, which may be sensitive).
    """
    kwargs: dict[str, Any] = {"executionArn": execution_arn}
    if error is not None:
        kwargs["error"] = truncate(error, ERROR_LIMIT)
    if cause is not None:
        kwargs["cause"] = truncate(cause, CAUSE_LIMIT)
    try:
        client.stop_execution(**kwargs)
    except ClientError as exc:
        status = _status(client, execution_arn)
        if status is not None and status != "RUNNING":
            logger.debug("execution %s already %s; nothing to stop", execution_arn, status)
            return {"stopped": False, "execution_arn": execution_arn, "status": status}
        raise StopExecutionError(
            f"StopExecution failed for {execution_arn}: {error_code(exc)}: "
            f"{exc.response.get('Error', {}).get('Message', '')}"
        ) from exc
    except BotoCoreError as exc:
        raise StopExecutionError(f"StopExecution failed for {execution_arn}: {exc}") from exc
    logger.debug("stopped execution %s (error=%s)", execution_arn, kwargs.get("error") is not None)
    return {"stopped": True, "execution_arn": execution_arn, "status": "ABORTED"}


def _status(client: SFNClient, execution_arn: str) -> str | None:
    try:
        return client.describe_execution(executionArn=execution_arn)["status"]
    except (ClientError, BotoCoreError):
        return None
