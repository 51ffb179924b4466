"""The ASL the library's conventions expect (docs/maps.md), to check against and to quote in
fixes, in both query languages; and the small helpers rules share.

>>> snippet({"sfn_offload_siblings": 3})
'"sfn_offload_siblings": 3'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from ..budget import ENVELOPE_BYTES, MARGIN_BYTES, RESERVE_KEY, SIBLINGS_KEY, STATE_LIMIT_BYTES
from ..wire.codec import dumps, state_size
from ..wire.pointer import Pointer
from ..wire.references import MAP_RESULTS_KEY, MAP_RUN_KEY
from ._asl import State
from ._jsonata import unwrap

__all__ = [
    "MAP_RESULTS_JSONATA",
    "MAP_RESULTS_JSONPATH",
    "MAP_RUN_JSONATA",
    "MAP_RUN_JSONPATH",
    "RESERVE_KEY",
    "SIBLINGS_KEY",
    "arn_fix",
    "directives",
    "event_field",
    "event_source",
    "inline_map_limit",
    "known_items",
    "map_results_fix",
    "map_run_fix",
    "snippet",
    "squash",
]

MAP_RUN_JSONPATH: Final = {
    "execution.$": "$$.Execution.Id",
    "state.$": "$$.State.Name",
    "entered.$": "$$.State.EnteredTime",
    "index.$": "$$.Map.Item.Index",
}
MAP_RESULTS_JSONPATH: Final = {
    "execution.$": "$$.Execution.Id",
    "state.$": "$$.State.Name",
    "entered.$": "$$.State.EnteredTime",
    "count.$": "States.ArrayLength($)",
}
MAP_RUN_JSONATA: Final = {
    "execution": "{% $states.context.Execution.Id %}",
    "state": "{% $states.context.State.Name %}",
    "entered": "{% $states.context.State.EnteredTime %}",
    "index": "{% $states.context.Map.Item.Index %}",
}
#: What a JSONata ``Output`` must build (whitespace aside) where the results go.
MAP_RESULTS_JSONATA: Final = (
    "{'sfn_offload_results': {'execution': $states.context.Execution.Id, "
    "'state': $states.context.State.Name, 'entered': $states.context.State.EnteredTime, "
    "'count': $count($states.result)}}"
)


def snippet(fields: Mapping[str, Any]) -> str:
    """Fields as they would be written inside an ASL object."""
    return ", ".join(
        f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items()
    )


def event_field(state: State) -> str:
    """Where a task's event is written: ``Parameters``, ``Arguments`` or their ``Payload``."""
    base = "Arguments" if state.language == "JSONata" else "Parameters"
    return f"{base}.Payload" if state.is_invoke else base


def event_source(state: State) -> object:
    """What a Lambda task's event is written from: its Parameters/Arguments or their Payload
    (None when the task receives its whole input)."""
    base = state.body.get("Arguments" if state.language == "JSONata" else "Parameters")
    if state.is_invoke and isinstance(base, Mapping):
        return base.get("Payload", base.get("Payload.$"))
    return base


def arn_fix(state: State, key: str) -> str:
    """How to pass the execution ARN to a Lambda task, in its own terms."""
    where, source = event_field(state), event_source(state)
    if state.language == "JSONata":
        if isinstance(source, Mapping):
            return f"set {snippet({key: '{% $states.context.Execution.Id %}'})} in {where}"
        expr = unwrap(source) if isinstance(source, str) else "$states.input"
        merged = f"{{% $merge([{expr}, {{'{key}': $states.context.Execution.Id}}]) %}}"
        return f"set {where} to {json.dumps(merged)}"
    field = snippet({f"{key}.$": "$$.Execution.Id"})
    if isinstance(source, Mapping):
        return f"set {field} in {where}"
    return f"give the task {where} with the fields it reads and {field}"


def map_run_fix(state: State) -> str:
    """The ``sfn_offload_map`` field of a Map's ``ItemSelector``."""
    run = MAP_RUN_JSONATA if state.language == "JSONata" else MAP_RUN_JSONPATH
    return f"add {snippet({MAP_RUN_KEY: run})} to the ItemSelector"


def map_results_fix(state: State) -> str:
    """Where the Map's results reference goes: ``ResultSelector`` or ``Output``."""
    if state.language == "JSONata":
        return (
            'build the results reference in Output, e.g. "{% $merge([$states.input, '
            f"{{'results': {MAP_RESULTS_JSONATA}}}]) %}}\""
        )
    return f'set "ResultSelector": {{{snippet({MAP_RESULTS_KEY: MAP_RESULTS_JSONPATH})}}}'


def inline_map_limit() -> int:
    """Iterations past which an element-reference Map's share falls below one pointer.

    Each decorated iteration then keeps ``room / N`` bytes of the Map's output, and a result
    offloaded whole is one pointer (measured on a realistic one, as the library measures).
    """
    key = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.9724030d:result:9f86d081884c7d659a2f"
    pointer = Pointer("dynamodb", "sfn-offload-state", key, 0, 183_211, "0" * 64, "json+gzip")
    size = state_size(dumps(pointer.to_dict(), where="example pointer"))
    room = STATE_LIMIT_BYTES - ENVELOPE_BYTES - MARGIN_BYTES
    return room // (size + 1)


_WHITESPACE: Final = re.compile(r"\s+")


def squash(text: str) -> str:
    """``text`` without whitespace, and with one kind of quote (to compare expressions)."""
    return _WHITESPACE.sub("", text).replace('"', "'")


#: ``sfn-offload:ignore=SO101,SO102`` or ``sfn-offload:max-items=500`` in a state's Comment.
_DIRECTIVE: Final = re.compile(r"sfn-offload:(ignore|max-items)=([\w,]+)")


def directives(state: State) -> dict[str, str]:
    """The ``sfn-offload:NAME=VALUE`` directives of a state's ``Comment``.

    >>> from ._asl import parse
    >>> machine = parse({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True,
    ...     "Comment": "small (sfn-offload:max-items=40)"}}})
    >>> directives(machine.states["A"])
    {'max-items': '40'}
    """
    comment = state.body.get("Comment")
    if not isinstance(comment, str):
        return {}
    return {m.group(1): m.group(2) for m in _DIRECTIVE.finditer(comment)}


def known_items(state: State) -> int | None:
    """How many iterations a Map runs, when the definition says: a ``max-items`` directive,
    or a literal ``Items`` array (JSONata)."""
    hint = directives(state).get("max-items", "")
    if hint.isdigit():
        return int(hint)
    items = state.body.get("Items")
    return len(items) if isinstance(items, list) else None
