"""What an execution's states carried: its history read, state by state, references resolved.

Plain functions behind ``sfn-offload inspect``; no click, no rich, no printing.
:func:`read_history` + :func:`state_visits` turn GetExecutionHistory into one
:class:`StateVisit` per time a state ran (Map iterations told apart by their index);
:func:`inspect_execution` finds the references in each (:mod:`sfn_offload.cli.report`) and
resolves them, reading each payload once per walk.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from .._config import OffloadConfig
from .._identity import ExecutionIdentity, resolve_identity
from ..errors import (
    ConfigurationError,
    PointerError,
    PointerNotAllowedError,
    SfnOffloadError,
    StoreError,
    translate_aws_errors,
)
from ..storage.repository import PayloadRepository
from ..wire.codec import dumps
from .cache import prefetch, reading_once
from .model import ExecutionReport, StateData, StateVisit
from .report import Reference, find_references, resolve

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

__all__ = [
    "ExecutionReport",
    "Progress",
    "StateData",
    "StateVisit",
    "in_states",
    "inspect_execution",
    "read_history",
    "state_visits",
]

#: ``progress(phase, done, total)``: phase ``"history"`` (events read, total unknown) or
#: ``"resolve"`` (state inputs/outputs resolved out of ``total``).
Progress = Callable[[str, int, int | None], None]

_END_STATUS: Final = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}
_ITERATION_ENDS: Final = frozenset(
    {"MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"}
)


def read_history(
    sfn: SFNClient, execution_arn: str, *, progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Every event of an execution, with its data (GetExecutionHistory, paginated)."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "executionArn": execution_arn,
        "includeExecutionData": True,
        "maxResults": 1000,
    }
    while True:
        with translate_aws_errors(
            "StepFunctions.GetExecutionHistory", f"execution {execution_arn!r}"
        ):
            page = sfn.get_execution_history(**kwargs)
        events.extend(dict(e) for e in page["events"])
        if progress is not None:
            progress("history", len(events), None)
        token = page.get("nextToken")
        if not token:
            return events
        kwargs["nextToken"] = token


def _state_data(text: object, details: object) -> StateData:
    truncated = isinstance(details, dict) and bool(details.get("truncated"))
    raw = text if isinstance(text, str) else ""
    data = StateData(len(raw.encode("utf-8")), truncated=truncated)
    if truncated:
        data.error = "the history left this data out (truncated); it cannot be inspected"
        return data
    try:
        data.document = json.loads(raw) if raw else None
    except ValueError as exc:
        data.error = f"not valid JSON: {exc}"
    return data


def state_visits(events: Sequence[Mapping[str, Any]]) -> list[StateVisit]:
    """One :class:`StateVisit` per state run, in the order the states were entered.

    Exits are paired with entries of the same state in the same Map iteration. The iteration of
    an event is that of its ``previousEventId``, except that ``MapIterationStarted`` opens one
    (at the depth its Map state was entered at) and ``MapIteration{Succeeded,Failed,Aborted}``
    closes it.
    """
    context: dict[int, _Scope] = {}
    map_depth: dict[str, int] = {}  # Map state name -> iterations it is nested in
    map_entered: dict[str, int] = {}  # Map state name -> its latest MapStateEntered event
    open_visits: dict[tuple[str, _Scope], deque[StateVisit]] = {}
    visits: list[StateVisit] = []
    for event in events:
        event_id = int(event["id"])
        kind = str(event["type"])
        here = _scope(event, context.get(int(event.get("previousEventId") or 0), ()), map_depth)
        context[event_id] = here
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        if entered is not None and kind == "MapStateEntered":
            map_depth[str(entered.get("name"))] = len(here)
            map_entered[str(entered.get("name"))] = event_id
        if entered is not None:
            visit = StateVisit(
                name=str(entered.get("name", "")),
                state_type=kind.removesuffix("StateEntered"),
                iteration=tuple(index for _, index in here),
                entered_event_id=event_id,
                input=_state_data(entered.get("input"), entered.get("inputDetails")),
                maps=tuple(name for name, _ in here),
                map_run=map_entered.get(here[0][0]) if here else None,
            )
            visits.append(visit)
            open_visits.setdefault((visit.name, here), deque()).append(visit)
        elif exited is not None:
            name = str(exited.get("name", ""))
            waiting = open_visits.get((name, here))
            if waiting:
                visit = waiting.popleft()
            else:  # an exit whose entry the history does not show
                visit = StateVisit(
                    name,
                    kind.removesuffix("StateExited"),
                    tuple(index for _, index in here),
                    None,
                    maps=tuple(map_name for map_name, _ in here),
                )
                visits.append(visit)
            visit.exited_event_id = event_id
            visit.output = _state_data(exited.get("output"), exited.get("outputDetails"))
    return visits


#: The Map iterations an event ran in, outermost first: (Map state name, iteration index).
_Scope = tuple[tuple[str, int], ...]


def _scope(event: Mapping[str, Any], previous: _Scope, map_depth: Mapping[str, int]) -> _Scope:
    """The iterations ``event`` runs in: those of the event before it, unless it opens or closes
    an iteration."""
    kind = str(event["type"])
    if kind != "MapIterationStarted" and kind not in _ITERATION_ENDS:
        return previous
    details: Mapping[str, Any] = next(
        (v for k, v in event.items() if k.endswith("EventDetails")), {}
    )
    # The previous event may belong to a sibling iteration (an iteration starts when one
    # finishes, under MaxConcurrency): keep only the Map state's own nesting.
    name = str(details.get("name"))
    if kind == "MapIterationStarted":
        index = int(details.get("index", 0))
        return (*previous[: map_depth.get(name, len(previous))], (name, index))
    return previous[: map_depth.get(name, len(previous) - 1)]


def in_states(visit: StateVisit, states: Collection[str]) -> bool:
    """True when ``visit`` is one of ``states``, or runs in an iteration of one (a Map)."""
    return visit.name in states or any(name in states for name in visit.maps)


def inspect_execution(
    sfn: SFNClient,
    execution_arn: str,
    repo: PayloadRepository | None,
    *,
    states: Collection[str] = (),
    trusted: bool = False,
    keep_data: bool = False,
    default_table: str | None = None,
    progress: Progress | None = None,
) -> ExecutionReport:
    """Walk an execution's history: per state run, inline size, references and resolved size.

    ``repo=None`` only finds references (no DynamoDB or S3 request). ``states`` keeps the named
    states only, with the iterations of the Maps among them (before anything is read).
    ``keep_data`` keeps each resolved document in :attr:`StateData.document`. Problems with one
    state's data (a missing item, a digest mismatch, a refused pointer) are recorded in its
    :attr:`StateData.error` (a refusal by the allow-list also in :attr:`StateData.refused`); AWS
    and configuration errors raise. Unless ``trusted``, references without a digest are read
    only in the inspected execution's namespace, as the execution itself would (and every read
    under the default hydration cap).
    """
    events = read_history(sfn, execution_arn, progress=progress)
    visits = state_visits(events)
    names = list(dict.fromkeys(v.name for v in visits))
    if states:
        visits = [v for v in visits if in_states(v, states)]
    execution = resolve_identity({"sfn_execution_arn": execution_arn}, None)
    reader = None if trusted or (repo and repo.config.cross_execution_reads) else execution
    sides = [data for visit in visits for _, data in visit.sides()]
    _find_all_references(sides, default_table=default_table, namespace=execution.namespace)
    if repo is not None:
        repo = reading_once(repo)
        # Whole lists are read with Query when resolved (once: the repository keeps the pages).
        loads = [
            p for data in sides for ref in data.references if not ref.is_list for p in ref.loads()
        ]
        elements = [
            ref.pointer
            for data in sides
            for ref in data.references
            if ref.kind in ("element", "py2sfn-map")
        ]
        prefetch(repo, loads, trusted=trusted, elements=elements)
    pending = [(v, side, d) for v in visits for side, d in v.sides() if d.error is None]
    for done, (visit, side, data) in enumerate(pending, 1):
        _resolve_side(data, repo, trusted=trusted, where=f"{visit.label} {side}", reader=reader)
        if not keep_data:
            data.document = None  # keep sizes, not payloads
        if progress is not None:
            progress("resolve", done, len(pending))
    return ExecutionReport(
        execution_arn,
        _status(events),
        len(events),
        visits,
        resolved=repo is not None,
        state_names=names,
    )


def _status(events: Sequence[Mapping[str, Any]]) -> str:
    return next(
        (_END_STATUS[str(e["type"])] for e in reversed(events) if e["type"] in _END_STATUS),
        "RUNNING",
    )


def _find_all_references(
    sides: Sequence[StateData], *, default_table: str | None, namespace: str
) -> None:
    for data in sides:
        if data.error is None:
            try:
                data.references = find_references(
                    data.document, default_table=default_table, namespace=namespace
                )
            except PointerError as exc:
                data.error = str(exc)


def _resolve_side(
    data: StateData,
    repo: PayloadRepository | None,
    *,
    trusted: bool,
    where: str,
    reader: ExecutionIdentity | None,
) -> None:
    """Replace ``data.document`` by its resolved form and measure it; a problem with the data
    goes to ``data.error`` (the document then stays as recorded)."""
    if repo is not None and data.references:
        try:
            data.document, data.references = resolve(
                data.document, data.references, repo, trusted=trusted, where=where, reader=reader
            )
            data.resolved_bytes = len(dumps(data.document, where=where))
        except (ConfigurationError, StoreError):
            raise  # no region, access denied, a missing table: not about this state's data
        except PointerNotAllowedError as exc:
            data.error = str(exc)
            data.refused = _off_the_allow_list(data.references, repo.config)
        except SfnOffloadError as exc:
            data.error = str(exc)
    elif not data.references:
        data.resolved_bytes = data.inline_bytes


def _off_the_allow_list(references: Sequence[Reference], config: OffloadConfig) -> list[Reference]:
    """The references naming a table or bucket the allow-list leaves out (none when a refusal
    was for another reason: an S3 key outside the prefixes, another execution's namespace)."""
    tables, buckets = config.allowed_tables, config.allowed_buckets
    return [
        ref
        for ref in references
        if ref.pointer.container not in (tables if ref.pointer.backend == "dynamodb" else buckets)
    ]
