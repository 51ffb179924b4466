"""Before the handler: replace every reference in an event by its data, in one batch.

References recognised anywhere in the event (any depth, dicts and lists):

- a **value pointer** (``{"__sfn_offload__": 1, ...}``) → the value it points to;
- a **list pointer** (a pointer with ``count``) → the whole list;
- an **element reference** ``{"sfn_offload_list": <list pointer>, "sfn_offload_index": i}``
  (what the documented Map ``ItemSelector`` builds) → element ``i`` of the list;
- a Distributed Map's **ResultWriter output** → the list of its children's outputs (see
  :mod:`sfn_offload.distributed.results`);
- a **py2sfn Map-iteration event** (top level: ``items_result_*`` + ``context_index``) → its
  element is put in ``event["context_value"]`` (where py2sfn's placeholder ``1`` was); the
  ``items_result_*`` keys stay, so ``get_item_for_map_iteration(event)`` keeps working.

All DynamoDB items of one event are fetched with BatchGetItem (ceil(N/100) requests) and S3
objects concurrently; digests are verified; references are checked against the allow-lists
before any request. Loaded data is never scanned again (a payload that contains pointer-shaped
data stays as it is: no recursion bombs). The caller's event is not modified: containers on the
way to a reference are copied.

py2sfn's explicit ``{"table_name", "partition_key", "key"}`` results are *not* references (they
have no marker): handlers that call ``get_item(...)`` on them keep working unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from .compat.py2sfn import parse_map_iteration
from .distributed.results import is_result_writer_output, raise_for_failures, read_result_writer
from .errors import PayloadTooLargeError, PointerError
from .storage.repository import PayloadRepository, ReadStats
from .wire.paths import Path, assign, jsonpath, shallow_copy
from .wire.pointer import MARKER, Pointer

__all__ = ["ELEMENT_INDEX_KEY", "ELEMENT_LIST_KEY", "hydrate", "may_contain_references"]

ELEMENT_LIST_KEY: Final = "sfn_offload_list"
ELEMENT_INDEX_KEY: Final = "sfn_offload_index"
MAP_VALUE_KEY: Final = "context_value"
_MARKERS: Final = (
    f'"{MARKER}"'.encode(),
    f'"{ELEMENT_LIST_KEY}"'.encode(),
    b'"items_result_',
    b'"ResultWriterDetails"',
)

ResultWriterMode = Literal["strict", "tolerant", "off"]


def may_contain_references(raw_event: bytes) -> bool:
    """Cheap pre-check on the serialized event: can it hold any reference at all?

    A byte search in C, so events without references (most of them) skip the Python walk.
    """
    return any(marker in raw_event for marker in _MARKERS)


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where loaded data goes: ``path`` in the event; ``first``/``count`` index the loads."""

    path: Path
    first: int
    count: int
    as_list: bool


def _element_pointer(lst: Pointer, index: object, where: str) -> Pointer:
    if type(index) is not int or not 0 <= index < (lst.count or 0):
        raise PointerError(
            f"{where}: {ELEMENT_INDEX_KEY} must be an integer in [0, {lst.count}), got {index!r}"
        )
    return Pointer("dynamodb", lst.container, lst.key, index, encoding=lst.encoding)


def _map_event_pointer(
    event: Mapping[str, Any], repo: PayloadRepository, namespace: str | None
) -> Pointer | None:
    if "context_index" not in event or not any(k.startswith("items_result_") for k in event):
        return None
    it = parse_map_iteration(
        event, need="global" if "items_result_partition_key" in event else "local"
    )
    table = it.table or repo.config.table or ""
    if it.partition_key is None and namespace is None:
        raise PointerError(
            "Map-iteration event names the local list "
            f"{it.key!r} (no items_result_partition_key), whose partition key needs the "
            "execution name: pass py2sfn_namespace (the decorator takes it from the input's "
            "execution ARN or meta.sfn_execution_name)"
        )
    partition_key = it.partition_key or f"{namespace}:{it.key}"
    return Pointer("dynamodb", table, partition_key, it.index)


def parse_element_reference(node: Mapping[str, Any], where: str) -> tuple[Pointer, Pointer]:
    """Validate ``{"sfn_offload_list": <list pointer>, "sfn_offload_index": i}``; returns the
    list pointer and the pointer to element ``i``."""
    extra = sorted(set(node) - {ELEMENT_LIST_KEY, ELEMENT_INDEX_KEY})
    if extra or ELEMENT_INDEX_KEY not in node:
        raise PointerError(
            f"{where}: an element reference holds exactly {ELEMENT_LIST_KEY!r} and "
            f"{ELEMENT_INDEX_KEY!r}; got keys {sorted(node)}"
        )
    lst = Pointer.from_dict(node[ELEMENT_LIST_KEY], where=f"{where}.{ELEMENT_LIST_KEY}")
    if not lst.is_list:
        raise PointerError(f"{where}: {ELEMENT_LIST_KEY!r} must be a list pointer")
    return lst, _element_pointer(lst, node[ELEMENT_INDEX_KEY], where)


def hydrate(
    event: Any,
    repo: PayloadRepository,
    *,
    py2sfn_namespace: str | None = None,
    max_bytes: int | None = None,
    stats: ReadStats | None = None,
    fan_out_counts: list[int] | None = None,
    result_writer: ResultWriterMode = "strict",
) -> Any:
    """Return ``event`` with every reference replaced by its data (see the module docstring).

    A Distributed Map's ``ResultWriter`` output (``{"MapRunArn", "ResultWriterDetails"}``) is
    replaced by the list of its children's outputs (pointers in them hydrated too). With
    ``result_writer="strict"`` (default) FAILED or PENDING children raise
    :class:`~sfn_offload.MapRunFailedError`; with ``"tolerant"`` the object becomes
    ``{"MapRunArn", "succeeded": [...], "failed": [...], "pending": [...]}``; ``"off"`` leaves it.

    ``py2sfn_namespace`` is the execution name that local py2sfn Map events (without
    ``items_result_partition_key``) are keyed under. ``fan_out_counts``, when given, receives
    the element count of every list an element reference points into: the event is then a Map
    iteration, and its result shares the Map's output with that many siblings.
    """
    loads: list[Pointer] = []
    wheres: list[str] = []
    slots: list[_Slot] = []
    manifests: list[tuple[Path, Any]] = []

    def add(path: Path, pointers: list[Pointer], as_list: bool) -> None:
        where = f"event at {jsonpath(path)}"
        slots.append(_Slot(path, len(loads), len(pointers), as_list))
        loads.extend(pointers)
        wheres.extend(
            [f"{where} ({p.describe()})" for p in pointers]
            if not as_list
            else [f"{where} element {p.index}" for p in pointers]
        )

    if isinstance(event, Mapping):
        mapped = _map_event_pointer(event, repo, py2sfn_namespace)
        if mapped is not None:
            add((MAP_VALUE_KEY,), [mapped], as_list=False)

    stack: list[tuple[Path, Any]] = [((), event)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            if result_writer != "off" and is_result_writer_output(node):
                manifests.append((path, node))
                continue
            if MARKER in node:
                pointer = Pointer.from_dict(node, where=f"event at {jsonpath(path)}")
                if pointer.is_list:
                    count = pointer.count or 0
                    add(path, [_element_pointer(pointer, i, "") for i in range(count)], True)
                else:
                    add(path, [pointer], as_list=False)
                continue
            if ELEMENT_LIST_KEY in node:
                where = f"event at {jsonpath(path)}"
                lst, element = parse_element_reference(node, where)
                add(path, [element], False)
                if fan_out_counts is not None:
                    fan_out_counts.append(lst.count or 0)
                continue
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))

    if not slots and not manifests:
        return event
    # The cap is for the whole event: nested batches (ResultWriter outputs) get what is left.
    stats = stats if stats is not None else ReadStats()
    start = stats.json_bytes
    values = (
        repo.read_many(loads, trusted=False, max_bytes=max_bytes, stats=stats, wheres=wheres)
        if loads
        else []
    )
    result = shallow_copy(event)
    copied = {id(result)}
    for slot in slots:
        part = values[slot.first : slot.first + slot.count]
        result = assign(result, slot.path, part if slot.as_list else part[0], copied)
    for path, node in manifests:
        runs = read_result_writer(node, repo, trusted=False)
        # Children's outputs may hold pointers (decorated children offload too): one more
        # batch, without following ResultWriter outputs again.
        left = None if max_bytes is None else max_bytes - (stats.json_bytes - start)
        if left is not None and left < 0:
            raise PayloadTooLargeError(
                f"event at {jsonpath(path)}: the event already loaded "
                f"{stats.json_bytes - start} bytes, over the {max_bytes}-byte hydration cap"
            )
        runs.succeeded = hydrate(
            runs.succeeded, repo, max_bytes=left, stats=stats, result_writer="off"
        )
        if result_writer == "strict":
            raise_for_failures(runs)
            value: Any = runs.succeeded
        else:
            value = runs.to_dict()
        result = assign(result, path, value, copied)
    return result
