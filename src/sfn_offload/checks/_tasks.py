"""Rules on Lambda tasks: the execution ARN (SO101, SO102) and narrowed inputs (SO401, SO402)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..budget import RESERVE_KEY, STATE_LIMIT_BYTES
from . import _jsonata as jsonata
from . import _jsonpath as jsonpath
from ._asl import Scope, State
from ._conventions import arn_fix, event_field, snippet
from ._findings import Finding, Severity
from ._flow import Facts
from ._values import Const, Data, Kind, Result, Value

__all__ = ["Options", "check_tasks", "origins"]


@dataclass(frozen=True)
class Options:
    """What the caller tells the check about the deployment."""

    execution_arn_key: str = "sfn_execution_arn"
    workflow_type: str = "standard"


def check_tasks(machine: Scope, facts: Facts, options: Options) -> Iterator[Finding]:
    """SO101, SO102, SO401 and SO402 for every Lambda task, and SO401/SO402 for every
    Parallel whose branches run Lambda tasks (their event is the Parallel's Parameters)."""
    for state in machine.walk():
        if state.is_lambda:
            yield from _execution_arn(state, facts, options.execution_arn_key)
            yield from _reserve(state, facts, facts.of(state).event or Data())
        elif state.type == "Parallel" and any(s.is_lambda for s in state.scope_walk()):
            branch = state.children[0]
            yield from _reserve(state, facts, facts.of(branch.states[branch.start]).input)


def origins(value: Value) -> str:
    """Where data that may be large comes from, in words.

    >>> from ._values import Kind
    >>> origins(frozenset({Kind.INPUT, Result("/States/A", "A")}))
    "the execution input and the result of 'A'"
    """
    names = [f"the result of {t.name!r}" for t in sorted(_results(value), key=lambda r: r.path)]
    if Kind.INPUT in value:
        names.insert(0, "the execution input")
    return " and ".join(names) or "data the definition does not show"


def _results(value: Value) -> list[Result]:
    return [t for t in value if isinstance(t, Result)]


def _arn_status(value: Value, good: Kind) -> str:
    if value == {good}:
        return "yes"
    return "unknown" if Kind.INPUT in value or _results(value) else "no"


def _execution_arn(state: State, facts: Facts, key: str) -> Iterator[Finding]:
    event = facts.of(state).event or Data()
    value = event.lookup(key)
    status = _arn_status(value, Kind.EXECUTION_ID)
    if status == "yes" or event.lookup("meta") == {Kind.IDENTITY_META}:
        return  # the key, or py2sfn's meta (only when the definition builds it)
    fix = arn_fix(state, key)
    if status == "unknown":
        yield Finding(
            state.path,
            state.name,
            Severity.INFO,
            "SO102",
            f"whether the event of {state.name!r} holds {key!r} depends on "
            f"{origins(value - {Kind.ABSENT})}, which the definition does not show",
            f"pass it explicitly: {fix}",
        )
        return
    yield Finding(
        state.path,
        state.name,
        Severity.WARNING,
        "SO101",
        f"the event of {state.name!r} {_arn_problem(value, key)}: StopExecution from this task "
        "fails, and its payloads are keyed by function instead of by execution",
        f"{fix} (handlers decorated with @state_offload(execution_arn_key=K) read K instead: "
        "check with --execution-arn-key K)",
    )


def _arn_problem(value: Value, key: str) -> str:
    if Kind.EXECUTION_ID in value:
        return f"lacks {key!r} on some paths to it"
    if value - {Kind.ABSENT}:
        return f"holds something other than $$.Execution.Id in {key!r}"
    return f"has no {key!r}"


def _reserve(state: State, facts: Facts, event: Data) -> Iterator[Finding]:
    found = facts.of(state)
    reserve = event.lookup(RESERVE_KEY)
    bad = [t.value for t in reserve if isinstance(t, Const) and not _is_byte_count(t.value)]
    if bad:
        yield Finding(
            state.path,
            state.name,
            Severity.ERROR,
            "SO402",
            f"{RESERVE_KEY} is {bad[0]!r}: the task fails with ConfigurationError",
            f"make it a whole number of bytes, 0 to {STATE_LIMIT_BYTES:,}",
        )
        return
    if reserve - {Kind.ABSENT}:
        return  # declared: the task budgets for what it cannot see
    unseen = _unseen_results(state, found.input, found.output)
    if unseen:
        yield _narrowed(state, unseen)


def _is_byte_count(value: object) -> bool:
    return type(value) is int and 0 <= value <= STATE_LIMIT_BYTES * 100


def _unseen_results(state: State, raw: Data, out: Data) -> dict[str, Value]:
    """Keys of the input holding produced data that the task does not get but its output
    keeps (Parameters narrowed the input, ResultPath merges the result back)."""
    jsonata_ = state.language == "JSONata"
    merged = _jsonata_merge(state, out) if jsonata_ else _jsonpath_merge(state)
    if merged is None:
        return {}
    passed, written = merged
    if passed is jsonpath.ALL:
        return {}
    keys = {**raw.fields, "*": raw.rest}
    return {k: v for k, v in keys.items() if k not in passed | written and _results(v)}


_Merge = tuple[frozenset[str] | None, frozenset[str]]


def _jsonpath_merge(state: State) -> _Merge | None:
    """(keys passed whole, key written) of a narrowing task whose ResultPath merges."""
    body = state.body
    path = body.get("ResultPath", "$")
    if path in ("$", None) or body.get("OutputPath", "$") != "$":
        return None
    narrowed = body.get("InputPath", "$") != "$"
    if "Parameters" not in body and not narrowed:
        return None
    params = body.get("Parameters", {})
    source = params.get("Payload", {}) if state.is_invoke else params
    passed = frozenset() if narrowed else jsonpath.passed_keys(source)
    written = jsonpath.result_key(path)
    return passed, frozenset({written} if written else ())


def _jsonata_merge(state: State, out: Data) -> _Merge | None:
    """The same for JSONata: Arguments narrow, an Output keeping $states.input merges."""
    body = state.body
    arguments = body.get("Arguments")
    if arguments is None or "Output" not in body:
        return None
    if jsonata.passed_keys(body["Output"]) is not jsonpath.ALL:
        return None  # the output does not keep the whole input
    if state.is_invoke and isinstance(arguments, dict):
        arguments = arguments.get("Payload")
    own = Result(state.path, state.name)
    written = frozenset(k for k, v in out.fields.items() if own in v)
    return jsonata.passed_keys(arguments), written


def _narrowed(state: State, unseen: dict[str, Value]) -> Finding:
    keys = sorted(unseen.items())
    where = " and ".join(
        ("other keys" if k == "*" else f"$.{k}") + f" ({origins(v - {Kind.ABSENT})})"
        for k, v in keys[:3]
    )
    if len(keys) > 3:
        where += f" and {len(keys) - 3} more"
    merge = "Output" if state.language == "JSONata" else "ResultPath"
    if state.language == "JSONata":
        declare = snippet({RESERVE_KEY: "{% $length($string($states.input)) %}"})
    else:
        declare = (
            f"{snippet({RESERVE_KEY: 160000})} (an upper bound of the bytes the task does not "
            "receive)"
        )
    if state.type == "Parallel":
        what = f"passes its branches part of its input, and its {merge} merges their results"
        who = "their tasks"
    else:
        what, who = f"receives part of its input, and its {merge} merges its result", "the task"
    # An error, not a warning: the state can fail with States.DataLimitExceeded, which no Catch
    # routes, and only the ASL knows the bytes (declare 0 when the unseen part is small).
    return Finding(
        state.path,
        state.name,
        Severity.ERROR,
        "SO401",
        f"{state.name!r} {what} back into the whole input, which also holds {where}: {who} "
        "cannot see those bytes, so the state may exceed 262,144 bytes "
        "(States.DataLimitExceeded)",
        f"add {declare} to {event_field(state)}, or decorate {who} with "
        "@state_offload(reserve_bytes=...)",
    )
