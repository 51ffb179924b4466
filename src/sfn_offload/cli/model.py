"""What ``sfn-offload inspect`` found: one :class:`StateVisit` per state run, its input and output
as :class:`StateData`, and the :class:`ExecutionReport` around them.

Plain data; :mod:`sfn_offload.cli.history` fills it in, :mod:`sfn_offload.cli.groups` and
:mod:`sfn_offload.cli.payloads` summarise it (Map iterations grouped, each payload once), and
:mod:`sfn_offload.cli.render` / :mod:`sfn_offload.cli.html_report` show it.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..budget import STATE_LIMIT_BYTES
from .groups import report_rows
from .payloads import report_payloads
from .report import Reference

__all__ = ["NEAR_LIMIT_PERCENT", "ExecutionReport", "StateData", "StateVisit", "refusal_message"]

#: From this share of the 262,144-byte limit on, a state's size is highlighted.
NEAR_LIMIT_PERCENT: Final = 80.0


@dataclass
class StateData:
    """A state's input or output as the history recorded it.

    Attributes:
        inline_bytes: UTF-8 bytes in the state (what counts against the 262,144 limit).
        truncated: the history left the data out (``inputDetails.truncated``).
        references: references found in it (with ``resolved_bytes`` once resolved).
        resolved_bytes: JSON bytes with every reference replaced by its data.
        error: why the data could not be parsed or resolved (a library error message).
        document: the parsed data: as recorded, then resolved; the walk drops it after
            measuring unless asked to keep it.
        refused: when the allow-list refused the data, the references naming a table or bucket
            off it (reported together for the whole execution: see :func:`refusal_message`).
    """

    inline_bytes: int
    truncated: bool = False
    references: list[Reference] = field(default_factory=list)
    resolved_bytes: int | None = None
    error: str | None = None
    document: Any = field(default=None, repr=False)
    refused: list[Reference] = field(default_factory=list)

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
            "refused": bool(self.refused),
        }
        if with_data:
            out["data"] = self.document
        return out


@dataclass
class StateVisit:
    """One time a state ran: entered (with its input) and, unless it never finished, exited.

    ``iteration`` holds the Map iteration indices it ran in (outermost first; ``()`` outside
    any Map), so ``PriceShard`` in iteration 3 is labelled ``PriceShard [3]``; ``maps`` names
    those Map states, and ``map_run`` is the entered event of the outermost one (a Map that
    runs twice, in a loop, has two sets of iterations).
    """

    name: str
    state_type: str
    iteration: tuple[int, ...]
    entered_event_id: int | None
    exited_event_id: int | None = None
    input: StateData | None = None
    output: StateData | None = None
    maps: tuple[str, ...] = ()
    map_run: int | None = None

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
            "maps": list(self.maps),
            "entered_event_id": self.entered_event_id,
            "exited_event_id": self.exited_event_id,
            "input": self.input.to_json(with_data=with_data) if self.input else None,
            "output": self.output.to_json(with_data=with_data) if self.output else None,
        }


@dataclass
class ExecutionReport:
    """What :func:`~sfn_offload.cli.history.inspect_execution` found."""

    execution_arn: str
    status: str
    events: int
    visits: list[StateVisit]
    resolved: bool
    state_names: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """What went wrong, for people: every refusal by the allow-list in one message, then
        each other input/output that could not be parsed or resolved, labelled."""
        refusal = refusal_message(self.visits)
        return ([refusal] if refusal else []) + [
            f"{visit.label} {side}: {data.error}"
            for visit in self.visits
            for side, data in visit.sides()
            if data.error and not data.refused
        ]

    def to_json(self, *, with_data: bool = False, expand: bool = False) -> dict[str, Any]:
        """``rows``: the states as the console shows them (Map iterations grouped unless
        ``expand``); ``pointers``: each payload once, with the states that carried it;
        ``states``: every state run, as the history recorded it."""
        return {
            "execution_arn": self.execution_arn,
            "status": self.status,
            "events": self.events,
            "limit_bytes": STATE_LIMIT_BYTES,
            "resolved": self.resolved,
            "state_names": self.state_names,
            "rows": [row.to_json() for row in report_rows(self.visits, expand=expand)],
            "pointers": [p.to_json() for p in report_payloads(self.visits)],
            "states": [v.to_json(with_data=with_data) for v in self.visits],
            "errors": self.errors,
        }


def refusal_message(visits: Sequence[StateVisit]) -> str | None:
    """One message for every pointer the allow-list refused: the tables and buckets, how many
    pointers name each, and the options that allow them; ``None`` when nothing was refused."""
    refused = [data for visit in visits for _, data in visit.sides() if data.refused]
    if not refused:
        return None
    pointers = {  # a list and its element 0 share key and index: told apart by is_list
        (r.pointer.backend, r.pointer.container, r.pointer.key, r.pointer.index, r.is_list)
        for data in refused
        for r in data.refused
    }
    places = Counter(
        ("table" if backend == "dynamodb" else "bucket", container)
        for backend, container, *_ in pointers
    )
    named = ", ".join(
        f"{kind} {name!r} ({count} pointer{'' if count == 1 else 's'})"
        for (kind, name), count in sorted(places.items())
    )
    options = " ".join(f"--{kind} {shlex.quote(name)}" for kind, name in sorted(places))
    return (
        f"{len(pointers)} pointer(s) in {len(refused)} state input(s)/output(s) were not read: "
        f"they name tables or buckets that are not allowed: {named}. Allow them with "
        f"{options}, or pass --allow-any to read whatever the pointers name"
    )
