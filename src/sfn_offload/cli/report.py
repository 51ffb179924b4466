"""What an execution carried: references found in state data, resolved and measured.

Plain functions behind the ``sfn-offload`` console script (``show`` and ``inspect``); no click,
no rich, no printing. Three steps, each usable alone:

- :func:`find_references` walks one JSON document and returns every reference in it, with its
  path: sfn-offload value and list pointers, element references (``sfn_offload_list`` +
  ``sfn_offload_index``), py2sfn-task-tools results (``{"table_name", "partition_key", ...}``,
  which the decorator deliberately leaves alone) and a top-level py2sfn Map-iteration event.
- :func:`resolve` loads them all with one :meth:`PayloadRepository.read_many` call (BatchGetItem,
  concurrent S3, sizes and SHA-256 verified, allow-lists enforced unless ``trusted``) and returns
  the document with the data in place, plus each reference's resolved size.
- :func:`read_history` + :func:`state_visits` turn GetExecutionHistory into one
  :class:`StateVisit` per time a state ran (Map iterations told apart by their index);
  :func:`inspect_execution` composes everything, reading each payload once per walk.

>>> rows = {"table_name": "t", "partition_key": "run:rows", "key": "rows"}
>>> refs = find_references({"rows": rows})
>>> [(r.jsonpath, r.kind, r.pointer.describe()) for r in refs]
[('$.rows', 'py2sfn', "dynamodb table 't' partition_key 'run:rows' index 0")]
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, Literal

from .._hydrate import ELEMENT_LIST_KEY, MAP_VALUE_KEY, parse_element_reference
from ..budget import STATE_LIMIT_BYTES
from ..compat.py2sfn import parse_map_iteration
from ..errors import (
    ConfigurationError,
    PointerError,
    PointerNotAllowedError,
    SfnOffloadError,
    StoreError,
    translate_aws_errors,
)
from ..storage.base import Address, PayloadStore, Record
from ..storage.repository import PayloadRepository
from ..wire.codec import dumps
from ..wire.paths import Path, assign, jsonpath, shallow_copy
from ..wire.pointer import MARKER, MAX_INDEX, Pointer

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

__all__ = [
    "ExecutionReport",
    "Progress",
    "Reference",
    "StateData",
    "StateVisit",
    "find_references",
    "inspect_execution",
    "load",
    "parse_reference",
    "read_history",
    "resolve",
    "state_visits",
]

ReferenceKind = Literal["pointer", "list", "element", "py2sfn", "py2sfn-list", "py2sfn-map"]

#: ``progress(phase, done, total)``: phase ``"history"`` (events read, total unknown) or
#: ``"resolve"`` (state inputs/outputs resolved out of ``total``).
Progress = Callable[[str, int, int | None], None]

#: The keys a py2sfn-task-tools ``put_item``/``put_items`` result may carry (sfn-offload's
#: ``StateDataClient`` adds ``index``, ``size`` and ``sha256``).
_PY2SFN_FIELDS: Final = frozenset(
    {"table_name", "partition_key", "key", "index", "size", "sha256", "items"}
)
_LIST_KINDS: Final = frozenset({"list", "py2sfn-list"})
_END_STATUS: Final = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}
_ITERATION_ENDS: Final = frozenset(
    {"MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"}
)


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference found in a JSON document.

    Attributes:
        path: where it is in the document (``()`` when the document *is* the reference).
        kind: ``pointer`` (value pointer), ``list`` (fan-out list pointer), ``element`` (a Map
            iteration's element reference), ``py2sfn`` / ``py2sfn-list`` (a py2sfn-task-tools
            ``put_item`` / ``put_items`` result), ``py2sfn-map`` (a py2sfn Map-iteration event,
            whose element goes to ``context_value``).
        pointer: where the data lives (a list pointer for the list kinds).
        resolved_bytes: JSON bytes of the data once loaded (``None`` until resolved).
    """

    path: Path
    kind: ReferenceKind
    pointer: Pointer
    resolved_bytes: int | None = None

    @property
    def jsonpath(self) -> str:
        return jsonpath(self.path)

    @property
    def is_list(self) -> bool:
        """True when the reference stands for a whole list (loaded element by element)."""
        return self.kind in _LIST_KINDS

    @property
    def stored_bytes(self) -> int | None:
        """Stored size the reference records (value pointers and newer py2sfn results)."""
        return self.pointer.size

    def element(self, index: int) -> Reference:
        """The reference to element ``index`` (lists and py2sfn results).

        Raises :class:`PointerError` for a value pointer or an index outside the list.
        """
        if self.kind not in ("list", "py2sfn-list", "py2sfn"):
            raise PointerError(
                f"{self.jsonpath}: an element index applies to list pointers and py2sfn "
                f"results, not to a {self.kind} reference"
            )
        count = self.pointer.count
        if count is not None and not 0 <= index < count:
            raise PointerError(
                f"{self.pointer.describe()}: index {index} is outside the list of {count} "
                f"element(s) (valid: 0..{count - 1})"
            )
        return Reference(self.path, "element", _element(self.pointer, index))

    def loads(self) -> list[Pointer]:
        """The value pointers to read for this reference, in order."""
        if self.is_list:
            return [_element(self.pointer, i) for i in range(self.pointer.count or 0)]
        return [self.pointer]

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form (addresses and sizes; never the data)."""
        p = self.pointer
        out: dict[str, Any] = {"path": self.jsonpath, "kind": self.kind, "backend": p.backend}
        out["table" if p.backend == "dynamodb" else "bucket"] = p.container
        out["key"] = p.key
        out["index"] = None if self.is_list else p.index
        out["count"] = p.count
        out["stored_bytes"] = p.size
        out["resolved_bytes"] = self.resolved_bytes
        return out


def _element(pointer: Pointer, index: int) -> Pointer:
    return Pointer("dynamodb", pointer.container, pointer.key, index, encoding=pointer.encoding)


def _index(value: object, name: str, where: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_INDEX:
        raise PointerError(f"{where}: {name!r} must be an integer in [0, {MAX_INDEX}]")
    return value


def _py2sfn_result(node: Mapping[str, Any]) -> bool:
    table, partition_key = node.get("table_name"), node.get("partition_key")
    return (
        isinstance(table, str)
        and bool(table)
        and isinstance(partition_key, str)
        and bool(partition_key)
        and set(node) <= _PY2SFN_FIELDS
    )


def parse_reference(
    node: object,
    *,
    path: Path = (),
    default_table: str | None = None,
    namespace: str | None = None,
) -> Reference | None:
    """The reference ``node`` is, or ``None`` when it is plain data.

    A malformed pointer raises :class:`PointerError` saying which field is wrong. A py2sfn
    Map-iteration event is recognised at the top level only (``path == ()``); one without
    ``items_result_table_name`` uses ``default_table``, and one without
    ``items_result_partition_key`` needs ``namespace`` (the execution name).
    """
    if not isinstance(node, dict):
        return None
    where = jsonpath(path)
    if MARKER in node:
        pointer = Pointer.from_dict(node, where=where)
        return Reference(path, "list" if pointer.is_list else "pointer", pointer)
    if ELEMENT_LIST_KEY in node:
        lst, element = parse_element_reference(node, where)
        return Reference(path, "list", lst).element(element.index)
    if _py2sfn_result(node):
        table, partition_key = node["table_name"], node["partition_key"]
        items = node.get("items")
        if items is not None:
            if not isinstance(items, list):
                raise PointerError(f"{where}: 'items' must be the placeholder list")
            lst = Pointer("dynamodb", table, partition_key, count=len(items))
            return Reference(path, "py2sfn-list", lst)
        size = node.get("size")
        return Reference(
            path,
            "py2sfn",
            Pointer(
                "dynamodb",
                table,
                partition_key,
                _index(node.get("index", 0), "index", where),
                size=size if type(size) is int else None,
            ),
        )
    if path == () and "context_index" in node and any(k.startswith("items_result_") for k in node):
        it = parse_map_iteration(
            node, need="global" if "items_result_partition_key" in node else "local"
        )
        table = it.table or default_table
        if not table:
            raise PointerError(
                "py2sfn Map-iteration event names no items_result_table_name and no default "
                "table is configured (SFN_OFFLOAD_TABLE or --table)"
            )
        if it.partition_key is None and namespace is None:
            raise PointerError(
                f"py2sfn Map-iteration event names the local list {it.key!r}; its partition key "
                "needs the execution name"
            )
        partition_key = it.partition_key or f"{namespace}:{it.key}"
        pointer = Pointer("dynamodb", table, partition_key, it.index)
        return Reference((MAP_VALUE_KEY,), "py2sfn-map", pointer)
    return None


def find_references(
    document: Any, *, default_table: str | None = None, namespace: str | None = None
) -> list[Reference]:
    """Every reference in ``document``, in document order (see :func:`parse_reference`).

    References are not looked into (a list pointer's ``items`` placeholder is not data).
    """
    found: list[Reference] = []
    stack: list[tuple[Path, Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        ref = parse_reference(node, path=path, default_table=default_table, namespace=namespace)
        if ref is not None:
            found.append(ref)
            if ref.kind != "py2sfn-map":
                continue  # the rest of a Map-iteration event is ordinary data
        if isinstance(node, dict):
            stack.extend(reversed([((*path, k), v) for k, v in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([((*path, i), v) for i, v in enumerate(node)]))
    return found


def resolve(
    document: Any,
    references: Sequence[Reference],
    repo: PayloadRepository,
    *,
    trusted: bool = False,
    where: str = "",
) -> tuple[Any, list[Reference]]:
    """``document`` with every reference replaced by its data, and the references with their
    ``resolved_bytes``.

    One :meth:`PayloadRepository.read_many` call loads everything (checked against the
    allow-lists unless ``trusted``; sizes and digests verified). ``document`` is not modified.
    """
    loads: list[Pointer] = []
    wheres: list[str] = []
    spans: list[tuple[int, int]] = []
    for ref in references:
        pointers = ref.loads()
        spans.append((len(loads), len(pointers)))
        loads.extend(pointers)
        label = " ".join(part for part in (where, ref.path and f"at {ref.jsonpath}") if part)
        wheres.extend(f"{label} ({p.describe()})" if label else p.describe() for p in pointers)
    values = repo.read_many(loads, trusted=trusted, wheres=wheres) if loads else []
    result = shallow_copy(document)
    copied = {id(result)}
    sized = []
    for ref, (first, count) in zip(references, spans, strict=True):
        part = values[first : first + count]
        value = part if ref.is_list else part[0]
        result = assign(result, ref.path, value, copied)
        sized.append(replace(ref, resolved_bytes=len(dumps(value, where=ref.jsonpath))))
    return result, sized


def load(reference: Reference, repo: PayloadRepository, *, trusted: bool = False) -> Any:
    """The data one reference stands for (verified; allow-lists enforced unless ``trusted``)."""
    value, _ = resolve(None, [replace(reference, path=())], repo, trusted=trusted)
    return value


# --------------------------------------------------------------------------------------------
# execution history
# --------------------------------------------------------------------------------------------


@dataclass
class StateData:
    """A state's input or output as the history recorded it.

    Attributes:
        inline_bytes: UTF-8 bytes in the state (what counts against the 262,144 limit).
        truncated: the history left the data out (``inputDetails.truncated``).
        references: references found in it (with ``resolved_bytes`` once resolved).
        resolved_bytes: JSON bytes with every reference replaced by its data.
        error: why the data could not be parsed or resolved (a library error message).
        document: the parsed data: as recorded, then resolved; :func:`inspect_execution` drops
            it after measuring unless asked to keep it.
    """

    inline_bytes: int
    truncated: bool = False
    references: list[Reference] = field(default_factory=list)
    resolved_bytes: int | None = None
    error: str | None = None
    document: Any = field(default=None, repr=False)

    @property
    def percent_of_limit(self) -> float:
        """Share of the 262,144-byte state limit the inline data uses."""
        return 100.0 * self.inline_bytes / STATE_LIMIT_BYTES

    def to_json(self, *, with_data: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "inline_bytes": self.inline_bytes,
            "percent_of_limit": round(self.percent_of_limit, 2),
            "truncated": self.truncated,
            "references": [r.to_json() for r in self.references],
            "resolved_bytes": self.resolved_bytes,
            "error": self.error,
        }
        if with_data:
            out["data"] = self.document
        return out


@dataclass
class StateVisit:
    """One time a state ran: entered (with its input) and, unless it never finished, exited.

    ``iteration`` holds the Map iteration indices it ran in (outermost first; ``()`` outside
    any Map), so ``PriceShard`` in iteration 3 is labelled ``PriceShard [3]``.
    """

    name: str
    state_type: str
    iteration: tuple[int, ...]
    entered_event_id: int | None
    exited_event_id: int | None = None
    input: StateData | None = None
    output: StateData | None = None

    @property
    def label(self) -> str:
        return self.name + "".join(f" [{i}]" for i in self.iteration)

    def sides(self) -> Iterator[tuple[str, StateData]]:
        """``("input", data)`` and ``("output", data)``, for those the history has."""
        if self.input is not None:
            yield "input", self.input
        if self.output is not None:
            yield "output", self.output

    def to_json(self, *, with_data: bool = False) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.state_type,
            "iteration": list(self.iteration),
            "entered_event_id": self.entered_event_id,
            "exited_event_id": self.exited_event_id,
            "input": self.input.to_json(with_data=with_data) if self.input else None,
            "output": self.output.to_json(with_data=with_data) if self.output else None,
        }


@dataclass
class ExecutionReport:
    """What :func:`inspect_execution` found."""

    execution_arn: str
    status: str
    events: int
    visits: list[StateVisit]
    resolved: bool
    state_names: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Every input/output that could not be parsed or resolved, labelled."""
        return [
            f"{visit.label} {side}: {data.error}"
            for visit in self.visits
            for side, data in visit.sides()
            if data.error
        ]

    def to_json(self, *, with_data: bool = False) -> dict[str, Any]:
        return {
            "execution_arn": self.execution_arn,
            "status": self.status,
            "events": self.events,
            "limit_bytes": STATE_LIMIT_BYTES,
            "resolved": self.resolved,
            "state_names": self.state_names,
            "states": [v.to_json(with_data=with_data) for v in self.visits],
            "errors": self.errors,
        }


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
    context: dict[int, tuple[int, ...]] = {}
    map_depth: dict[str, int] = {}  # Map state name -> iterations it is nested in
    open_visits: dict[tuple[str, tuple[int, ...]], deque[StateVisit]] = {}
    visits: list[StateVisit] = []
    for event in events:
        event_id = int(event["id"])
        here = context.get(int(event.get("previousEventId") or 0), ())
        kind = str(event["type"])
        if kind == "MapIterationStarted" or kind in _ITERATION_ENDS:
            details: Mapping[str, Any] = next(
                (v for k, v in event.items() if k.endswith("EventDetails")), {}
            )
            # The previous event may belong to a sibling iteration (an iteration starts when
            # one finishes, under MaxConcurrency): keep only the Map state's own nesting.
            name = str(details.get("name"))
            if kind == "MapIterationStarted":
                here = (*here[: map_depth.get(name, len(here))], int(details.get("index", 0)))
            else:
                here = here[: map_depth.get(name, len(here) - 1)]
        context[event_id] = here
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        if entered is not None and kind == "MapStateEntered":
            map_depth[str(entered.get("name"))] = len(here)
        if entered is not None:
            visit = StateVisit(
                name=str(entered.get("name", "")),
                state_type=kind.removesuffix("StateEntered"),
                iteration=here,
                entered_event_id=event_id,
                input=_state_data(entered.get("input"), entered.get("inputDetails")),
            )
            visits.append(visit)
            open_visits.setdefault((visit.name, here), deque()).append(visit)
        elif exited is not None:
            name = str(exited.get("name", ""))
            waiting = open_visits.get((name, here))
            if waiting:
                visit = waiting.popleft()
            else:  # an exit whose entry the history does not show
                visit = StateVisit(name, kind.removesuffix("StateExited"), here, None)
                visits.append(visit)
            visit.exited_event_id = event_id
            visit.output = _state_data(exited.get("output"), exited.get("outputDetails"))
    return visits


class _CachingStore:
    """Remembers what it fetched: an execution's states pass the same pointers on and on, and
    an operator's walk should read each payload once."""

    def __init__(self, inner: PayloadStore) -> None:
        self._inner = inner
        self.backend = inner.backend
        self._cache: dict[Address, Record] = {}

    def get(self, address: Address) -> Record:
        if address not in self._cache:
            self._cache[address] = self._inner.get(address)
        return self._cache[address]

    def get_many(self, addresses: Sequence[Address]) -> dict[Address, Record]:
        missing = [a for a in dict.fromkeys(addresses) if a not in self._cache]
        if missing:
            self._cache.update(self._inner.get_many(missing))
        return {a: self._cache[a] for a in addresses if a in self._cache}

    def put(self, address: Address, record: Record) -> Record | None:
        self._cache.pop(address, None)
        return self._inner.put(address, record)

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        for address, _ in entries:
            self._cache.pop(address, None)
        self._inner.put_many(entries)

    def delete_many(self, addresses: Sequence[Address]) -> None:
        for address in addresses:
            self._cache.pop(address, None)
        self._inner.delete_many(addresses)


def _prefetch(repo: PayloadRepository, pointers: Sequence[Pointer], *, trusted: bool) -> None:
    """Fetch every allowed item and object once, in as few requests as the stores allow.

    Only fills the caches: checks, decoding and errors happen per state in :func:`resolve`, so
    one bad pointer is reported where it is instead of failing the whole walk.
    """
    ddb: list[Address] = []
    s3: list[Address] = []
    for pointer in dict.fromkeys(pointers):
        if not trusted:
            try:
                repo.check_allowed(pointer, "prefetch")
            except PointerNotAllowedError:
                continue
        address = Address(pointer.container, pointer.key, pointer.index)
        (ddb if pointer.backend == "dynamodb" else s3).append(address)
    if ddb:
        repo.dynamodb.get_many(ddb)
    if s3:
        repo.s3.get_many(s3)


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
    states only (before anything is read). ``keep_data`` keeps each resolved document in
    :attr:`StateData.document`. Problems with one state's data (a missing item, a digest mismatch,
    a refused pointer) are recorded in its :attr:`StateData.error`; AWS and configuration
    errors raise.
    """
    events = read_history(sfn, execution_arn, progress=progress)
    status = next(
        (_END_STATUS[str(e["type"])] for e in reversed(events) if e["type"] in _END_STATUS),
        "RUNNING",
    )
    visits = state_visits(events)
    names = list(dict.fromkeys(v.name for v in visits))
    if states:
        visits = [v for v in visits if v.name in states]
    namespace = execution_arn.rsplit(":", 1)[-1]  # py2sfn keys local lists by execution name
    sides = [data for visit in visits for _, data in visit.sides()]
    for data in sides:
        if data.error is None:
            try:
                data.references = find_references(
                    data.document, default_table=default_table, namespace=namespace
                )
            except PointerError as exc:
                data.error = str(exc)
    if repo is not None:
        repo = PayloadRepository(
            repo.config,
            clients=repo.clients,
            dynamodb=_CachingStore(repo.dynamodb),
            s3=_CachingStore(repo.s3),
        )
        loads = [p for data in sides for ref in data.references for p in ref.loads()]
        _prefetch(repo, loads, trusted=trusted)
    pending = [(v, side, d) for v in visits for side, d in v.sides() if d.error is None]
    for done, (visit, side, data) in enumerate(pending, 1):
        document = data.document
        if repo is not None and data.references:
            try:
                document, data.references = resolve(
                    document, data.references, repo, trusted=trusted, where=f"{visit.label} {side}"
                )
                data.resolved_bytes = len(dumps(document, where=f"{visit.label} {side}"))
            except (ConfigurationError, StoreError):
                raise  # no region, access denied, a missing table: not about this state's data
            except SfnOffloadError as exc:
                data.error = str(exc)
        elif not data.references:
            data.resolved_bytes = data.inline_bytes
        data.document = document if keep_data else None  # keep sizes, not payloads
        if progress is not None:
            progress("resolve", done, len(pending))
    return ExecutionReport(
        execution_arn, status, len(events), visits, resolved=repo is not None, state_names=names
    )
