"""Rules on Map states: where the results go (SO201, SO204, SO205) and what every iteration's
input copies (SO202, SO203). What an iteration's last task must get is in :mod:`._iterations`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from ..wire.references import ELEMENT_LIST_KEY, MAP_RESULTS_KEY, MAP_RUN_KEY
from . import _jsonata as jsonata
from ._asl import Scope, State
from ._conventions import (
    MAP_RESULTS_JSONATA,
    MAP_RESULTS_JSONPATH,
    MAP_RUN_JSONATA,
    MAP_RUN_JSONPATH,
    inline_map_limit,
    known_items,
    map_results_fix,
    map_run_fix,
    snippet,
    squash,
)
from ._findings import Finding, Severity
from ._flow import Facts
from ._iterations import check_iteration_ends
from ._values import Data, Kind, Result, Thing

__all__ = ["builds_results", "check_maps", "holds", "stores_results"]

_INPUT_REF: Final = re.compile(r"\$states\.input((?:\.[\w\-]+)*)")


def check_maps(machine: Scope, facts: Facts) -> Iterator[Finding]:
    """SO201 to SO208 for every Map state."""
    for state in machine.walk():
        if state.type != "Map":
            continue
        yield from _copies(state)
        yield from _malformed(state)
        run, results = stores_results(state, facts), builds_results(state)
        if run != results:
            yield _half(state, run)
        if run:
            yield from check_iteration_ends(state, facts)
        elif not results:
            yield from _collected(state, facts)


def stores_results(state: State, facts: Facts) -> bool:
    """Whether the Map's iterations get ``sfn_offload_map`` (they store their results)."""
    scope = state.children[0]
    first = facts.of(scope.states[scope.start]).input
    return Kind.MAP_RUN in first.lookup(MAP_RUN_KEY)


def builds_results(state: State) -> bool:
    """Whether the Map replaces its output by an ``sfn_offload_results`` reference."""
    if state.language == "JSONata":
        return MAP_RESULTS_KEY in str(state.body.get("Output", ""))
    selector = state.body.get("ResultSelector") or {}
    return MAP_RESULTS_KEY in selector or f"{MAP_RESULTS_KEY}.$" in selector


def holds(data: Data, thing: Thing) -> bool:
    """Whether any key of ``data`` may hold ``thing``."""
    return any(thing in v for v in (*data.fields.values(), data.rest))


def _half(state: State, run: bool) -> Finding:
    if run:
        message = (
            f"the iterations of {state.name!r} get {MAP_RUN_KEY}, so they store their results "
            "and return their index, but the Map's output is not replaced by a results "
            "reference: the next task gets [0, 1, ...] instead of the results"
        )
        fix = map_results_fix(state)
    else:
        message = (
            f"{state.name!r} builds {MAP_RESULTS_KEY} but its iterations get no {MAP_RUN_KEY}: "
            "nothing is stored for the run, and the next decorated task fails with "
            "MapRunFailedError"
        )
        fix = map_run_fix(state)
    return Finding(state.path, state.name, Severity.ERROR, "SO204", message, fix)


def _collected(state: State, facts: Facts) -> Iterator[Finding]:
    """SO201: iteration results collected in the Map's output, growing with N."""
    scope = state.children[0]
    own = Result(state.path, state.name)
    iteration = facts.outputs.get(scope.path, Data())
    inner = any(
        isinstance(t, Result) and t.path.startswith(scope.path + "/")
        for v in (*iteration.fields.values(), iteration.rest)
        for t in v
    )
    has_lambda = any(s.is_lambda for s in scope.walk())
    if "ResultWriter" in state.body or not holds(facts.of(state).output, own):
        return  # the results go to S3, or the Map drops them
    if not (inner and has_lambda):
        return
    limit, count = inline_map_limit(), known_items(state)
    if _element_reference(state):
        if count is not None and count <= limit:
            return
        message = (
            f"{state.name!r} collects its iterations' results in its output: each decorated "
            f"iteration keeps 1/N of the 262,144 bytes, so above about {limit:,} iterations "
            "they fail with StateShapeError"
        )
    else:
        message = (
            f"{state.name!r} collects its iterations' results in its output, and its tasks "
            "cannot know how many there are: once the results together pass 262,144 bytes the "
            "Map fails with States.DataLimitExceeded, which no Catch can route"
        )
    severity = Severity.ERROR if count is not None and count > limit else Severity.WARNING
    fix = f"store the results for the Map run: {map_run_fix(state)}, and {map_results_fix(state)}"
    yield Finding(state.path, state.name, severity, "SO201", message, fix + " (docs/maps.md)")


def _element_reference(state: State) -> bool:
    text = str(state.body.get("ItemSelector", state.body.get("Parameters", "")))
    return ELEMENT_LIST_KEY in text or "items_result_" in text


# --------------------------------------------------------------------------------------------
# what every iteration's input copies
# --------------------------------------------------------------------------------------------


def _copies(state: State) -> Iterator[Finding]:
    """SO202 and SO203: ItemSelector fields whose size grows with the list."""
    items = _items_path(state)
    for where, key, path in _selector_paths(state):
        if key == ELEMENT_LIST_KEY and not path.endswith(".ref") and path != "$$":
            yield _whole_pointer(state, where, path)
        elif items is not None and key != ELEMENT_LIST_KEY and _covers(path, items):
            yield _whole_list(state, where, path, items)


def _items_path(state: State) -> str | None:
    """The list the Map iterates over, as a JSONPath (``$.a.b``), when it is in the input."""
    if "ItemReader" in state.body:
        return None
    if state.language == "JSONPath":
        path = state.body.get("ItemsPath", "$")
        return path if isinstance(path, str) else None
    expr = jsonata.unwrap(state.body.get("Items", "{% $states.input %}"))
    match = _INPUT_REF.fullmatch(expr or "")
    return "$" + match.group(1) if match else None


def _selector_paths(state: State) -> Iterator[tuple[str, str, str]]:
    """(where, key, JSONPath) of every ItemSelector field that reads the Map's input."""
    selector = state.body.get("ItemSelector", state.body.get("Parameters"))
    yield from _fields(selector, "ItemSelector", state.language)


def _fields(body: Any, where: str, language: str) -> Iterator[tuple[str, str, str]]:
    if not isinstance(body, Mapping):
        return
    for key, raw in body.items():
        if isinstance(raw, Mapping):
            yield from _fields(raw, f"{where}.{key}", language)
        elif language == "JSONPath" and key.endswith(".$") and isinstance(raw, str):
            if raw.startswith("$") and not raw.startswith("$$"):
                yield f"{where}.{key}", key[:-2], raw
        elif language == "JSONata":
            expr = jsonata.unwrap(raw)
            match = _INPUT_REF.fullmatch(expr) if expr is not None else None
            if match is not None:
                yield f"{where}.{key}", key, "$" + match.group(1)


def _covers(path: str, items: str) -> bool:
    """Whether ``path`` is the list ``items`` or an object holding it."""
    return path in ("$", items) or items.startswith((path + ".", path + "["))


def _as_written(state: State, path: str) -> str:
    return "{% $states.input" + path[1:] + " %}" if state.language == "JSONata" else path


def _whole_pointer(state: State, where: str, path: str) -> Finding:
    key = ELEMENT_LIST_KEY if state.language == "JSONata" else f"{ELEMENT_LIST_KEY}.$"
    return Finding(
        state.path,
        state.name,
        Severity.WARNING,
        "SO202",
        f"{where} is {_as_written(state, path)!r}, the whole list pointer with its 'items' "
        "array of one placeholder per element: every iteration's input grows with N, N² "
        "bytes in all",
        "pass the pointer's constant-size copy: "
        + snippet({key: _as_written(state, path + ".ref")}),
    )


def _whole_list(state: State, where: str, path: str, items: str) -> Finding:
    what = "the list" if path == items else "an object holding the list"
    return Finding(
        state.path,
        state.name,
        Severity.WARNING,
        "SO203",
        f"{where} copies {_as_written(state, path)!r}, {what} the Map iterates over "
        f"({_as_written(state, items)}), into every iteration: each input grows with N, N² "
        "bytes in all (a pointer there is loaded whole by every iteration)",
        "give each iteration only its element ($$.Map.Item.Value, or an element reference "
        f'{{"{ELEMENT_LIST_KEY}.$": "<list pointer>.ref", "sfn_offload_index.$": '
        '"$$.Map.Item.Index"}) and drop this field',
    )


# --------------------------------------------------------------------------------------------
# the convention objects themselves
# --------------------------------------------------------------------------------------------


def _malformed(state: State) -> Iterator[Finding]:
    """SO205: sfn_offload_map / sfn_offload_results written otherwise than documented."""
    problems = _run_problems(state) + _results_problems(state)
    for where, expected in problems:
        yield Finding(
            state.path,
            state.name,
            Severity.ERROR,
            "SO205",
            f"{where} is not the documented object: the task that reads it fails with PointerError",
            f"write it exactly as docs/maps.md shows: {expected}",
        )


def _run_problems(state: State) -> list[tuple[str, str]]:
    selector = state.body.get("ItemSelector", state.body.get("Parameters"))
    if not isinstance(selector, Mapping):
        return []
    expected = MAP_RUN_JSONATA if state.language == "JSONata" else MAP_RUN_JSONPATH
    wanted = snippet({MAP_RUN_KEY: expected})
    if f"{MAP_RUN_KEY}.$" in selector:
        return [(f"ItemSelector.{MAP_RUN_KEY}.$", wanted)]
    found = selector.get(MAP_RUN_KEY)
    if found is None or _same(found, expected):
        return []
    return [(f"ItemSelector.{MAP_RUN_KEY}", wanted)]


def _same(found: object, expected: Mapping[str, str]) -> bool:
    if not isinstance(found, Mapping) or set(found) != set(expected):
        return False
    return all(isinstance(v, str) and squash(v) == squash(expected[k]) for k, v in found.items())


def _results_problems(state: State) -> list[tuple[str, str]]:
    if state.language == "JSONata":
        output = state.body.get("Output")
        text = squash(output) if isinstance(output, str) else ""
        if MAP_RESULTS_KEY not in text or squash(MAP_RESULTS_JSONATA) in text:
            return []
        return [("Output", MAP_RESULTS_JSONATA)]
    selector = state.body.get("ResultSelector") or {}
    if MAP_RESULTS_KEY not in selector and f"{MAP_RESULTS_KEY}.$" not in selector:
        return []
    expected = {MAP_RESULTS_KEY: MAP_RESULTS_JSONPATH}
    if set(selector) == {MAP_RESULTS_KEY} and _same(
        selector[MAP_RESULTS_KEY], MAP_RESULTS_JSONPATH
    ):
        return []
    return [("ResultSelector", "{" + snippet(expected) + "} and nothing else")]
