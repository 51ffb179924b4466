"""Map runs: iterations store their results, and the Map's ``ResultSelector`` refers to them.

A Map iteration whose input carries ``"sfn_offload_map": {"execution", "state", "entered",
"index"}`` (built by the Map's ``ItemSelector``) stores its result in the run's partition
instead of returning it, so the Map's output no longer grows with the number of iterations;
the Map's ``ResultSelector`` builds ``{"sfn_offload_results": {"execution", "state", "entered",
"count"}}`` to stand for those results (docs/maps.md). Both name the run (:class:`MapRun`);
:mod:`.references` turns the second into a ``map-results`` reference.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..errors import PointerError
from .pointer import short_repr
from .py2sfn import parse_index

__all__ = ["MAP_RESULTS_KEY", "MAP_RUN_KEY", "MapRun", "parse_map_run", "parse_run"]

#: Top-level event key of a Map iteration's run context (see :class:`MapRun`).
MAP_RUN_KEY: Final = "sfn_offload_map"
#: The single key of the object a Map's ``ResultSelector`` builds to stand for its results.
MAP_RESULTS_KEY: Final = "sfn_offload_results"
_HINT: Final = re.compile(r"[^A-Za-z0-9._\-]+")


@dataclass(frozen=True, slots=True)
class MapRun:
    """One run of a Map state: the execution, the Map state's name and when it was entered.

    Its ``ItemSelector`` gives every iteration the same three values (plus the iteration's
    index), and its ``ResultSelector`` sees them too, so both sides name the same partition
    without talking to each other; re-entering the Map (a loop, a retry) starts a new run.

    >>> run = MapRun("arn:aws:states:us-east-1:123456789012:execution:orders:run-42", "Shards",
    ...              "2026-11-30T06:55:57.913Z")
    >>> run.partition_key
    'run-42.6eec097a:map:Shards:d090f6f13560517c6eae'
    """

    execution_arn: str
    state: str
    entered: str

    @property
    def partition_key(self) -> str:
        """Where the run's results live: ``<execution namespace>:map:<state>:<digest>``."""
        identity = _identity_of(self.execution_arn)
        digest = hashlib.sha256(f"{self.state}\n{self.entered}".encode()).hexdigest()[:20]
        state = _HINT.sub("_", self.state)[:40]
        return f"{identity.namespace}:map:{state}:{digest}"

    def describe(self) -> str:
        return f"Map state {self.state!r} (entered {self.entered})"


def _identity_of(execution_arn: str) -> Any:
    from .._identity import resolve_identity

    identity = resolve_identity({"sfn_execution_arn": execution_arn}, None)
    if identity.execution_arn is None:
        raise PointerError(f"{short_repr(execution_arn, 40)} is not a Step Functions execution ARN")
    return identity


def parse_run(node: object, where: str, *, with_index: bool) -> tuple[MapRun, int]:
    """The run an ``sfn_offload_map`` (``with_index``) or ``sfn_offload_results`` object names,
    and its index or count; :class:`PointerError` naming ``where`` when it is malformed."""
    fields = ("execution", "state", "entered", "index" if with_index else "count")
    if not isinstance(node, dict) or set(node) != set(fields):
        raise PointerError(
            f"{where}: expected an object with exactly {list(fields)} (see docs/maps.md), got "
            f"{sorted(node, key=str) if isinstance(node, dict) else type(node).__name__}"
        )
    for name in fields[:3]:
        if not isinstance(node[name], str) or not node[name]:
            raise PointerError(f"{where}: {name!r} must be a non-empty string")
    run = MapRun(node["execution"], node["state"], node["entered"])
    _identity_of(run.execution_arn)  # refuse what is not an execution ARN
    return run, parse_index(node[fields[3]], f"{where}.{fields[3]}")


def parse_map_run(event: object) -> tuple[MapRun, int] | None:
    """The run and index of a Map iteration whose input carries ``sfn_offload_map``, else None."""
    if not isinstance(event, Mapping) or MAP_RUN_KEY not in event:
        return None
    return parse_run(event[MAP_RUN_KEY], f"event at $.{MAP_RUN_KEY}", with_index=True)
