"""What AWS would refuse in an execution that moto lets run: the quota report of a local run.

Two Step Functions quotas decide whether an execution can succeed on AWS whatever the code does:

- **262,144 bytes** for every state's input and output, every task's result (for
  ``lambda:invoke``, inside its envelope) and the execution's input and output;
- **25,000 history events** for a Standard execution, an Inline Map's iterations included (a
  Distributed Map's children have histories of their own).

moto checks the first only on task results and state outputs, measuring ``json.dumps`` with its
default ``", "``/``": "`` separators and ``\\u`` escapes (up to 6 bytes for a character UTF-8
writes in 2 or 3), and refuses at exactly 262,144; it does not count history events at all.
:func:`install_size_check` makes its check measure compact UTF-8 JSON and allow 262,144, as the
library's budget does, and :func:`quota_report` reads every data field of the history against
both quotas.

>>> history = [
...     {"id": 1, "type": "ExecutionStarted", "executionStartedEventDetails": {"input": "{}"}},
...     {"id": 2, "previousEventId": 1, "type": "TaskStateEntered",
...      "stateEnteredEventDetails": {"name": "Report", "input": '{"a": 1}'}},
... ]
>>> report = quota_report(history)
>>> report.ok, report.history_events, report.largest_by_state()
(True, 2, {'Report': 7})
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..budget import STATE_LIMIT_BYTES
from ..errors import PayloadEncodingError
from ..wire.codec import dumps
from .patching import Patches

__all__ = [
    "HISTORY_EVENT_LIMIT",
    "PayloadSize",
    "QuotaReport",
    "QuotaWarning",
    "install_size_check",
    "quota_report",
    "state_bytes",
]

#: Events a Standard execution's history may hold; one more and the execution fails.
HISTORY_EVENT_LIMIT: Final = 25_000
_DATA_FIELDS: Final = ("input", "output", "parameters")


class QuotaWarning(UserWarning):
    """A local execution did something AWS would refuse (see :class:`QuotaReport`).

    :class:`~sfn_offload.testing.LocalStepFunctions` issues it by default and raises
    :class:`~sfn_offload.errors.QuotaExceededError` instead when it is strict.
    """


def state_bytes(value: Any) -> int:
    """Bytes ``value`` takes in a state: compact UTF-8 JSON (what the 262,144 bytes count).

    >>> state_bytes({"name": "Zoë"})
    15
    """
    try:
        return len(dumps(value, where="state data"))
    except PayloadEncodingError:  # NaN and the like, which moto lets through
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _text_bytes(text: str) -> int:
    try:
        return state_bytes(json.loads(text))
    except ValueError:
        return len(text.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class PayloadSize:
    """One input, output or parameters field of the history, measured."""

    event_id: int
    event_type: str
    state: str | None  # the state the event belongs to; None for the execution's own events
    field: str
    bytes: int

    def __str__(self) -> str:
        where = f"state {self.state!r}" if self.state else "the execution"
        return f"{where}: {self.event_type} {self.field} is {self.bytes:,} bytes"


@dataclass(frozen=True)
class QuotaReport:
    """Every payload of one execution against 262,144 bytes, and its history against 25,000
    events. ``ok`` is what AWS would need; ``str(report)`` says what is over, and by how much."""

    history_events: int
    payloads: tuple[PayloadSize, ...]
    state_limit: int = STATE_LIMIT_BYTES
    history_limit: int = HISTORY_EVENT_LIMIT

    @property
    def oversized(self) -> tuple[PayloadSize, ...]:
        """The payloads over ``state_limit`` (``States.DataLimitExceeded`` on AWS)."""
        return tuple(p for p in self.payloads if p.bytes > self.state_limit)

    @property
    def history_ok(self) -> bool:
        """Whether a Standard execution could write this many events."""
        return self.history_events <= self.history_limit

    @property
    def ok(self) -> bool:
        return self.history_ok and not self.oversized

    def largest_by_state(self) -> dict[str, int]:
        """The largest payload of each state (Map iterations share their state's name)."""
        largest: dict[str, int] = {}
        for p in self.payloads:
            if p.state is not None:
                largest[p.state] = max(largest.get(p.state, 0), p.bytes)
        return largest

    def __str__(self) -> str:
        problems = [
            f"{p}, over the {self.state_limit:,}-byte limit by {p.bytes - self.state_limit:,} "
            "(States.DataLimitExceeded)"
            for p in self.oversized
        ]
        if not self.history_ok:
            problems.append(
                f"the history has {self.history_events:,} events, over the "
                f"{self.history_limit:,} a Standard execution may write (the execution fails); "
                "an Inline Map's iterations count in its parent's history: use a Distributed Map"
            )
        if not problems:
            return (
                f"within AWS quotas: {self.history_events:,} history events, largest payload "
                f"{max((p.bytes for p in self.payloads), default=0):,} bytes"
            )
        return "AWS would fail this execution: " + "; ".join(problems)


def quota_report(history: Sequence[dict[str, Any]]) -> QuotaReport:
    """Measure every ``input``/``output``/``parameters`` of a ``GetExecutionHistory`` event list.

    Each field is re-serialized as compact UTF-8 JSON (moto writes the history with spaces and
    ``\\u`` escapes) and attributed to its state by following ``previousEventId`` back to the
    event that entered it.
    """
    by_id = {event.get("id"): event for event in history}
    payloads = []
    for event in history:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for field in _DATA_FIELDS:
                text = details.get(field)
                if isinstance(text, str):
                    payloads.append(
                        PayloadSize(
                            int(event.get("id", 0)),
                            str(event.get("type", key)),
                            _state_of(event, by_id),
                            field,
                            _text_bytes(text),
                        )
                    )
    return QuotaReport(len(history), tuple(payloads))


def _state_of(event: dict[str, Any], by_id: dict[Any, dict[str, Any]]) -> str | None:
    seen = 0
    current: dict[str, Any] | None = event
    while current is not None and seen < 10_000:
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            name = current.get(key, {}).get("name")
            if isinstance(name, str):
                return name
        current = by_id.get(current.get("previousEventId"))
        seen += 1
    return None


def install_size_check(patches: Patches) -> None:
    """Make moto's payload check count compact UTF-8 JSON, and allow exactly 262,144 bytes."""
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
    )

    def is_within_size_quota(value: Any) -> bool:
        return state_bytes(value) <= STATE_LIMIT_BYTES

    for module in (state, state_task_lambda, state_task_service):
        patches.replace(module, "is_within_size_quota", is_within_size_quota)
