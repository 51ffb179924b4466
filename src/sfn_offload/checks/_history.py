"""The history quota (SO501): a Standard execution stops at 25,000 events, and an Inline Map's
iterations write theirs into it.

Events per state, as Step Functions (and moto's engine) write them for a run without retries:
a Task 5 (entered, scheduled, started, succeeded, exited), Pass/Choice/Wait/Succeed 2, a Map 4
plus 2 per iteration plus its states', a Parallel 4 plus its branches', a Distributed Map 6 (its
children write their own histories), the execution itself 2.

>>> from ._asl import parse
>>> machine = parse({"StartAt": "M", "States": {"M": {"Type": "Map", "End": True,
...     "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task",
...     "Resource": "${t}", "End": True}}}}}})
>>> iteration_events(machine.states["M"])
7
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ..wire.references import ELEMENT_LIST_KEY, MAP_RUN_KEY
from ._asl import Scope, State
from ._conventions import known_items
from ._findings import Finding, Severity

__all__ = ["HISTORY_EVENT_LIMIT", "check_history", "iteration_events"]

#: Events a Standard execution's history may hold.
HISTORY_EVENT_LIMIT: Final = 25_000
_EVENTS: Final = {"Task": 5, "Pass": 2, "Choice": 2, "Wait": 2, "Succeed": 2, "Fail": 2}
_EXECUTION: Final = 2
_MAP: Final = 4
_ITERATION: Final = 2
_PARALLEL: Final = 4
_DISTRIBUTED: Final = 6


def check_history(machine: Scope, workflow_type: str) -> Iterator[Finding]:
    """SO501 for every Inline Map whose history is capped (Standard executions)."""
    for state in machine.walk():
        if state.type == "Map" and not state.distributed:
            owner = _history_owner(state, workflow_type)
            if owner is not None:
                finding = _inline_map(state, owner)
                if finding is not None:
                    yield finding


def iteration_events(state: State) -> int:
    """History events one iteration of an Inline Map writes."""
    return _ITERATION + _scope_events(state.children[0], None)


def _history_owner(state: State, workflow_type: str) -> Scope | None:
    """The scope whose execution holds the Map's events, or None when it has no quota."""
    scope = state.scope
    while scope.owner is not None:
        if scope.owner.distributed:
            config = scope.owner.body["ItemProcessor"].get("ProcessorConfig", {})
            return scope if config.get("ExecutionType", "STANDARD") == "STANDARD" else None
        scope = scope.owner.scope
    return scope if workflow_type == "standard" else None


def _scope_events(scope: Scope, skip: State | None) -> int:
    return sum(_state_events(s, skip) for s in scope.states.values())


def _state_events(state: State, skip: State | None) -> int:
    if state.type == "Map":
        if state.distributed:
            return _DISTRIBUTED
        if state is skip:
            return _MAP
        per = _ITERATION + _scope_events(state.children[0], skip)
        return _MAP + (known_items(state) or 1) * per
    if state.type == "Parallel":
        return _PARALLEL + sum(_scope_events(b, skip) for b in state.children)
    return _EVENTS[state.type]


def _enclosing(state: State, owner: Scope) -> list[State]:
    """The Inline Maps between ``state`` and the execution that owns its history."""
    found, scope = [], state.scope
    while scope is not owner and scope.owner is not None:
        if scope.owner.type == "Map":
            found.append(scope.owner)
        scope = scope.owner.scope
    return found


def _inline_map(state: State, owner: Scope) -> Finding | None:
    per = iteration_events(state)
    fixed = _EXECUTION + _scope_events(owner, state)
    total = max(0, HISTORY_EVENT_LIMIT - fixed) // per
    outer = _enclosing(state, owner)
    times = 1
    for enclosing in outer:
        times *= known_items(enclosing) or 1
    count = known_items(state)
    if count is not None and count * times <= total:
        return None
    where = "the execution's history"
    if owner.owner is not None:
        where = f"the history of each child execution of {owner.owner.name!r}"
    message = (
        f"Inline Map {state.name!r} writes about {per} history events per iteration"
        f"{_counted_once(state)} into {where}, which a Standard workflow caps at 25,000: it "
        f"fits about {total:,} iterations"
    )
    if outer:
        message += " in all, counted across every iteration of " + ", ".join(
            repr(s.name) for s in outer
        )
    if count is not None:
        message += f", and it runs {count * times:,}"
    return Finding(
        state.path,
        state.name,
        _severity(state, count),
        "SO501",
        message + " (fewer with retries)",
        'make it a Distributed Map: add "ProcessorConfig": {"Mode": "DISTRIBUTED", '
        '"ExecutionType": "STANDARD"} to its ItemProcessor (the rest of the ASL stays the '
        "same), or run the workflow as Express; if N stays small, say so in the Map's "
        'Comment: "sfn-offload:max-items=N"',
    )


def _counted_once(state: State) -> str:
    """Inner Inline Maps of unknown size, counted with one iteration each."""
    inner = [
        s
        for s in state.children[0].walk()
        if s.type == "Map" and not s.distributed and known_items(s) is None
    ]
    if not inner:
        return ""
    return " (counting one iteration of " + ", ".join(repr(s.name) for s in inner) + ")"


def _severity(state: State, count: int | None) -> Severity:
    if count is not None:
        return Severity.ERROR
    body = state.body
    selector = str(body.get("ItemSelector", body.get("Parameters", "")))
    items = str(body.get("ItemsPath", body.get("Items", "")))
    at_scale = MAP_RUN_KEY in selector or ELEMENT_LIST_KEY in selector
    return Severity.WARNING if at_scale or ".items" in items else Severity.INFO
