"""Data flow: what each state's input, event and output may hold (see :mod:`._values`).

Each scope is solved as a fixpoint over its transitions (``Next``, a Choice's targets,
``Catch``), starting from the execution input (unknown), a Map's ``ItemSelector`` or a
Parallel's ``Parameters``/``Arguments``; a Map's or Parallel's scopes are solved once their
owner's input is final.

>>> from ._asl import parse
>>> machine = parse({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${t}",
...     "Parameters": {"sfn_execution_arn.$": "$$.Execution.Id"}, "End": True}}})
>>> facts = analyze(machine)
>>> facts.of(machine.states["T"]).event.lookup("sfn_execution_arn") == {Kind.EXECUTION_ID}
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..wire.references import MAP_RUN_KEY
from . import _jsonata as jsonata
from . import _jsonpath as jsonpath
from ._asl import Scope, State
from ._values import (
    SMALL,
    UNKNOWN_INPUT,
    Data,
    Kind,
    Result,
    Value,
    as_data,
    coarse,
    join,
    literal_data,
    summary,
)

__all__ = ["Facts", "StateFacts", "analyze"]

_ERROR: Final = Data({"Error": SMALL, "Cause": SMALL})
#: Rounds over a scope before giving up (a safety net: the sets only grow, so they settle).
_MAX_ROUNDS: Final = 1_000


@dataclass(frozen=True)
class StateFacts:
    """What one state may receive and produce."""

    input: Data  # the state's input
    event: Data | None  # a Lambda task's event (after Parameters/Arguments/Payload)
    output: Data


@dataclass
class Facts:
    """The solution: facts per state pointer, and each scope's output (its last states')."""

    states: dict[str, StateFacts] = field(default_factory=dict)
    outputs: dict[str, Data] = field(default_factory=dict)

    def of(self, state: State) -> StateFacts:
        """The facts of a state; a state no path reaches gets the unknown input."""
        unknown = Data({}, UNKNOWN_INPUT)
        return self.states.get(state.path, StateFacts(unknown, unknown, unknown))


def analyze(machine: Scope) -> Facts:
    """Solve the whole definition, the execution's input being unknown."""
    facts = Facts()
    _solve(machine, Data({}, UNKNOWN_INPUT), facts)
    return facts


def _solve(scope: Scope, initial: Data, facts: Facts) -> None:
    # Rounds over the states in reverse postorder: a loop's head gets what every round trip
    # adds before it is solved again, so a few rounds settle it.
    order = _reverse_postorder(scope)
    inputs = {scope.start: initial}
    for _ in range(_MAX_ROUNDS):
        changed = False
        for state in order:
            if state.name not in inputs:
                continue
            raw = inputs[state.name]
            event, out = transfer(state, raw)
            facts.states[state.path] = StateFacts(raw, event, out)
            for target, data in _edges(state, raw, out):
                new = join(inputs[target], data) if target in inputs else data
                if inputs.get(target) != new:
                    inputs[target], changed = new, True
        if not changed:
            break
    ends = [facts.states[s.path].output for s in scope.states.values() if _ends(s, facts)]
    facts.outputs[scope.path] = _join_all(ends)
    for state in scope.states.values():
        if state.children and state.path in facts.states:
            starts = _child_inputs(state, inputs[state.name])
            for child, start in zip(state.children, starts, strict=True):
                _solve(child, start, facts)


def _edges(state: State, raw: Data, out: Data) -> list[tuple[str, Data]]:
    edges = [(n, out) for n in state.successors()]
    return edges + [(c["Next"], _caught(state, c, raw)) for c in state.catchers()]


def _reverse_postorder(scope: Scope) -> list[State]:
    seen: set[str] = set()
    post: list[State] = []
    stack = [(scope.states[scope.start], False)]
    while stack:
        state, done = stack.pop()
        if done:
            post.append(state)
            continue
        if state.name in seen:
            continue
        seen.add(state.name)
        stack.append((state, True))
        targets = state.successors() + [c["Next"] for c in state.catchers()]
        stack.extend((scope.states[t], False) for t in reversed(targets) if t not in seen)
    return post[::-1]


def _ends(state: State, facts: Facts) -> bool:
    ends = state.body.get("End") is True or state.type == "Succeed"
    return ends and state.path in facts.states


def _join_all(datas: list[Data]) -> Data:
    if not datas:
        return Data()
    out = datas[0]
    for data in datas[1:]:
        out = join(out, data)
    return out


def transfer(state: State, raw: Data) -> tuple[Data | None, Data]:
    """A state's Lambda event (None for other states) and its output, given its input."""
    if state.language == "JSONata":
        return _jsonata_state(state, raw)
    return _jsonpath_state(state, raw)


def _jsonpath_state(state: State, raw: Data) -> tuple[Data | None, Data]:
    body = state.body
    effective = jsonpath.select(raw, body.get("InputPath", "$"))
    if state.type in ("Choice", "Wait", "Succeed", "Fail"):
        return None, jsonpath.select(effective, body.get("OutputPath", "$"))
    params = body.get("Parameters") if state.type != "Map" else None
    event = jsonpath.template(params, jsonpath.Env(effective)) if params is not None else effective
    if state.type == "Pass":
        result: Data | Value = literal_data(body["Result"]) if "Result" in body else event
        return None, _jsonpath_finish(raw, result, body)
    task_event = None
    if state.type == "Task":
        if state.is_invoke:
            event = _data(_jsonpath_payload(params or {}, jsonpath.Env(effective)))
        task_event = event if state.is_lambda else None
        result = _task_result(state, event)
    else:
        result = _collected(state)
    if "ResultSelector" in body:
        result = jsonpath.template(body["ResultSelector"], jsonpath.Env(_data(result)))
    return task_event, _jsonpath_finish(raw, result, body)


def _jsonpath_finish(raw: Data, result: Data | Value, body: Mapping[str, Any]) -> Data:
    out = jsonpath.place(raw, result, body.get("ResultPath", "$"))
    return jsonpath.select(out, body.get("OutputPath", "$"))


def _jsonpath_payload(params: Mapping[str, Any], env: jsonpath.Env) -> Data | Value:
    if isinstance(params.get("Payload.$"), str):
        return jsonpath.path_value(params["Payload.$"], env)
    payload = params.get("Payload")
    if isinstance(payload, Mapping):
        return jsonpath.template(payload, env)
    return Data()  # no Payload: the function gets an empty event


def _jsonata_state(state: State, raw: Data) -> tuple[Data | None, Data]:
    body = state.body
    if state.type in ("Choice", "Wait", "Succeed", "Fail", "Pass"):
        out = jsonata.value(body["Output"], jsonata.Env(raw)) if "Output" in body else raw
        return None, _data(out)
    task_event = None
    if state.type == "Task":
        event = _jsonata_event(state, raw)
        task_event = event if state.is_lambda else None
        result = _data(_task_result(state, event))
    else:
        result = _data(_collected(state))
    if "Output" not in body:
        return task_event, result
    return task_event, _data(jsonata.value(body["Output"], jsonata.Env(raw, result)))


def _jsonata_event(state: State, raw: Data) -> Data:
    arguments = state.body.get("Arguments")
    env = jsonata.Env(raw)
    if not state.is_invoke:
        return _data(jsonata.value(arguments, env)) if arguments is not None else raw
    if isinstance(arguments, Mapping):
        return _data(jsonata.value(arguments["Payload"], env)) if "Payload" in arguments else Data()
    whole = jsonata.value(arguments, env) if arguments is not None else Data()
    return _data(whole.lookup("Payload")) if isinstance(whole, Data) else as_data(whole)


def _task_result(state: State, event: Data) -> Data | Value:
    """A task's result before ResultSelector: unknown data it produced."""
    produced: Value = frozenset({Result(state.path, state.name)})
    if state.is_lambda and event.lookup(MAP_RUN_KEY) == {Kind.MAP_RUN}:
        produced = SMALL  # it stores its result for the Map run and returns its index
    if state.is_invoke:  # the lambda:invoke envelope
        envelope = ("StatusCode", "ExecutedVersion", "SdkHttpMetadata", "SdkResponseMetadata")
        return Data({"Payload": produced, **dict.fromkeys(envelope, SMALL)})
    return produced


def _collected(state: State) -> Value:
    """A Map's or Parallel's result: the list of what its iterations or branches returned."""
    if "ResultWriter" in state.body:
        return SMALL  # ResultWriterDetails: the results are in S3
    return frozenset({Result(state.path, state.name)})


def _caught(state: State, catcher: Mapping[str, Any], raw: Data) -> Data:
    if state.language == "JSONata":
        output = catcher.get("Output")
        return _data(jsonata.value(output, jsonata.Env(raw, _ERROR))) if output else _ERROR
    return jsonpath.place(raw, _ERROR, catcher.get("ResultPath", "$"))


def _child_inputs(state: State, raw: Data) -> list[Data]:
    """The first input of each scope inside a Map (one iteration) or a Parallel (each branch)."""
    body = state.body
    if state.type == "Parallel":
        if state.language == "JSONata":
            args = body.get("Arguments")
            start = _data(jsonata.value(args, jsonata.Env(raw))) if args is not None else raw
        else:
            effective = jsonpath.select(raw, body.get("InputPath", "$"))
            params = body.get("Parameters")
            start = (
                jsonpath.template(params, jsonpath.Env(effective))
                if params is not None
                else effective
            )
        return [start] * len(state.children)
    return [_iteration_input(state, raw)]


def _iteration_input(state: State, raw: Data) -> Data:
    body = state.body
    selector = body.get("ItemSelector", body.get("Parameters"))
    if state.language == "JSONata":
        items = body.get("Items")
        found = jsonata.value(items, jsonata.Env(raw)) if items is not None else raw
        item = frozenset({Kind.INPUT}) if "ItemReader" in body else _whole(found)
        if selector is None:
            return as_data(item)
        return _data(jsonata.value(selector, jsonata.Env(raw, item=item)))
    effective = jsonpath.select(raw, body.get("InputPath", "$"))
    found = jsonpath.path_value(body.get("ItemsPath") or "$", jsonpath.Env(effective))
    item = frozenset({Kind.INPUT}) if "ItemReader" in body else _whole(found)
    if isinstance(selector, Mapping):
        return jsonpath.template(selector, jsonpath.Env(effective, item))
    return as_data(item)


def _whole(found: Data | Value) -> Value:
    return summary(found) if isinstance(found, Data) else coarse(found)


def _data(found: Data | Value) -> Data:
    return found if isinstance(found, Data) else as_data(found)
