"""The byte budget: how much of the 262,144-byte state limit a task's result may use inline.

Step Functions checks the limit on *states*, and a task's result often ends up inside a state the
task cannot see: ``ResultPath`` merges it into the state's whole input (which ``Parameters`` may
have narrowed before the task saw it), a Map collects all its iterations' results into one list,
a Parallel all its branches'. :class:`Shape` is what one invocation knows about that state, read
from its event (the ASL conventions of docs/maps.md) and the decorator's options; :func:`budget`
turns it into bytes.

Event keys a state machine may pass (all optional, top level):

- ``sfn_offload_siblings``: how many tasks' results are collected into one state with this one
  (the branches of a Parallel; old-style Map iterations get it from their element reference);
- ``sfn_offload_reserve``: bytes of that state this task cannot see (the part of the input
  ``Parameters`` left out, or the Map's/Parallel's own input that ``ResultPath`` merges into).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .errors import ConfigurationError

__all__ = [
    "ENVELOPE_BYTES",
    "MARGIN_BYTES",
    "MIN_BUDGET_BYTES",
    "RESERVE_KEY",
    "SIBLINGS_KEY",
    "STATE_LIMIT_BYTES",
    "Shape",
    "budget",
    "inline_budget",
]

#: Step Functions' state input/output limit: 262,144 bytes of UTF-8 JSON.
STATE_LIMIT_BYTES: Final = 262_144
#: Room for the ``lambda:invoke`` result wrapper (``Payload``, ``SdkHttpMetadata`` with its
#: headers, ``SdkResponseMetadata``, ``StatusCode``, ``ExecutedVersion``): about 1 KB in practice.
ENVELOPE_BYTES: Final = 2_048
#: Headroom for how Step Functions re-serializes JSON (not documented byte for byte).
MARGIN_BYTES: Final = 8_192
#: A task alone in its state always keeps this much (a few pointers), taken from the margin.
#: Shares of a collected state get no floor: there the share is the real limit.
MIN_BUDGET_BYTES: Final = 1_024
SIBLINGS_KEY: Final = "sfn_offload_siblings"
RESERVE_KEY: Final = "sfn_offload_reserve"


@dataclass(frozen=True, slots=True)
class Shape:
    """What one invocation knows about the state its result lands in.

    Attributes:
        event_bytes: the incoming event's size (``ResultPath`` usually merges into it).
        ignore_input: the result replaces the input (``ResultPath`` ``$`` or ``OutputPath``).
        siblings: tasks whose results are collected into one list with this one (Map
            iterations, Parallel branches); 1 for a plain task.
        reserve: bytes of the state the task cannot see.
        margin: headroom below the limit.
        fixed: a budget given outright (``max_inline_bytes``), overriding the rest.
    """

    event_bytes: int
    ignore_input: bool = False
    siblings: int = 1
    reserve: int = 0
    margin: int = MARGIN_BYTES
    fixed: int | None = None

    @classmethod
    def of(cls, event: object, event_bytes: int, **options: Any) -> Shape:
        """The shape an event declares (``sfn_offload_siblings``/``_reserve``), with options.

        Option keywords are :class:`Shape`'s fields; values the event gives add to them (the
        larger sibling count wins).
        """
        siblings = options.pop("siblings", 1)
        reserve = options.pop("reserve", 0)
        if isinstance(event, Mapping):
            siblings = max(siblings, _count(event, SIBLINGS_KEY, low=1))
            reserve += _count(event, RESERVE_KEY, low=0)
        return cls(event_bytes, siblings=siblings, reserve=reserve, **options)

    def describe(self) -> str:
        """The shape in words, for errors that name it."""
        parts = [f"an event of {self.event_bytes} bytes"]
        if self.siblings > 1:
            parts.append(f"a share of a state collecting {self.siblings} results")
        if self.reserve:
            parts.append(f"{self.reserve} reserved bytes")
        return ", ".join(parts)


def _count(event: Mapping[str, Any], key: str, *, low: int) -> int:
    value = event.get(key, low)
    if type(value) is not int or not low <= value <= STATE_LIMIT_BYTES * 100:
        raise ConfigurationError(
            f"event at $.{key} must be a whole number >= {low} (see docs/maps.md), got {value!r}"
        )
    return value


def budget(shape: Shape) -> int:
    """The bytes a result may keep inline in ``shape``.

    ``262,144 - envelope - margin - reserve - event`` (at least :data:`MIN_BUDGET_BYTES`), and
    with siblings each gets an equal share of what the collected list may use (minus its comma),
    with no floor.

    >>> budget(Shape(100_000))
    151904
    >>> budget(Shape(100_000, ignore_input=True))
    251904
    >>> budget(Shape(500, siblings=10))  # one branch of a 10-way Parallel
    25189
    >>> budget(Shape(500, siblings=10, reserve=50_000))  # ... merged into a 50 KB input
    20189
    """
    if shape.fixed is not None:
        return shape.fixed
    room = STATE_LIMIT_BYTES - ENVELOPE_BYTES - shape.margin - shape.reserve
    alone = room - (0 if shape.ignore_input else shape.event_bytes)
    if shape.siblings > 1:
        # The collected list is merged into the collecting state's input, which this task
        # cannot see (declare it with sfn_offload_reserve); share what is left.
        return max(0, min(alone, room // shape.siblings - 1))
    return max(MIN_BUDGET_BYTES, alone)


def inline_budget(
    event_bytes: int,
    *,
    max_inline_bytes: int | None = None,
    ignore_input: bool = False,
    margin_bytes: int = MARGIN_BYTES,
    map_siblings: int = 1,
    reserve_bytes: int = 0,
) -> int:
    """:func:`budget` with keyword arguments (what ``hydrate``/``offload`` callers use).

    >>> inline_budget(100_000)
    151904
    >>> inline_budget(500, map_siblings=60)  # one iteration of a 60-way Map
    4197
    """
    shape = Shape(
        event_bytes,
        ignore_input=ignore_input,
        siblings=map_siblings,
        reserve=reserve_bytes,
        margin=margin_bytes,
        fixed=max_inline_bytes,
    )
    return budget(shape)
