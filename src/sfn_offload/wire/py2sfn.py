"""The wire shapes of py2sfn-task-tools: Map-iteration events, element indices, put results.

A py2sfn Map iteration receives ``items_result_table_name``, ``items_result_partition_key``,
``items_result_key`` and ``context_index`` (from ``$$.Map.Item.Index``), built by the Map
state's ``ItemSelector``/``Parameters``; :mod:`.references` turns them into a reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..errors import PointerError
from .pointer import MAX_INDEX, Pointer, short_repr

__all__ = [
    "MAP_EVENT_KEYS",
    "MapIteration",
    "is_map_iteration",
    "is_put_result",
    "map_iteration_pointer",
    "parse_index",
    "parse_map_iteration",
    "put_result_pointer",
]

#: The keys a py2sfn ``put_item``/``put_items`` result may carry (sfn-offload's
#: ``StateDataClient`` adds ``index``, ``size`` and ``sha256``).
_PUT_RESULT_FIELDS: Final = frozenset(
    {"table_name", "partition_key", "key", "index", "size", "sha256", "items"}
)
#: Keys of a py2sfn Map-iteration event (built by the Map state's ItemSelector/Parameters).
MAP_EVENT_KEYS: Final = (
    "items_result_table_name",
    "items_result_partition_key",
    "items_result_key",
)


@dataclass(frozen=True, slots=True)
class MapIteration:
    """The element a py2sfn Map-iteration event refers to.

    >>> it = parse_map_iteration({"items_result_table_name": "t", "items_result_partition_key":
    ...     "run:rows", "items_result_key": "rows", "context_index": "3", "context_value": 1})
    >>> it.table, it.partition_key, it.key, it.index
    ('t', 'run:rows', 'rows', 3)
    """

    table: str | None
    partition_key: str | None
    key: str | None
    index: int


def is_map_iteration(node: object) -> bool:
    """True for a py2sfn Map-iteration event (``context_index`` and ``items_result_*``)."""
    return (
        isinstance(node, Mapping)
        and "context_index" in node
        and any(isinstance(k, str) and k.startswith("items_result_") for k in node)
    )


def parse_map_iteration(event: object, *, need: str = "local") -> MapIteration:
    """Read ``items_result_*`` and ``context_index`` from a Map-iteration event.

    ``context_index`` may be an integer or a string of digits (py2sfn's README showed a string).
    ``need`` is ``"local"`` (needs ``items_result_key``) or ``"global"`` (needs the table and
    partition key). Missing or mistyped fields raise :class:`~sfn_offload.PointerError`.
    """
    if not isinstance(event, Mapping):
        raise PointerError(f"Map-iteration event must be a JSON object, got {type(event).__name__}")
    required = ["items_result_key"] if need == "local" else list(MAP_EVENT_KEYS[:2])
    missing = [k for k in [*required, "context_index"] if event.get(k) is None]
    if missing:
        raise PointerError(
            f"Map-iteration event is missing {missing}; the Map state's ItemSelector must pass "
            "items_result_table_name, items_result_partition_key, items_result_key and "
            "context_index.$: $$.Map.Item.Index"
        )
    fields: dict[str, str | None] = {}
    for name in MAP_EVENT_KEYS:
        value = event.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise PointerError(f"Map-iteration event field {name!r} must be a non-empty string")
        fields[name] = value
    return MapIteration(
        fields["items_result_table_name"],
        fields["items_result_partition_key"],
        fields["items_result_key"],
        parse_index(event["context_index"], "context_index"),
    )


def parse_index(value: object, name: str = "index") -> int:
    """An element index: an integer, or (py2sfn) a string of digits, in ``[0, 2**31 - 1]``."""
    if isinstance(value, str) and value.isdigit() and value.isascii() and len(value) <= 10:
        value = int(value)
    if type(value) is not int or not 0 <= value <= MAX_INDEX:
        raise PointerError(
            f"{name} must be a whole number in [0, {MAX_INDEX}] (or a string of digits), "
            f"got {short_repr(value, 40)}"
        )
    return value


def map_iteration_pointer(
    node: Mapping[str, Any], default_table: str | None, namespace: str | None
) -> Pointer:
    """The element a Map-iteration event names (``default_table`` when it names no table;
    ``namespace``, the execution name, for a local list)."""
    it = parse_map_iteration(
        node, need="global" if "items_result_partition_key" in node else "local"
    )
    table = it.table or default_table
    if not table:
        raise PointerError(
            "py2sfn Map-iteration event names no items_result_table_name and no default table "
            "is configured (SFN_OFFLOAD_TABLE)"
        )
    if it.partition_key is None and namespace is None:
        raise PointerError(
            f"py2sfn Map-iteration event names the local list {it.key!r} (no "
            "items_result_partition_key), whose partition key needs the execution name: pass "
            "the execution ARN or meta.sfn_execution_name in the input"
        )
    partition_key = it.partition_key or f"{namespace}:{it.key}"
    return Pointer("dynamodb", table, partition_key, it.index)


def is_put_result(node: Mapping[str, Any]) -> bool:
    """True for what a py2sfn ``put_item``/``put_items`` returned (it carries no marker)."""
    table, partition_key = node.get("table_name"), node.get("partition_key")
    return (
        isinstance(table, str)
        and bool(table)
        and isinstance(partition_key, str)
        and bool(partition_key)
        and set(node) <= _PUT_RESULT_FIELDS
    )


def put_result_pointer(node: Mapping[str, Any], where: str) -> Pointer:
    """The pointer a put result stands for: a list pointer for ``put_items`` (its ``items``
    placeholder gives the length), else a value pointer."""
    table, partition_key = node["table_name"], node["partition_key"]
    items = node.get("items")
    if items is not None:
        if not isinstance(items, list):
            raise PointerError(f"{where}: 'items' must be the placeholder list")
        root = node.get("sha256")  # sfn-offload's put_items adds the list's digest
        root = root if isinstance(root, str) and re.fullmatch("[0-9a-f]{64}", root) else None
        return Pointer("dynamodb", table, partition_key, sha256=root, count=len(items))
    size = node.get("size")
    index = node.get("index", 0)
    if type(index) is not int or not 0 <= index <= MAX_INDEX:
        raise PointerError(f"{where}: 'index' must be an integer in [0, {MAX_INDEX}]")
    return Pointer(
        "dynamodb", table, partition_key, index, size=size if type(size) is int else None
    )
