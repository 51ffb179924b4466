"""StopExecution's ``error`` and ``cause``, which moto accepts but does not keep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .patching import Patches

__all__ = ["install_stop_hook"]

#: ``record(execution_arn, error, cause)``
Record = Callable[[str, Any, Any], None]


def install_stop_hook(patches: Patches, record: Record) -> None:
    """Pass every StopExecution's arguments to ``record`` before moto stops the execution."""
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.stop_execution

    def stop_execution(response: Any) -> Any:
        record(
            response._get_param("executionArn"),
            response._get_param("error"),
            response._get_param("cause"),
        )
        return original(response)

    patches.replace(StepFunctionResponse, "stop_execution", stop_execution)
