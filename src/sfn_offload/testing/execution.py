"""The outcome of a local run: status, output, error, history and per-state sizes."""

from __future__ import annotations

import datetime
import enum
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .quotas import QuotaReport, _text_bytes, quota_report
from .sizes import StateSize

__all__ = ["Execution", "wait_for"]


@dataclass
class Execution:
    """The outcome of :meth:`LocalStepFunctions.run`."""

    arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def quotas(self) -> QuotaReport:
        """Every payload of the history against 262,144 bytes, and the history against 25,000
        events: what AWS would refuse that moto lets run (see :mod:`.quotas`)."""
        return quota_report(self.history)

    def state_sizes(self) -> list[StateSize]:
        """Input/output bytes of each state, in the order they ran (Map iterations included),
        counted as compact UTF-8 JSON (moto's history text has spaces and ``\\u`` escapes)."""
        sizes: dict[str, list[int | None]] = {}
        order: list[str] = []
        for event in self.history:
            for key, value in event.items():
                if not key.endswith("EventDetails") or not isinstance(value, dict):
                    continue
                name = value.get("name")
                if not isinstance(name, str):
                    continue
                if name not in sizes:
                    sizes[name] = [None, None]
                    order.append(name)
                if "input" in value:
                    sizes[name][0] = max(sizes[name][0] or 0, _text_bytes(value["input"]))
                if "output" in value:
                    sizes[name][1] = max(sizes[name][1] or 0, _text_bytes(value["output"]))
        return [StateSize(n, sizes[n][0], sizes[n][1]) for n in order]


def wait_for(
    sfn: Any,
    execution_arn: str,
    *,
    timeout: float,
    stops: Mapping[str, tuple[str | None, str | None]],
) -> Execution:
    """Poll until the execution is no longer RUNNING (or ``timeout`` passes), then collect it.

    ``stops`` maps execution ARNs to the (error, cause) their StopExecution was given; it is
    read after the execution ends, so the caller may keep filling it meanwhile.
    """
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(pause)
        # Back off: each poll competes with the engine's thread for the interpreter.
        pause = min(pause * 1.5, 0.25)
    history = _history(sfn, execution_arn)
    error, cause = described.get("error"), described.get("cause")
    if described["status"] == "ABORTED" and execution_arn in stops:
        stop_error, stop_cause = stops[execution_arn]
        error, cause = error or stop_error, cause or stop_cause
    if described["status"] == "FAILED" and error is None:
        error, cause = _failure(history)
    raw_output = described.get("output")
    return Execution(
        arn=execution_arn,
        status=described["status"],
        output=json.loads(raw_output) if raw_output else None,
        error=error,
        cause=cause,
        history=history,
    )


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """The execution's history events, as ``GetExecutionHistory`` returns them.

    Read from moto's backend with the very call its ``GetExecutionHistory`` handler makes, less
    the round trip through moto's response serializer and botocore's parser: that costs ~0.3 ms
    of CPU per event (seconds for a Map of thousands of iterations) and changes nothing but the
    timestamps' type, which are converted here as botocore does (aware datetimes, local zone).
    Through the API when the backend cannot be reached that way (another moto).
    """
    events = _backend_history(execution_arn)
    if events is not None:
        return events
    return _api_history(sfn, execution_arn)


def _backend_history(execution_arn: str) -> list[dict[str, Any]] | None:
    try:
        from moto.stepfunctions.responses import get_backend

        _, _, _, region, account, _ = execution_arn.split(":", 5)
        events: list[dict[str, Any]] = get_backend(account, region).get_execution_history(
            execution_arn
        )["events"]
    except (ImportError, AttributeError, KeyError, TypeError, ValueError):
        return None
    first = ("timestamp", "type", "id", "previousEventId")  # the response shape's order
    parsed = [_as_parsed(event) for event in events]
    return [{**{key: event[key] for key in first if key in event}, **event} for event in parsed]


def _as_parsed(value: Any) -> Any:
    """A backend value as botocore parses it from moto's response: enums (the event ``type``)
    as their strings, timestamps as aware datetimes in the local zone."""
    if isinstance(value, dict):
        out = {key: _as_parsed(item) for key, item in value.items()}
        stamp = out.get("timestamp")
        if isinstance(stamp, str):
            out["timestamp"] = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if isinstance(out.get("timestamp"), datetime.datetime):
            out["timestamp"] = out["timestamp"].astimezone()
        return out
    if isinstance(value, list):
        return [_as_parsed(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _api_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn}
    while True:
        page = sfn.get_execution_history(**kwargs)
        history.extend(page["events"])
        if not page.get("nextToken"):
            return history
        kwargs["nextToken"] = page["nextToken"]


def _failure(history: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    # moto's DescribeExecution may leave a failed execution's error out; the history has it.
    for event in reversed(history):
        details = event.get("executionFailedEventDetails")
        if details:
            return details.get("error"), details.get("cause")
    return None, None
