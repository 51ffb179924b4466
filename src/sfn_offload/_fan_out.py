"""Fan-out: lists stored one element per item, for a Map state to iterate placeholders.

A list returned through :func:`fan_out`, or named by a ``fan_out`` path, is stored element by
element (py2sfn ``put_items`` layout) and replaced by a list pointer carrying an ``items``
placeholder array for the Map state's ``ItemsPath``.
"""

from __future__ import annotations

import hashlib
import marshal
import weakref
from collections.abc import Sequence
from typing import Any, TypeVar

from ._sizing import hint
from .errors import ConfigurationError, PayloadEncodingError, StateShapeError
from .storage.repository import PayloadRepository
from .wire.codec import Encoded, dumps, dumps_members, state_size
from .wire.paths import Path, assign, get, jsonpath
from .wire.pointer import Pointer

__all__ = ["FanOut", "check_fan_outs_fit", "fan_out", "store_fan_outs"]

T = TypeVar("T")

# Every FanOut alive in this process, by id. A result is searched for FanOut lists only while
# one exists somewhere: one may be built in a worker thread, another asyncio task, or kept in a
# cache, so the search cannot be tied to a handler; once the lists of earlier invocations are
# gone, results without one cost nothing extra.
_LIVE_FAN_OUTS: weakref.WeakValueDictionary[int, FanOut] = weakref.WeakValueDictionary()


class FanOut(list[Any]):
    """A list to be stored element by element for a Map state (see :func:`fan_out`)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> FanOut:
        # In __new__, not __init__: copy.copy and pickle make instances without __init__.
        self = super().__new__(cls, *args, **kwargs)
        _LIVE_FAN_OUTS[id(self)] = self
        return self


def fan_out(items: Sequence[T]) -> list[T]:
    """Mark ``items`` to be stored one element per item, so a Map state iterates placeholders.

    In the result of a decorated handler the list becomes a list pointer with an ``items``
    placeholder array; each Map iteration then loads only its own element (see the docs'
    ItemSelector).

    >>> rows = fan_out([{"id": 1}, {"id": 2}])
    >>> rows
    [{'id': 1}, {'id': 2}]
    """
    return FanOut(items)


def _builtin_types_only(value: Any) -> bool:
    """True when ``value`` holds no instance of a subclass (so no :class:`FanOut`), checked in C:
    ``marshal`` refuses subclasses and types it does not know, and ends on cycles and depth."""
    try:
        marshal.dumps(value, 4)
    except ValueError:
        return False
    return True


def _find_fan_outs(result: Any) -> list[Path]:
    """Where :class:`FanOut` lists are in ``result`` (each container visited once)."""
    found: list[Path] = []
    seen: set[int] = set()
    stack: list[tuple[Path, Any]] = [((), result)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, FanOut):
            found.append(path)
        elif isinstance(node, dict | list) and id(node) not in seen:
            seen.add(id(node))  # a cycle ends here; the encoder refuses it later
            if isinstance(node, dict):
                stack.extend(((*path, k), v) for k, v in node.items())
            else:
                stack.extend(((*path, i), v) for i, v in enumerate(node))
    return found


def _dumps_elements(elements: Sequence[Any], path: Path) -> list[bytes]:
    try:
        return [raw for _, raw in dumps_members(list(elements))]
    except PayloadEncodingError:
        # Messages are built only now, to name the element that failed.
        for i, element in enumerate(elements):
            dumps(element, where=f"result element {i} at {jsonpath((*path, i))}")
        raise


def store_fan_outs(
    result: Any,
    repo: PayloadRepository,
    namespace: str,
    paths: Sequence[Path],
    copied: set[int],
) -> tuple[Any, list[Path], list[Pointer]]:
    """Store the fan-out lists of ``result``; returns it with list pointers in their place,
    where those pointers are (the outermost ones: inner lists are stored inside outer ones), and
    every list pointer written."""
    found: list[Path] = []
    for path in paths:
        try:
            node = get(result, path)
        except (KeyError, IndexError, TypeError):
            continue  # an optional field the handler did not return this time
        if isinstance(node, list):
            found.append(path)
    if _LIVE_FAN_OUTS and not _builtin_types_only(result):
        found += [path for path in _find_fan_outs(result) if path not in found]
    if not found:
        return result, [], []
    table = repo.config.table
    if not table:
        raise ConfigurationError(
            "fan-out stores one DynamoDB item per element and needs a table: set SFN_OFFLOAD_TABLE"
        )
    # Deepest first: an inner list must be stored before an outer one replaces its container.
    found.sort(key=len, reverse=True)
    written: list[Pointer] = []
    for path in found:
        elements = get(result, path)
        encoded = [repo.encode_raw(raw) for raw in _dumps_elements(elements, path)]
        digest = _list_digest(encoded)
        partition_key = f"{namespace}:{hint(path)}:list-{digest}"
        repo.write_items(table, partition_key, encoded)
        pointer = Pointer("dynamodb", table, partition_key, count=len(elements))
        result = assign(result, path, pointer.to_dict(with_items=True), copied)
        written.append(pointer)
    outermost = [p for p in found if not any(q != p and p[: len(q)] == q for q in found)]
    return result, outermost, written


def check_fan_outs_fit(result: Any, fanned: Sequence[Path], budget: int) -> None:
    """Refuse list pointers whose placeholder arrays alone are over ``budget``."""
    placeholders = sum(state_size(dumps(get(result, path))) for path in fanned)
    if placeholders > budget:
        counts = ", ".join(f"{jsonpath(p)} ({get(result, p)['count']} elements)" for p in fanned)
        raise StateShapeError(
            f"fan-out list pointers {counts} take {placeholders} bytes with their placeholder "
            f"arrays, more than the {budget} bytes the state leaves: an Inline Map cannot iterate "
            "a list this long from the state; write it with sfn_offload.distributed."
            "write_item_file for a Distributed Map's ItemReader (docs/distributed-map.md)"
        )


def _list_digest(encoded: Sequence[Encoded]) -> str:
    h = hashlib.sha256()
    for enc in encoded:
        h.update(enc.sha256.encode("ascii"))
    return h.hexdigest()[:20]
