"""How offload measures a result: the same parts as measuring every subtree, for about one
serialization's work, growing linearly with size and sibling count, at any depth.

Work is counted, never timed: the Python and C calls ``offload_result`` makes (``sys.setprofile``)
and the bytes it serializes. Timings are ``make bench``'s job.
"""

from __future__ import annotations

import collections
import copy
import decimal
import gc
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import memory_repo
from sfn_offload import PayloadTooLargeError, fan_out, hydrate
from sfn_offload import _fan_out as fan_out_module
from sfn_offload import _sizing as sizing_module
from sfn_offload.errors import PayloadEncodingError
from sfn_offload.steps import offload_result
from sfn_offload.wire import Pointer, is_pointer
from sfn_offload.wire.codec import dumps, dumps_members, state_size
from sfn_offload.wire.paths import Path, get

NAMESPACE = "run-7.0badc0de"
MIN_PART = 1024

# --------------------------------------------------------------------------------------------
# the specification: every subtree measured, largest first
# --------------------------------------------------------------------------------------------


def _subtrees(node: Any, path: Path = ()) -> Iterator[tuple[int, Path]]:
    """``(state size, path)`` of every subtree worth a pointer, children before parents (the
    document order of equal depths). A list of scalars is one part."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _subtrees(value, (*path, key))
    elif isinstance(node, list) and any(isinstance(v, dict | list) for v in node):
        for i, value in enumerate(node):
            yield from _subtrees(value, (*path, i))
    if isinstance(node, dict | list | str):
        size = state_size(dumps(node))
        if size >= MIN_PART:
            yield size, path


def _pointer_cost(namespace: str, path: Path, table: str, bucket: str) -> int:
    """The bound the specification charges a pointer: the worst pointer's JSON, spaced."""
    hint = re.sub(r"[^A-Za-z0-9._\-]+", "_", ".".join(str(p) for p in path) or "result")[:40]
    key = f"sfn-offload/{namespace}:{hint}:{'0' * 20}/0"
    worst = Pointer("dynamodb", max(table, bucket, key=len), key, 0, 10**12, "0" * 64, "json+gzip")
    return state_size(json.dumps(worst.to_dict()).encode()) + 8


def specified_parts(result: Any, budget: int, keep: Sequence[Path]) -> list[Path] | None:
    """The parts the specification offloads: every subtree of at least 1 KiB, largest first
    (ties: shallower, then earlier), skipping the root, keep paths, their ancestors and what is
    inside or around a chosen part, until the rest fits. ``None``: nothing smaller fits."""
    total = state_size(dumps(result))
    ranked = sorted(_subtrees(result), key=lambda c: (-c[0], len(c[1])))
    chosen: list[Path] = []
    for size, path in ranked:
        if total <= budget:
            break
        if not path or any(k[: len(path)] == path or path[: len(k)] == k for k in keep):
            continue
        if any(path[: len(p)] == p or p[: len(path)] == path for p in chosen):
            continue
        chosen.append(path)
        total -= size - _pointer_cost(NAMESPACE, path, "state-table", "state-bucket")
    return chosen if total <= budget else None


def _pointer_paths(node: Any, path: Path = ()) -> set[Path]:
    if is_pointer(node):
        return {path}
    if isinstance(node, dict):
        return {p for k, v in node.items() for p in _pointer_paths(v, (*path, k))}
    if isinstance(node, list):
        return {p for i, v in enumerate(node) for p in _pointer_paths(v, (*path, i))}
    return set()


def _all_paths(node: Any, path: Path = ()) -> Iterator[Path]:
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _all_paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _all_paths(v, (*path, i))


BIG_TEXT = st.builds(
    lambda n, c: c * n, st.integers(0, 5_000), st.sampled_from(["a", "é", ",", ":", '"'])
)
LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=4) | BIG_TEXT
VALUES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text("ab1", max_size=2), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(value=VALUES, budget=st.integers(300, 30_000), data=st.data())
def test_offload_chooses_the_parts_the_specification_chooses(
    value: Any, budget: int, data: st.DataObject
) -> None:
    """GIVEN any JSON value, a budget and keep_inline paths drawn from the value
    WHEN it is offloaded
    THEN exactly the parts the every-subtree specification picks become pointers (or the whole
    result, or PayloadTooLargeError when keep paths cannot fit), and the inline size reported is
    the size of what is returned."""
    paths = sorted(set(_all_paths(value)), key=repr)
    keep = data.draw(st.lists(st.sampled_from(paths), max_size=2)) if paths else []
    repo = memory_repo()
    expected = specified_parts(value, budget, keep)
    if expected is None and keep:
        with pytest.raises(PayloadTooLargeError):
            offload_result(value, repo, namespace=NAMESPACE, budget=budget, keep_inline=keep)
        return

    done = offload_result(value, repo, namespace=NAMESPACE, budget=budget, keep_inline=keep)

    assert done.stats.result_bytes == state_size(dumps(value))
    assert done.stats.inline_bytes == state_size(dumps(done.result))
    if expected is None:
        assert done.stats.whole_result
        assert is_pointer(done.result)
    else:
        assert not done.stats.whole_result
        assert _pointer_paths(done.result) == set(expected)
        for path in expected:
            assert get(done.result, path)["size"] >= len(dumps(get(value, path)))
    assert hydrate(done.result, repo) == value


@pytest.mark.parametrize(
    ("result", "keep", "leaves"),
    [
        # equal sizes: the earlier in the document leaves first
        ({"a": "x" * 3_000, "b": "y" * 3_000, "c": "z" * 3_000}, [], [("a",)]),
        ([{"k": "x" * 3_000}, {"k": "y" * 3_000}, {"k": "z" * 3_000}], [], [(0,)]),
        # equal sizes at two depths: the shallower leaves first
        ({"in": {"a": "x" * 3_000}, "b": "y" * 3_005}, [("in", "z")], [("b",)]),
    ],
)
def test_ties_go_to_the_earlier_and_the_shallower_part(
    result: Any, keep: list[Path], leaves: list[Path]
) -> None:
    budget = state_size(dumps(result)) - 2_000  # one part must leave
    assert specified_parts(result, budget, keep) == leaves
    done = offload_result(
        result, memory_repo(), namespace=NAMESPACE, budget=budget, keep_inline=keep
    )
    assert _pointer_paths(done.result) == set(leaves)


# --------------------------------------------------------------------------------------------
# members measured one by one add up to the whole
# --------------------------------------------------------------------------------------------

Point = collections.namedtuple("Point", "x y")


def _assembled(container: Any) -> bytes:
    members = dumps_members(container)
    if isinstance(container, dict):
        return b"{" + b",".join(k + b":" + v for k, v in members) + b"}"
    return b"[" + b",".join(v for _, v in members) + b"]"


@pytest.mark.parametrize(
    "container",
    [
        {"a": 1, "b": [1.5, None, True], "c": "é\u2028", 2: "int key", 1.5: "float key"},
        {"price": decimal.Decimal("1.10"), "point": Point(1, 2), b"k": b"bytes"},
        [Point(1, 2), (1, 2), {"nested": [decimal.Decimal("1E+2")]}],
        # Large enough for the C encoder to return its text in several chunks.
        {"rows": [{"id": i, "name": f"row {i}", "score": i / 7} for i in range(60_000)]},
        [[i, str(i)] for i in range(60_000)],
        {},
        [],
    ],
    ids=["plain", "runtime-types", "runtime-types-in-list", "large", "large-list", "{}", "[]"],
)
def test_members_written_one_by_one_are_the_bytes_of_the_whole(container: Any) -> None:
    """GIVEN a container (plain JSON types, or types the runtime writes its own way)
    WHEN its members are serialized one by one
    THEN put back together they are exactly what dumps writes for the whole."""
    assert _assembled(container) == dumps(container)


@pytest.mark.parametrize(
    ("container", "message"),
    [
        ({"ok": 1, "bad": float("nan")}, r"\$\.bad is NaN"),
        ([1, {"when": {1, 2}}], r"\$\[1\]\.when is of type set"),
        ({"s": "\ud800"}, r"\$\.s holds a lone surrogate"),
    ],
)
def test_members_that_json_cannot_carry_are_refused_naming_the_path(
    container: Any, message: str
) -> None:
    with pytest.raises(PayloadEncodingError, match=message):
        dumps_members(container, where="handler result")


def test_a_cyclic_result_is_refused_cleanly_even_while_a_fan_out_list_is_alive() -> None:
    """GIVEN a result that contains itself, while a FanOut list exists in the process
    WHEN it is offloaded
    THEN PayloadEncodingError (the fan-out search and the measuring both end)."""
    alive = fan_out([1, 2])
    result: dict[str, Any] = {"big": "x" * 5_000}
    result["self"] = result
    with pytest.raises(PayloadEncodingError):
        offload_result(result, memory_repo(), namespace=NAMESPACE, budget=2_000)
    assert alive == [1, 2]


# --------------------------------------------------------------------------------------------
# depth
# --------------------------------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


def test_a_result_nested_beyond_the_limit_is_refused_with_a_typed_error() -> None:
    """GIVEN a large result holding a part nested 5,000 levels deep
    WHEN it is offloaded (over budget, so it is measured part by part)
    THEN PayloadEncodingError says it is nested too deeply: no RecursionError."""
    result = {"big": "x" * 300_000, "deep": _nested(5_000)}
    with pytest.raises(PayloadEncodingError, match="nested too deeply"):
        offload_result(result, memory_repo(), namespace=NAMESPACE, budget=100_000)


def test_a_result_nested_deep_but_within_the_limit_is_offloaded_and_reads_back() -> None:
    """GIVEN a result over budget whose parts are nested 400 levels deep (the codec's limit is
    512), with a keep path WHEN it is offloaded
    THEN the deep part leaves as a pointer and reads back unchanged."""
    result = {"status": "ok", "deep": [_nested(400), "x" * 50_000]}
    repo = memory_repo()
    done = offload_result(
        result, repo, namespace=NAMESPACE, budget=10_000, keep_inline=[("status",)]
    )
    assert is_pointer(done.result["deep"])
    assert hydrate(done.result, repo) == result


# --------------------------------------------------------------------------------------------
# work grows linearly
# --------------------------------------------------------------------------------------------


def _calls(fn: Callable[[], Any]) -> int:
    """Python and C function calls ``fn`` makes (a count of work that does not depend on the
    machine's speed or load)."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    gc.collect()
    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


def _siblings(n: int) -> dict[str, Any]:
    """``n`` members of about 2 KB each: the whole result ends as one pointer."""
    return {f"part-{i:05d}": {"id": i, "text": "t" * 2_000} for i in range(n)}


def _wide_parts(n: int) -> dict[str, Any]:
    """``n`` members of about 2 KB each and one of 2 MB: the large one leaves alone."""
    return {"report": "r" * 2_000_000, **_siblings(n)}


@pytest.mark.parametrize("shape", [_siblings, _wide_parts], ids=["whole", "largest-part"])
def test_work_grows_linearly_with_the_number_of_siblings(
    shape: Callable[[int], dict[str, Any]],
) -> None:
    """GIVEN results of n ~2 KB siblings, n = 500, 1,000, 2,000, 4,000
    WHEN each is offloaded with the default budget
    THEN the calls made grow in proportion to n (a pairwise comparison of parts would
    quadruple them each time n doubles)."""
    counts = {}
    for n in (500, 1_000, 2_000, 4_000):
        result = shape(n)
        counts[n] = _calls(
            lambda r=result: offload_result(r, memory_repo(), namespace=NAMESPACE, budget=250_000)
        )
    for n in (1_000, 2_000, 4_000):
        assert counts[n] <= 2.2 * counts[n // 2], counts


def test_each_byte_of_the_result_is_serialized_about_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN a 5 MB result of three members, over budget
    WHEN it is offloaded
    THEN the bytes serialized add up to about the result's size (the part that leaves is
    stored from the very bytes that measured it)."""
    serialized = 0
    real = sizing_module.dumps_members

    def counting(container: Any, **kwargs: Any) -> list[tuple[bytes, bytes]]:
        nonlocal serialized
        members = real(container, **kwargs)
        serialized += sum(len(k) + len(v) for k, v in members)
        return members

    monkeypatch.setattr(sizing_module, "dumps_members", counting)
    rows = [{"id": i, "name": f"order {i}", "total": i * 1.5} for i in range(120_000)]
    result = {"status": "ok", "count": len(rows), "report": {"tenant": "acme", "rows": rows}}
    size = len(dumps(result))
    repo = memory_repo()

    done = offload_result(result, repo, namespace=NAMESPACE, budget=250_000)

    assert is_pointer(done.result["report"])
    assert size * 0.99 <= serialized <= size * 1.01


def test_a_process_that_used_fan_out_once_measures_other_results_with_the_same_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN a process where no FanOut list exists
    WHEN fan_out() is used once and its list is gone, then results without one are offloaded
    THEN they cost exactly the calls they cost before; only while a FanOut list is alive
    somewhere are results searched for one."""
    monkeypatch.setattr(fan_out_module, "_LIVE_FAN_OUTS", type(fan_out_module._LIVE_FAN_OUTS)())
    results = [{"status": "ok", "rows": [{"id": i} for i in range(2_000)]}, _siblings(200)]

    def work() -> list[int]:
        return [
            _calls(
                lambda r=r: offload_result(r, memory_repo(), namespace=NAMESPACE, budget=1 << 20)
            )
            for r in results
        ]

    before = work()
    marked = fan_out([{"id": 1}])
    while_alive = work()
    offload_result({"rows": marked}, memory_repo(), namespace=NAMESPACE, budget=1 << 20)
    del marked
    gc.collect()
    after = work()

    assert after == before
    assert all(a > b for a, b in zip(while_alive, before, strict=True))


def test_copies_of_a_fan_out_list_are_fanned_out_too() -> None:
    """GIVEN a copy (copy.copy) of a fan_out() list
    THEN it is stored element by element like the original."""
    repo = memory_repo()
    rows = copy.copy(fan_out([{"id": 1}, {"id": 2}]))
    out = offload_result({"rows": rows}, repo, namespace=NAMESPACE, budget=1 << 20).result
    assert out["rows"]["count"] == 2
