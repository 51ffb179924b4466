"""Every reference shape a state document can carry, recognised in one place.

Hydration, ``sfn-offload show``/``inspect`` and the explicit client all read references through
this module:

=================  =======================================================================
kind               shape
=================  =======================================================================
``pointer``        a value pointer ``{"__sfn_offload__": 1, ...}`` (see :mod:`.pointer`)
``list``           a list pointer (a pointer with ``count``): the whole list
``element``        ``{"sfn_offload_list": <list pointer>, "sfn_offload_index": i}``, what a
                   Map's ``ItemSelector`` builds: element ``i`` of the list
``py2sfn-map``     a py2sfn-task-tools Map-iteration event (top level only:
                   ``items_result_*`` + ``context_index``); its element belongs in
                   ``event["context_value"]``
``py2sfn``         a py2sfn ``put_item`` result ``{"table_name", "partition_key", "key"}``
``py2sfn-list``    a py2sfn ``put_items`` result (the same plus an ``items`` placeholder)
``result-writer``  a Distributed Map's ``ResultWriter`` output ``{"MapRunArn",
                   "ResultWriterDetails": {"Bucket", "Key": ".../manifest.json"}}``
``map-results``    ``{"sfn_offload_results": {"execution", "state", "entered", "count"}}``,
                   what a Map's ``ResultSelector`` builds: the results its iterations stored
=================  =======================================================================

A Map iteration whose input carries ``"sfn_offload_map": {"execution", "state", "entered",
"index"}`` (built by the Map's ``ItemSelector``, see :class:`MapRun`) stores its result in the
run's partition instead of returning it, so the Map's output no longer grows with the number of
iterations (docs/maps.md); :mod:`.maps` parses the run, :mod:`.py2sfn` the py2sfn shapes.

py2sfn ``put_item`` results carry no marker, so hydration leaves them to handlers that call
``get_item(...)`` on them; only tools that inspect ask for them (``py2sfn_results=True``).

>>> put_result = {"table_name": "t", "partition_key": "run:rows", "key": "rows"}
>>> refs = find_references({"rows": put_result}, py2sfn_results=True)
>>> [(r.jsonpath, r.kind, r.pointer.describe()) for r in refs]
[('$.rows', 'py2sfn', "dynamodb table 't' partition_key 'run:rows' index 0")]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..errors import PointerError
from .maps import MAP_RESULTS_KEY, MAP_RUN_KEY, MapRun, parse_map_run, parse_run
from .paths import Path, jsonpath
from .pointer import MARKER, Pointer, short_repr
from .py2sfn import (
    MAP_EVENT_KEYS,
    MapIteration,
    is_map_iteration,
    is_put_result,
    map_iteration_pointer,
    parse_index,
    parse_map_iteration,
    put_result_pointer,
)

__all__ = [
    "ELEMENT_INDEX_KEY",
    "ELEMENT_LIST_KEY",
    "MAP_EVENT_KEYS",
    "MAP_RESULTS_KEY",
    "MAP_RUN_KEY",
    "MAP_VALUE_KEY",
    "MapIteration",
    "MapRun",
    "Reference",
    "ReferenceKind",
    "element_pointer",
    "find_references",
    "is_result_writer_output",
    "map_run_of",
    "may_contain_references",
    "parse_index",
    "parse_map_iteration",
    "parse_map_run",
    "parse_reference",
]

ELEMENT_LIST_KEY: Final = "sfn_offload_list"
ELEMENT_INDEX_KEY: Final = "sfn_offload_index"
#: Where a py2sfn Map-iteration event's element goes (py2sfn's placeholder ``1`` was there).
MAP_VALUE_KEY: Final = "context_value"
#: Byte strings at least one of which any serialized document holding a reference contains.
_MARKERS: Final = (
    f'"{MARKER}"'.encode(),
    f'"{ELEMENT_LIST_KEY}"'.encode(),
    b'"items_result_',
    b'"ResultWriterDetails"',
    f'"{MAP_RESULTS_KEY}"'.encode(),
    f'"{MAP_RUN_KEY}"'.encode(),
)

ReferenceKind = Literal[
    "pointer",
    "list",
    "element",
    "py2sfn",
    "py2sfn-list",
    "py2sfn-map",
    "result-writer",
    "map-results",
]
_LIST_KINDS: Final = frozenset({"list", "py2sfn-list", "map-results"})


def may_contain_references(raw_document: bytes) -> bool:
    """Cheap pre-check on a serialized document: can it hold any reference at all?

    A byte search in C, so documents without references (most of them) skip the Python walk.

    >>> may_contain_references(b'{"orders": [1, 2]}')
    False
    """
    # A plain loop (noqa SIM110): any() over a generator costs more than these searches.
    for marker in _MARKERS:  # noqa: SIM110
        if marker in raw_document:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference found in a document.

    Attributes:
        path: where it is (``()`` when the document *is* the reference; for ``py2sfn-map``,
            ``("context_value",)``, where its element goes).
        kind: see the module docstring.
        pointer: where the data lives: a value pointer, a list pointer for the list kinds, the
            element's pointer for ``element`` and ``py2sfn-map``, the manifest object for
            ``result-writer`` (read by :mod:`sfn_offload.distributed`, not as a payload).
        list_count: for ``element``, the length of the list it indexes (the Map's iteration
            count).
        node: for ``result-writer``, the output object itself.
        resolved_bytes: JSON bytes of the data once loaded (``None`` until resolved).
        parent: for ``element``, the list pointer it indexes (its ``sha256``, when set, is the
            list's digest the element must prove it belongs to).
    """

    path: Path
    kind: ReferenceKind
    pointer: Pointer
    list_count: int | None = None
    node: Mapping[str, Any] | None = None
    resolved_bytes: int | None = None
    parent: Pointer | None = None

    @property
    def verifiable(self) -> bool:
        """True when the reference carries a digest that vouches for the data it names (a value
        pointer, a list pointer with the list's digest, an element of one); the others can only
        be trusted by where the data lives (see :class:`sfn_offload.ExecutionIdentity`)."""
        if self.kind == "element":
            return self.parent is not None and self.parent.sha256 is not None
        if self.kind == "result-writer":
            return False
        return self.pointer.sha256 is not None

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

        Raises :class:`PointerError` for other kinds or an index outside the list.
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
        parent = self.pointer if self.pointer.is_list else None
        return Reference(self.path, "element", _element(self.pointer, index), count, parent=parent)

    def loads(self) -> list[Pointer]:
        """The value pointers to read for this reference (none for a whole list, which is read
        with Query, nor for a ResultWriter output): never more than one, whatever a list
        pointer's ``count`` says."""
        if self.kind == "result-writer" or self.is_list:
            return []
        return [self.pointer]

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form (addresses and sizes; never the data)."""
        out: dict[str, Any] = {"path": self.jsonpath, "kind": self.kind}
        p = self.pointer
        out["backend"] = p.backend
        out["table" if p.backend == "dynamodb" else "bucket"] = p.container
        out["key"] = p.key
        out["index"] = None if self.is_list else p.index
        out["count"] = p.count
        out["stored_bytes"] = p.size
        out["resolved_bytes"] = self.resolved_bytes
        return out


def _element(pointer: Pointer, index: int) -> Pointer:
    return Pointer("dynamodb", pointer.container, pointer.key, index, encoding=pointer.encoding)


def element_pointer(list_pointer: Pointer, index: object, where: str) -> Pointer:
    """The pointer to element ``index`` of a list pointer; the index is checked."""
    if type(index) is not int or not 0 <= index < (list_pointer.count or 0):
        raise PointerError(
            f"{where}: {ELEMENT_INDEX_KEY} must be an integer in [0, {list_pointer.count}), "
            f"got {short_repr(index, 40)}"
        )
    return _element(list_pointer, index)


def _element_reference(node: Mapping[str, Any], path: Path, where: str) -> Reference:
    extra = sorted(set(node) - {ELEMENT_LIST_KEY, ELEMENT_INDEX_KEY}, key=str)
    if extra or ELEMENT_INDEX_KEY not in node:
        raise PointerError(
            f"{where}: an element reference holds exactly {ELEMENT_LIST_KEY!r} and "
            f"{ELEMENT_INDEX_KEY!r}; got keys {sorted(node, key=str)}"
        )
    lst = Pointer.from_dict(node[ELEMENT_LIST_KEY], where=f"{where}.{ELEMENT_LIST_KEY}")
    if not lst.is_list:
        raise PointerError(f"{where}: {ELEMENT_LIST_KEY!r} must be a list pointer")
    element = element_pointer(lst, node[ELEMENT_INDEX_KEY], where)
    return Reference(path, "element", element, lst.count, parent=lst)


# --------------------------------------------------------------------------------------------
# py2sfn-task-tools shapes (parsed in .py2sfn)
# --------------------------------------------------------------------------------------------


def _map_iteration_reference(
    node: Mapping[str, Any], default_table: str | None, namespace: str | None
) -> Reference:
    pointer = map_iteration_pointer(node, default_table, namespace)
    return Reference((MAP_VALUE_KEY,), "py2sfn-map", pointer)


def _py2sfn_result_reference(node: Mapping[str, Any], path: Path, where: str) -> Reference:
    pointer = put_result_pointer(node, where)
    return Reference(path, "py2sfn-list" if pointer.is_list else "py2sfn", pointer)


# --------------------------------------------------------------------------------------------
# Distributed Map
# --------------------------------------------------------------------------------------------


def is_result_writer_output(node: object) -> bool:
    """True for a Map's ``ResultWriter`` output object.

    >>> is_result_writer_output({"MapRunArn": "arn:...", "ResultWriterDetails":
    ...     {"Bucket": "b", "Key": "p/run/manifest.json"}})
    True
    """
    if not isinstance(node, Mapping) or set(node) != {"MapRunArn", "ResultWriterDetails"}:
        return False
    details = node["ResultWriterDetails"]
    return (
        isinstance(details, Mapping)
        and isinstance(details.get("Bucket"), str)
        and isinstance(details.get("Key"), str)
        and details["Key"].endswith("manifest.json")
    )


# --------------------------------------------------------------------------------------------
# Map results (the run is parsed in .maps)
# --------------------------------------------------------------------------------------------


def map_run_of(ref: Reference) -> MapRun:
    """The Map run a ``map-results`` reference stands for."""
    if ref.node is None or ref.kind != "map-results":
        raise PointerError(f"{ref.jsonpath}: not a Map results reference")
    run, _ = parse_run(ref.node[MAP_RESULTS_KEY], ref.jsonpath, with_index=False)
    return run


def _map_results_reference(
    node: Mapping[str, Any], path: Path, where: str, default_table: str | None
) -> Reference:
    if set(node) != {MAP_RESULTS_KEY}:
        raise PointerError(f"{where}: a Map results reference holds only {MAP_RESULTS_KEY!r}")
    run, count = parse_run(node[MAP_RESULTS_KEY], f"{where}.{MAP_RESULTS_KEY}", with_index=False)
    if not default_table:
        raise PointerError(f"{where}: Map results live in the configured table; none is set")
    pointer = Pointer("dynamodb", default_table, run.partition_key, count=count)
    return Reference(path, "map-results", pointer, count, node=node)


# --------------------------------------------------------------------------------------------
# recognition
# --------------------------------------------------------------------------------------------


def parse_reference(
    node: object,
    *,
    path: Path = (),
    default_table: str | None = None,
    namespace: str | None = None,
    py2sfn_results: bool = False,
    result_writer: bool = True,
    map_results: bool = True,
) -> Reference | None:
    """The reference ``node`` is, or ``None`` when it is plain data.

    A malformed pointer raises :class:`PointerError` saying which field is wrong. A py2sfn
    Map-iteration event is recognised at the top level only (``path == ()``); one without
    ``items_result_table_name`` uses ``default_table``, and one without
    ``items_result_partition_key`` needs ``namespace`` (the execution name). Map results live
    in ``default_table``; with ``map_results=False`` (a reader that knows no table) their
    reference is plain data.
    """
    if path == () and is_map_iteration(node):
        assert isinstance(node, Mapping)
        return _map_iteration_reference(node, default_table, namespace)
    if not isinstance(node, dict):
        return None
    if MARKER in node:
        return _pointer_reference(node, path)
    if ELEMENT_LIST_KEY in node:
        return _element_reference(node, path, f"event at {jsonpath(path)}")
    if map_results and MAP_RESULTS_KEY in node:
        return _map_results_reference(node, path, f"event at {jsonpath(path)}", default_table)
    if result_writer and is_result_writer_output(node):
        details = node["ResultWriterDetails"]
        manifest = Pointer("s3", details["Bucket"], details["Key"])
        return Reference(path, "result-writer", manifest, node=node)
    if py2sfn_results and is_put_result(node):
        return _py2sfn_result_reference(node, path, f"event at {jsonpath(path)}")
    return None


def _pointer_reference(node: dict[str, Any], path: Path) -> Reference:
    try:
        pointer = Pointer.from_dict(node)
    except PointerError:
        # Where it is, only for the message: hydration parses every pointer of an event.
        Pointer.from_dict(node, where=f"event at {jsonpath(path)}")
        raise
    return Reference(path, "list" if pointer.is_list else "pointer", pointer)


def find_references(
    document: Any,
    *,
    default_table: str | None = None,
    namespace: str | None = None,
    py2sfn_results: bool = False,
    result_writer: bool = True,
    map_results: bool = True,
) -> list[Reference]:
    """Every reference in ``document``, in document order (see :func:`parse_reference`).

    References are not looked into (a list pointer's ``items`` placeholder is not data); the
    rest of a py2sfn Map-iteration event is ordinary data and is searched.
    """
    found: list[Reference] = []
    stack: list[tuple[Path, Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        if path and not isinstance(node, dict):  # below the top only a dict can be a reference
            if isinstance(node, list):
                stack.extend(reversed([((*path, i), v) for i, v in enumerate(node)]))
            continue
        if path and MARKER in node:  # a pointer: the common reference, parsed without a detour
            found.append(_pointer_reference(node, path))
            continue
        ref = parse_reference(
            node,
            path=path,
            default_table=default_table,
            namespace=namespace,
            py2sfn_results=py2sfn_results,
            result_writer=result_writer,
            map_results=map_results,
        )
        if ref is not None:
            found.append(ref)
            if ref.kind != "py2sfn-map":
                continue
        if isinstance(node, dict):
            stack.extend(reversed([((*path, k), v) for k, v in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([((*path, i), v) for i, v in enumerate(node)]))
    return found
