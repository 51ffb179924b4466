"""The rows of the ``inspect`` report: one per state run, a Map's iterations grouped.

A 500-iteration Map is 500 runs of each state in its iterations: as rows, that is 1,000 lines
to scroll past. Grouped, each state in the Map's iterations is one :class:`Row` with the count
of runs and the smallest, largest and 95th-percentile sizes of its input and output, which is
what the limit asks about. ``expand=True`` gives one row per run instead.

>>> percentile([5, 1, 4, 2, 3], 95)
5
>>> percentile(list(range(1, 101)), 95)
95
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..budget import STATE_LIMIT_BYTES

if TYPE_CHECKING:
    from .model import StateData, StateVisit

__all__ = ["Row", "SideStats", "percentile", "report_rows", "scope_label"]


def percentile(values: Sequence[int], pct: float) -> int:
    """The nearest-rank percentile: the smallest value with ``pct`` percent of the values at or
    below it (always one of ``values``, so a reader can find the run it came from)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class SideStats:
    """The inputs (or outputs) of a row's runs.

    Attributes:
        runs: runs whose history has this side.
        min_bytes / p95_bytes / max_bytes: their inline sizes (equal for a single run).
        pointers: references found in them, all runs together.
        resolved_max_bytes: the largest resolved size (``None`` if none was measured).
        errors: runs whose data could not be parsed or resolved.
    """

    runs: int
    min_bytes: int
    p95_bytes: int
    max_bytes: int
    pointers: int
    resolved_max_bytes: int | None
    errors: int

    @classmethod
    def of(cls, sides: Sequence[StateData]) -> SideStats | None:
        """The statistics of ``sides`` (``None`` when there are none)."""
        if not sides:
            return None
        sizes = [d.inline_bytes for d in sides]
        resolved = [d.resolved_bytes for d in sides if d.resolved_bytes is not None]
        return cls(
            runs=len(sides),
            min_bytes=min(sizes),
            p95_bytes=percentile(sizes, 95),
            max_bytes=max(sizes),
            pointers=sum(len(d.references) for d in sides),
            resolved_max_bytes=max(resolved) if resolved else None,
            errors=sum(1 for d in sides if d.error),
        )

    @property
    def percent_of_limit(self) -> float:
        """Share of the 262,144-byte limit the largest run uses."""
        return 100.0 * self.max_bytes / STATE_LIMIT_BYTES

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "min_bytes": self.min_bytes,
            "p95_bytes": self.p95_bytes,
            "max_bytes": self.max_bytes,
            "percent_of_limit": round(self.percent_of_limit, 2),
            "pointers": self.pointers,
            "resolved_max_bytes": self.resolved_max_bytes,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class Row:
    """One state run, or one state's runs across the iterations of a Map (``grouped``).

    A group's label marks each level of iterations with ``[*]``: ``PriceShard [*]``; a single
    run keeps its indices: ``PriceShard [7]``.
    """

    label: str
    name: str
    state_type: str
    maps: tuple[str, ...]
    grouped: bool
    visits: tuple[StateVisit, ...]
    input: SideStats | None
    output: SideStats | None

    @property
    def runs(self) -> int:
        return len(self.visits)

    def sides(self) -> list[tuple[str, SideStats]]:
        """``("input", stats)`` and ``("output", stats)``, for those the runs have."""
        return [(s, v) for s, v in (("input", self.input), ("output", self.output)) if v]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "name": self.name,
            "type": self.state_type,
            "maps": list(self.maps),
            "grouped": self.grouped,
            "runs": self.runs,
            "iterations": [list(v.iteration) for v in self.visits] if self.grouped else None,
            "input": self.input.to_json() if self.input else None,
            "output": self.output.to_json() if self.output else None,
        }


def scope_label(visit: StateVisit) -> str:
    """``visit``'s state with ``[*]`` for each level of Map iterations it ran in."""
    return visit.name + " [*]" * len(visit.iteration)


def report_rows(visits: Sequence[StateVisit], *, expand: bool = False) -> list[Row]:
    """The report's rows, in the order their first run was entered.

    Runs inside Map iterations are grouped by state and by the run of their outermost Map (a
    Map entered twice, in a loop, gives two groups); with ``expand`` each run is a row.
    """
    runs: dict[tuple[object, ...], list[StateVisit]] = {}
    for position, visit in enumerate(visits):
        key = ("run", position) if expand or not visit.iteration else _group_key(visit)
        runs.setdefault(key, []).append(visit)
    return [_row(group, grouped=bool(group[0].iteration) and not expand) for group in runs.values()]


def _group_key(visit: StateVisit) -> tuple[object, ...]:
    return (visit.map_run, visit.maps, visit.name, len(visit.iteration))


def _row(visits: Sequence[StateVisit], *, grouped: bool) -> Row:
    first = visits[0]
    return Row(
        label=scope_label(first) if grouped else first.label,
        name=first.name,
        state_type=first.state_type,
        maps=first.maps,
        grouped=grouped,
        visits=tuple(visits),
        input=SideStats.of([v.input for v in visits if v.input is not None]),
        output=SideStats.of([v.output for v in visits if v.output is not None]),
    )
