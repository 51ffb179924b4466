"""The wire shapes of py2sfn-task-tools: Map-iteration events and element indices.

A py2sfn Map iteration receives ``items_result_table_name``, ``items_result_partition_key``,
``items_result_key`` and ``context_index`` (from ``$$.Map.Item.Index``), built by the Map
state's ``ItemSelector``/``Parameters``; :mod:`.references` turns them into a reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ..errors import PointerError
from .pointer import MAX_INDEX

__all__ = [
    "MAP_EVENT_KEYS",
    "MapIteration",
    "is_map_iteration",
    "parse_index",
    "parse_map_iteration",
]

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
            f"got {_short(value)}"
        )
    return value


def _short(value: object) -> str:
    """A bounded repr for messages: events come from untrusted input."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**20 else "(huge)"
    return text if len(text) <= 40 else text[:37] + "..."
