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
  match it. Its message does not repeat the ``cause`` (the Lambda runtime logs messages, and a
  cause may be sensitive).
- ``error`` and ``cause`` must be strings (or ``None``): anything else raises
  :class:`~sfn_offload.errors.StopArgumentError` before any request.
- **Which executions.** The execution is the one whose ARN the input carries (the state machine
  passes ``$$.Execution.Id``). ``stop_state_machines`` (``SFN_OFFLOAD_STOP_STATE_MACHINES``)
  restricts it to executions of the listed state machines (names or ARNs): an input naming an
  execution of any other state machine raises :class:`~sfn_offload.errors.StopNotAllowedError`
  and stops nothing. Pass the ARN in the task's ``Parameters`` (``"sfn_execution_arn.$":
  "$$.Execution.Id"``), never from state data, so it cannot name another execution of an
  allowed state machine either.

The handler's invocation then returns a small summary (``{"stopped": True, "execution_arn": ...,
"status": "ABORTED"}``), which Step Functions discards because the execution is already
``ABORTED``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from ._identity import ExecutionIdentity, state_machine_of
from .errors import StopArgumentError, StopExecutionError, StopNotAllowedError, error_code

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

__all__ = [
    "CAUSE_LIMIT",
    "ERROR_LIMIT",
    "StopExecution",
    "check_allowed",
    "check_arguments",
    "send_stop",
    "stop_current",
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


def check_arguments(error: object, cause: object) -> None:
    """Refuse ``error``/``cause`` that are not strings (or ``None``) with a typed error.

    >>> check_arguments(404, None)
    Traceback (most recent call last):
    ...
    sfn_offload.errors.StopArgumentError: StopExecution error must be a string or None, got int
    """
    for name, value in (("error", error), ("cause", cause)):
        if value is not None and not isinstance(value, str):
            raise StopArgumentError(
                f"StopExecution {name} must be a string or None, got {type(value).__name__}"
            )


def check_allowed(execution_arn: str, allowed: Collection[str]) -> None:
    """Refuse an execution whose state machine is not in ``allowed`` (names or state machine
    ARNs); an empty ``allowed`` allows every execution.

    >>> arn = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1"
    >>> check_allowed(arn, {"orders"}) is None
    True
    >>> check_allowed(arn, {"billing"})
    Traceback (most recent call last):
    ...
    sfn_offload.errors.StopNotAllowedError: StopExecution refused: ...
    """
    if not allowed:
        return
    machine = state_machine_of(execution_arn)
    if machine is not None:
        head, _, name = machine.rpartition(":")
        if name in allowed or f"{head}:stateMachine:{name}" in allowed:
            return
    raise StopNotAllowedError(
        f"StopExecution refused: {execution_arn} is not an execution of the state machines this "
        f"function may stop ({sorted(allowed)}; SFN_OFFLOAD_STOP_STATE_MACHINES)"
    )


def stop_failure(error: str | None, cause: str | None, reason: str) -> StopExecutionError:
    """An exception whose class name is ``error``, for executions the API cannot stop.

    The Lambda runtime reports ``type(exc).__name__`` as ``errorType``, which Step Functions
    matches against ``ErrorEquals``. The message says why, never the cause.

    >>> exc = stop_failure("FeatureDisabled", "flag off", "Express workflow")
    >>> type(exc).__name__, isinstance(exc, StopExecutionError), "flag off" in str(exc)
    ('FeatureDisabled', True, False)
    """
    name = truncate(error, ERROR_LIMIT) or "StopExecution"
    cls = type(name, (StopExecutionError,), {"__module__": "sfn_offload"})
    message = f"{reason}; failing the task with error {name!r} instead"
    if cause:
        message += " (the cause is not repeated here)"
    exc: StopExecutionError = cls(message)
    return exc


def stop_current(
    identity: ExecutionIdentity,
    error: object,
    cause: object,
    client: Callable[[], SFNClient],
    *,
    allowed: Collection[str] = (),
    execution_arn_key: str = "sfn_execution_arn",
) -> dict[str, Any]:
    """Stop the execution ``identity`` names: arguments checked, then the execution (an ARN, not
    Express, an allowed state machine), then StopExecution sent (see the module docstring)."""
    check_arguments(error, cause)
    assert error is None or isinstance(error, str)
    assert cause is None or isinstance(cause, str)
    if identity.execution_arn is None:
        raise stop_failure(
            error,
            cause,
            "StopExecution needs the execution ARN, but the input carries none (pass "
            f"$$.Execution.Id as {execution_arn_key!r})",
        )
    if identity.express:
        raise stop_failure(
            error, cause, f"Express execution {identity.execution_arn} cannot be stopped by the API"
        )
    check_allowed(identity.execution_arn, allowed)
    return send_stop(client(), identity.execution_arn, error, cause)


def send_stop(
    client: SFNClient, execution_arn: str, error: str | None, cause: str | None
) -> dict[str, Any]:
    """Call StopExecution; tolerate an execution that already finished.

    Returns a small summary (never the cause, which may be sensitive).
    """
    check_arguments(error, cause)
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
