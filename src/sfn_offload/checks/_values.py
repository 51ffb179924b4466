"""What the check knows about state data without running anything: an abstract JSON object.

A :class:`Data` is an object whose known top-level keys each map to a :data:`Value`, the set of
things that key may hold on some path through the state machine, plus ``rest``: what any key
not listed may hold. The things (:class:`Kind`, :class:`Const`, :class:`Result`) are only those
the rules ask about: is it the execution ARN, a Map-run context, a constant, data a task
produced (which may be large), or execution input (whose size the definition does not say)?

Joining two paths' data is a union per key, so a fixpoint over loops ends: every set only
grows, over keys and states the definition itself names.

>>> arn = Data({"sfn_execution_arn": frozenset({Kind.EXECUTION_ID})})
>>> merged = join(arn, Data({}, frozenset({Kind.INPUT, Kind.ABSENT})))
>>> sorted(k.name for k in merged.lookup("sfn_execution_arn"))
['ABSENT', 'EXECUTION_ID', 'INPUT']
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias


class Kind(enum.Enum):
    """A thing a key may hold, as far as the rules care."""

    ABSENT = "absent"  # the key is missing
    EXECUTION_ID = "execution ARN"  # $$.Execution.Id
    CONTEXT = "context value"  # another context object field ($$.Execution.Name, ...)
    SMALL = "small value"  # computed, constant-size (a count, an index, an error object)
    INPUT = "execution input"  # from the execution's input: its size is unknown here
    MAP_RUN = "Map-run context"  # an sfn_offload_map object
    MAP_RESULTS = "Map-results reference"  # an sfn_offload_results object
    IDENTITY_META = "py2sfn meta"  # meta with sfn_execution_arn / sfn_execution_name


@dataclass(frozen=True)
class Const:
    """A literal from the definition (numbers matter: sfn_offload_siblings, _reserve)."""

    value: Hashable


@dataclass(frozen=True)
class Result:
    """Data a state produced (a task's result, a Map's or Parallel's list): may be large."""

    path: str  # the producing state's JSON pointer
    name: str


Thing: TypeAlias = Kind | Const | Result
Value: TypeAlias = frozenset[Thing]

ABSENT: Final[Value] = frozenset({Kind.ABSENT})
SMALL: Final[Value] = frozenset({Kind.SMALL})
UNKNOWN_INPUT: Final[Value] = frozenset({Kind.INPUT, Kind.ABSENT})
#: Kinds that survive when a value is taken apart or put into a bigger object: what matters
#: there is only whether it may be large.
_SIZE_KINDS: Final = frozenset({Kind.INPUT, Kind.ABSENT})


@dataclass(frozen=True)
class Data:
    """An object: known keys and what they may hold; any other key may hold ``rest``."""

    fields: Mapping[str, Value] = field(default_factory=dict)
    rest: Value = ABSENT

    def lookup(self, key: str) -> Value:
        """What ``key`` may hold."""
        return self.fields.get(key, self.rest)

    def with_field(self, key: str, value: Value) -> Data:
        """The same object with ``key`` set to ``value``."""
        return Data({**self.fields, key: value}, self.rest)

    def keys_holding(self, wanted: type[Result]) -> dict[str, list[Result]]:
        """Keys (``"*"`` for the unlisted ones) that may hold a :class:`Result`."""
        found: dict[str, list[Result]] = {}
        for key, value in (*self.fields.items(), ("*", self.rest)):
            results = sorted((t for t in value if isinstance(t, wanted)), key=lambda r: r.path)
            if results:
                found[key] = results
        return found


def join(a: Data, b: Data) -> Data:
    """What an object may be when it comes from either ``a`` or ``b``."""
    if a is b:
        return a
    fields = {k: _union(v, b.fields.get(k, b.rest)) for k, v in a.fields.items()}
    for k, v in b.fields.items():
        if k not in fields:
            fields[k] = _union(a.rest, v)
    return Data(fields, _union(a.rest, b.rest))


def _union(a: Value, b: Value) -> Value:
    # Most joins add nothing new: keep the set instead of building an equal one.
    return a if b <= a else b if a <= b else a | b


def summary(data: Data) -> Value:
    """The value of a whole object held in one key: large if any part may be."""
    things: set[Thing] = set()
    for value in (*data.fields.values(), data.rest):
        things |= value
    return coarse(frozenset(things - {Kind.ABSENT}) or SMALL)


def coarse(value: Value) -> Value:
    """``value`` taken apart or wrapped: keeps only what says whether it may be large."""
    kept = {t for t in value if isinstance(t, Result) or t in _SIZE_KINDS}
    if len(kept) < len(value):
        kept.add(Kind.SMALL)
    return frozenset(kept)


def as_data(value: Value) -> Data:
    """An object known only by what it may hold as a whole (a task's result, a sub-object)."""
    return Data({}, coarse(value) | ABSENT)


def literal(value: object) -> Value:
    """The value of a literal of the definition."""
    if value is None or isinstance(value, bool | int | float | str):
        return frozenset({Const(value)})
    return SMALL


def literal_data(value: object) -> Data | Value:
    """A literal object (a Pass state's ``Result``) as :class:`Data`; other literals as values."""
    if isinstance(value, Mapping):
        return Data({str(k): literal(v) for k, v in value.items()})
    return literal(value)
