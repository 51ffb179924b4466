"""Each offloaded payload once, with the states that carried a reference to it.

A pointer travels: ``LoadOrders`` returns it, the Map passes it on, every iteration reads one
element of it, ``Aggregate`` gets it again. Listed per state, the same address is printed a
dozen (or 500) times; here the references are gathered by where the data lives (backend,
table or bucket, key), so a fanned-out list and the element references into it are one
:class:`Payload`, and a state's runs across a Map's iterations are one :class:`Carrier`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .groups import scope_label

if TYPE_CHECKING:
    from ..wire.pointer import Pointer
    from .model import StateVisit
    from .report import Reference

__all__ = ["Carrier", "Payload", "report_payloads"]


@dataclass(frozen=True)
class Carrier:
    """A state's input or output that held references to the payload (``runs`` of it: a state
    in a Map's iterations is labelled ``Name [*]``), and where in it (``paths``)."""

    state: str
    side: str
    paths: tuple[str, ...]
    runs: int

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "side": self.side, "paths": [*self.paths], "runs": self.runs}


@dataclass(frozen=True)
class Payload:
    """One stored payload: an S3 object, or a DynamoDB partition (a value, or a list).

    Attributes:
        address: where it lives, as errors name it (``dynamodb table 't' partition_key 'k'``).
        kinds: the kinds of reference that named it (``list``, ``element``, ``pointer``, ...).
        count: a list's element count, when a reference says it.
        stored_bytes: the stored size a pointer records (value pointers).
        resolved_bytes: its JSON size once loaded: the whole value or list when a reference
            to the whole was resolved, else the sum of the elements read one by one.
        elements: how many distinct elements were referenced one by one (Map iterations).
        refused: the allow-list refused a reference to it.
    """

    backend: str
    container: str
    key: str
    address: str
    kinds: tuple[str, ...]
    count: int | None
    stored_bytes: int | None
    resolved_bytes: int | None
    elements: int
    refused: bool
    carriers: tuple[Carrier, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "table" if self.backend == "dynamodb" else "bucket": self.container,
            "key": self.key,
            "address": self.address,
            "kinds": list(self.kinds),
            "count": self.count,
            "stored_bytes": self.stored_bytes,
            "resolved_bytes": self.resolved_bytes,
            "elements": self.elements,
            "refused": self.refused,
            "carried_by": [c.to_json() for c in self.carriers],
        }


@dataclass(frozen=True)
class _Use:
    visit: StateVisit
    side: str
    ref: Reference
    refused: bool


def report_payloads(visits: Sequence[StateVisit]) -> list[Payload]:
    """Every payload the visits' references name, in the order first met."""
    uses: dict[tuple[str, str, str], list[_Use]] = {}
    for visit in visits:
        for side, data in visit.sides():
            refused = {id(ref) for ref in data.refused}
            for ref in data.references:
                where = (ref.pointer.backend, ref.pointer.container, ref.pointer.key)
                uses.setdefault(where, []).append(_Use(visit, side, ref, id(ref) in refused))
    return [_payload(found) for found in uses.values()]


def _whole(ref: Reference) -> bool:
    """True for a reference to all of a payload (a value, a whole list), not one element."""
    return ref.is_list or ref.kind == "pointer"


def _payload(uses: Sequence[_Use]) -> Payload:
    refs = [use.ref for use in uses]
    whole = [ref for ref in refs if _whole(ref)]
    element_bytes: dict[int, int | None] = {}
    for ref in refs:
        if not _whole(ref) and element_bytes.get(ref.pointer.index) is None:
            element_bytes[ref.pointer.index] = ref.resolved_bytes
    pointer = (whole or refs)[0].pointer
    return Payload(
        backend=pointer.backend,
        container=pointer.container,
        key=pointer.key,
        address=pointer.describe() if whole else _address(pointer),
        kinds=tuple(dict.fromkeys(ref.kind for ref in refs)),
        count=next((c for ref in refs if (c := ref.pointer.count or ref.list_count)), None),
        stored_bytes=next((ref.stored_bytes for ref in whole if ref.stored_bytes), None),
        resolved_bytes=_resolved(whole, element_bytes),
        elements=len(element_bytes),
        refused=any(use.refused for use in uses),
        carriers=_carriers(uses),
    )


def _address(element: Pointer) -> str:
    # A payload read only element by element: its partition, without one element's index.
    if element.backend == "s3":
        return element.describe()
    return f"dynamodb table {element.container!r} partition_key {element.key!r}"


def _resolved(whole: Sequence[Reference], elements: dict[int, int | None]) -> int | None:
    sizes = [ref.resolved_bytes for ref in whole if ref.resolved_bytes is not None]
    if sizes:
        return max(sizes)
    if elements and None not in elements.values():
        return sum(size for size in elements.values() if size is not None)
    return None


def _carriers(uses: Sequence[_Use]) -> tuple[Carrier, ...]:
    paths: dict[tuple[str, str], dict[str, None]] = {}
    runs: dict[tuple[str, str], dict[int, None]] = {}
    for use in uses:
        where = (scope_label(use.visit), use.side)
        paths.setdefault(where, {})[use.ref.jsonpath] = None
        runs.setdefault(where, {})[id(use.visit)] = None
    return tuple(
        Carrier(state, side, tuple(paths[state, side]), len(runs[state, side]))
        for state, side in paths
    )
