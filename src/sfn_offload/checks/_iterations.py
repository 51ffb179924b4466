"""Rules on a Map whose iterations store their results (``sfn_offload_map``): the iteration's
last Lambda task must get it (SO206), a nested Map cannot be the last step (SO207), and earlier
tasks must not get it (SO208)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..wire.references import MAP_RUN_KEY
from ._asl import Scope, State
from ._conventions import event_field, snippet
from ._findings import Finding, Severity
from ._flow import Facts
from ._values import Data, Kind

__all__ = ["LastSteps", "check_iteration_ends", "last_steps"]


@dataclass
class LastSteps:
    """What an iteration may run last, on each path to its end."""

    tasks: list[State] = field(default_factory=list)  # Lambda tasks
    maps: list[State] = field(default_factory=list)  # nested Maps after the last Lambda task
    bare: list[State] = field(default_factory=list)  # ends reached without a Lambda task


def last_steps(scope: Scope) -> LastSteps:
    """Walk back from every end of ``scope`` to the Lambda task (or Map) that runs last."""
    preds: dict[str, list[State]] = {name: [] for name in scope.states}
    for state in scope.states.values():
        for target in state.successors() + [c["Next"] for c in state.catchers()]:
            preds[target].append(state)
    found = LastSteps()
    for end in scope.states.values():
        if end.body.get("End") is not True and end.type != "Succeed":
            continue
        stack, seen = [end], set()
        while stack:
            state = stack.pop()
            if state.name in seen:
                continue
            seen.add(state.name)
            if state.is_lambda or state.type == "Map":
                bucket = found.tasks if state.is_lambda else found.maps
                if state not in bucket:
                    bucket.append(state)
                continue
            if state.name == scope.start and end not in found.bare:
                found.bare.append(end)
            stack.extend(preds[state.name])
    return found


def check_iteration_ends(state: State, facts: Facts) -> Iterator[Finding]:
    """SO206, SO207 and SO208 for a Map whose ItemSelector passes sfn_offload_map."""
    scope = state.children[0]
    last = last_steps(scope)
    for end in last.bare:
        yield Finding(
            end.path,
            end.name,
            Severity.ERROR,
            "SO206",
            f"an iteration of {state.name!r} can end at {end.name!r} without running a Lambda "
            "task: it stores no result for the Map run, and the task after the Map fails with "
            "MapRunFailedError",
            f"make every path of the iteration end with a decorated Lambda task before "
            f"{end.name!r}",
        )
    for task in last.tasks:
        event = facts.of(task).event or Data()
        if event.lookup(MAP_RUN_KEY) != {Kind.MAP_RUN}:
            yield _last_without_run(state, task, event)
    for inner in last.maps:
        yield _nested_last(state, inner)
    yield from _earlier_with_run(state, scope, last, facts)


def _pass_run(task: State) -> str:
    if task.language == "JSONata":
        field = {MAP_RUN_KEY: "{% $states.input." + MAP_RUN_KEY + " %}"}
    else:
        field = {f"{MAP_RUN_KEY}.$": f"$.{MAP_RUN_KEY}"}
    return f"add {snippet(field)} to its {event_field(task)}"


def _last_without_run(state: State, task: State, event: Data) -> Finding:
    some = " on some paths" if Kind.MAP_RUN in event.lookup(MAP_RUN_KEY) else ""
    return Finding(
        task.path,
        task.name,
        Severity.ERROR,
        "SO206",
        f"{task.name!r} runs last in an iteration of {state.name!r} but gets no "
        f"{MAP_RUN_KEY}{some}: it returns its result into the Map's output instead of storing "
        "it, and the task after the Map fails with MapRunFailedError",
        _pass_run(task),
    )


def _nested_last(state: State, inner: State) -> Finding:
    return Finding(
        inner.path,
        inner.name,
        Severity.ERROR,
        "SO207",
        f"nested Map {inner.name!r} is the last step of an iteration of {state.name!r}, whose "
        f"iterations get {MAP_RUN_KEY}: no task stores the outer iteration's result, so the "
        f"task after {state.name!r} fails with MapRunFailedError",
        f"add a decorated Lambda task after {inner.name!r} in the iteration: it receives the "
        f"inner Map's results and stores its own for the run of {state.name!r} (docs/maps.md, "
        "Nested Maps)",
    )


def _earlier_with_run(
    state: State, scope: Scope, last: LastSteps, facts: Facts
) -> Iterator[Finding]:
    for task in scope.states.values():
        if not task.is_lambda or task in last.tasks:
            continue
        event = facts.of(task).event or Data()
        if Kind.MAP_RUN not in event.lookup(MAP_RUN_KEY) or _drops_result(task):
            continue
        yield Finding(
            task.path,
            task.name,
            Severity.ERROR,
            "SO208",
            f"{task.name!r} gets {MAP_RUN_KEY} but is not the last task of an iteration of "
            f"{state.name!r}: it stores its result for the Map run and returns only its index, "
            "so the states after it get a number instead of its result",
            f"give {task.name!r} its own {event_field(task)} without {MAP_RUN_KEY} (only the "
            "iteration's last task gets it)",
        )


def _drops_result(task: State) -> bool:
    if task.language == "JSONata":
        output = task.body.get("Output")
        return isinstance(output, str) and "$states.result" not in output
    return "ResultPath" in task.body and task.body["ResultPath"] is None
