"""Rules on Parallel states: each branch task whose result is part of the Parallel's output
budgets for its share of the limit (SO301, SO302)."""

from __future__ import annotations

from collections.abc import Iterator

from ..budget import SIBLINGS_KEY
from ._asl import Scope, State
from ._conventions import event_field, snippet
from ._findings import Finding, Severity
from ._flow import Facts
from ._values import Const, Data, Kind, Result

__all__ = ["check_parallels"]


def check_parallels(machine: Scope, facts: Facts) -> Iterator[Finding]:
    """SO301 and SO302 for every Parallel of two branches or more."""
    for state in machine.walk():
        if state.type != "Parallel" or len(state.children) < 2:
            continue
        for branch in state.children:
            for task in _reaching_output(branch, facts):
                yield from _share(state, task, facts)


def _reaching_output(branch: Scope, facts: Facts) -> list[State]:
    """The branch's Lambda tasks whose result may be part of the branch's output."""
    out = facts.outputs.get(branch.path, Data())
    produced = {
        t.path for v in (*out.fields.values(), out.rest) for t in v if isinstance(t, Result)
    }
    return [s for s in branch.states.values() if s.is_lambda and s.path in produced]


def _share(parallel: State, task: State, facts: Facts) -> Iterator[Finding]:
    branches = len(parallel.children)
    value = (facts.of(task).event or Data()).lookup(SIBLINGS_KEY)
    consts = [t.value for t in value if isinstance(t, Const)]
    low = [c for c in consts if type(c) is not int or c < branches]
    if low:
        yield Finding(
            task.path,
            task.name,
            Severity.ERROR,
            "SO302",
            f"{task.name!r} gets {SIBLINGS_KEY} = {low[0]!r}, but {parallel.name!r} has "
            f"{branches} branches: their results together may exceed 262,144 bytes",
            f"set {snippet({SIBLINGS_KEY: branches})} in the {_parallel_field(parallel)} of "
            f"{parallel.name!r}",
        )
    elif not value - {Kind.ABSENT}:
        yield Finding(
            task.path,
            task.name,
            Severity.WARNING,
            "SO301",
            f"the result of {task.name!r} is part of the output of {parallel.name!r}, the list of "
            f"its {branches} branches' outputs, but the task gets no {SIBLINGS_KEY}: it budgets "
            "as if alone, so the branches together may exceed 262,144 bytes "
            "(States.DataLimitExceeded)",
            _share_fix(parallel, task, branches),
        )


def _parallel_field(parallel: State) -> str:
    return "Arguments" if parallel.language == "JSONata" else "Parameters"


def _share_fix(parallel: State, task: State, branches: int) -> str:
    field = snippet({SIBLINGS_KEY: branches})
    has_own = "Arguments" in task.body or "Parameters" in task.body
    if has_own:
        return f"add {field} to the {event_field(task)} of {task.name!r}"
    return f"add {field} to the {_parallel_field(parallel)} of {parallel.name!r}"
