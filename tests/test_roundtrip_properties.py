"""Round trips, as properties: whatever JSON can carry comes back unchanged; what it cannot is
refused with PayloadEncodingError before anything is written.

Each property runs 1,000 examples (``max_examples=1000``) on in-memory stores, with thresholds
made small (item budget, ``compress_min_bytes``, offload budget, the 1 KiB minimum offload size)
so generated values of a few KB straddle every one of them; one test repeats the sizes at the
real default thresholds.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfn_offload import OffloadConfig, StateDataClient, hydrate, offload
from sfn_offload._sizing import MIN_OFFLOAD_BYTES
from sfn_offload.errors import PayloadEncodingError
from sfn_offload.storage import MemoryStore, PayloadRepository
from sfn_offload.wire import Pointer, is_pointer
from sfn_offload.wire.codec import dumps, state_size

PROPERTY = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ITEM_BUDGET = 2_000
COMPRESS_MIN = 1_500
OFFLOAD_BUDGET = 3_000
THRESHOLDS = (MIN_OFFLOAD_BYTES, COMPRESS_MIN, ITEM_BUDGET, OFFLOAD_BUDGET)
NAMESPACE = "run-7.0badc0de"

#: Keys that give a JSON object a meaning to hydration (a pointer, an element reference, a py2sfn
#: Map event, a Distributed Map ResultWriter output). Plain data must not use them; see
#: docs/RELIABILITY.md, "Reserved keys".
RESERVED = ("__sfn_offload__", "sfn_offload_list", "sfn_offload_index", "context_index")


def _plain_key(key: str) -> bool:
    return key not in RESERVED and not key.startswith("items_result_") and key != "MapRunArn"


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # any Unicode, no surrogates
KEYS = TEXT.filter(_plain_key)


def _sized_text(n: int, char: str) -> str:
    """A JSON string of exactly ``n`` UTF-8 bytes (quotes included), made of ``char``."""
    width = len(char.encode())
    body = n - 2
    return char * (body // width) + "x" * (body % width)


#: Strings whose JSON size sits at, just under or just over each threshold.
AROUND_THRESHOLDS = st.builds(
    _sized_text,
    st.sampled_from(THRESHOLDS).flatmap(lambda t: st.integers(t - 2, t + 2)),
    st.sampled_from(["a", "é", "€", "😀"]),
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.sampled_from([2**53, 2**53 + 1, -(2**63), 2**64, 0])
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | AROUND_THRESHOLDS
)

JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=24,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """A value nested up to 60 levels deep (lists and objects alternating)."""
    value = draw(SCALARS)
    for level in range(draw(st.integers(1, 60))):
        value = [value] if level % 2 else {draw(KEYS): value}
    return value


@st.composite
def padded_to_a_threshold(draw: st.DrawFn) -> Any:
    """``{"v": <value>, "pad": "..."}`` whose state size is a threshold +/- 2 bytes."""
    value = draw(JSON_VALUES)
    target = draw(st.sampled_from(THRESHOLDS)) + draw(st.integers(-2, 2))
    base = state_size(dumps({"v": value, "pad": ""}))
    if base > target:
        return value
    return {"v": value, "pad": "p" * (target - base)}


#: Several parts of 1-3 KB side by side: results the offload step splits into several pointers.
SPLITTABLE = st.dictionaries(
    KEYS,
    AROUND_THRESHOLDS | st.lists(AROUND_THRESHOLDS, max_size=3) | JSON_VALUES,
    min_size=2,
    max_size=6,
)

VALUES = (
    JSON_VALUES
    | deep()
    | padded_to_a_threshold()
    | st.lists(AROUND_THRESHOLDS, max_size=5)
    | SPLITTABLE
)


def repo(compression: str) -> PayloadRepository:
    config = OffloadConfig(
        table="state-table",
        bucket="state-bucket",
        item_budget_bytes=ITEM_BUDGET,
        compression=compression,  # type: ignore[arg-type]
        compress_min_bytes=COMPRESS_MIN,
    )
    return PayloadRepository(config, dynamodb=MemoryStore("dynamodb"), s3=MemoryStore("s3"))


def pointers_in(node: Any) -> list[dict[str, Any]]:
    if is_pointer(node):
        return [node]
    if isinstance(node, dict):
        return [p for v in node.values() for p in pointers_in(v)]
    if isinstance(node, list):
        return [p for v in node for p in pointers_in(v)]
    return []


def same(a: Any, b: Any) -> bool:
    """Equality that also tells -0.0 from 0.0 and 1 from 1.0 and True (as JSON does)."""
    return dumps(a) == dumps(b)


# --------------------------------------------------------------------------------------------
# round trips
# --------------------------------------------------------------------------------------------


@PROPERTY
@given(value=VALUES, compression=st.sampled_from(["none", "gzip"]))
def test_any_json_value_goes_through_offload_and_hydrate_unchanged(
    value: Any, compression: str
) -> None:
    repository = repo(compression)

    out = offload(value, repository, namespace=NAMESPACE, budget=OFFLOAD_BUDGET)

    size = state_size(dumps(out))
    assert size <= OFFLOAD_BUDGET or is_pointer(out)
    for pointer in pointers_in(out):
        Pointer.from_dict(pointer)  # every pointer written is a valid v1 pointer
    if state_size(dumps(value)) <= OFFLOAD_BUDGET:
        assert out is value  # under budget: untouched, no I/O
        assert repository.dynamodb.requests == {}  # type: ignore[attr-defined]
    back = hydrate(out, repository)
    assert back == value
    assert same(back, value)


@PROPERTY
@given(value=VALUES)
def test_any_json_value_stored_with_the_explicit_client_reads_back_unchanged(value: Any) -> None:
    client = StateDataClient("state-table", "run-7", repository=repo("gzip"))

    client.put_item("k", value, 3)

    assert same(client.get_item("k", 3), value)


@PROPERTY
@given(values=st.lists(VALUES, max_size=8))
def test_any_list_stored_element_by_element_reads_back_unchanged(values: list[Any]) -> None:
    client = StateDataClient("state-table", "run-7", repository=repo("none"))

    client.put_items("k", values)

    assert same(client.get_items("k"), values)


def test_sizes_at_the_default_thresholds_round_trip() -> None:
    """The same, at the real defaults: 380,000-byte item budget, 1,024-byte compress minimum and
    the decorator's budget for a small event (262,144 - 2,048 - 8,192)."""
    from sfn_offload.budget import inline_budget

    repository = PayloadRepository(
        OffloadConfig(table="state-table", bucket="state-bucket", compression="gzip"),
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
    )
    budget = inline_budget(0)
    for threshold in (1_024, budget, 380_000):
        for delta in (-1, 0, 1):
            for char in ("a", "é"):
                value = {"blob": _sized_text(threshold + delta, char), "n": 1}
                out = offload(value, repository, namespace=NAMESPACE, budget=budget)
                assert same(hydrate(out, repository), value)
                solo = repository.write_value("k", 0, repository.encode(value["blob"]))
                assert repository.read_many([solo]) == [value["blob"]]


# --------------------------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------------------------


class Custom:
    pass


UNENCODABLE = st.sampled_from(
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        "lone \ud800 surrogate",
        "\udfff",
        {"a", "b"},
        frozenset(),
        b"\xffnot utf-8",  # UTF-8 bytes are a string, as the Lambda runtime writes them
        bytearray(b"x"),
        datetime.datetime(2026, 1, 1),
        datetime.date(2026, 1, 1),
        decimal.Decimal("NaN"),  # finite Decimals are JSON numbers, as the runtime writes them
        decimal.Decimal("-Infinity"),
        complex(1, 2),
        Custom(),
        10**5000,
        {("tuple", "key"): 1},
        {float("nan"): 1},
        {"\ud800": 1},
    ]
)


@st.composite
def with_one_bad_part(draw: st.DrawFn) -> Any:
    """A JSON value with one unencodable part planted at a random depth."""
    bad = draw(UNENCODABLE)
    value: Any = bad
    for _ in range(draw(st.integers(0, 8))):
        siblings = draw(st.lists(JSON_VALUES, max_size=3))
        if draw(st.booleans()):
            at = draw(st.integers(0, len(siblings)))
            value = [*siblings[:at], value, *siblings[at:]]
        else:
            value = {**{f"s{i}": s for i, s in enumerate(siblings)}, draw(KEYS): value}
    return value


@PROPERTY
@given(value=with_one_bad_part(), compression=st.sampled_from(["none", "gzip"]))
def test_values_json_cannot_carry_are_refused_cleanly_and_nothing_is_written(
    value: Any, compression: str
) -> None:
    repository = repo(compression)
    client = StateDataClient("state-table", "run-7", repository=repository)

    with pytest.raises(PayloadEncodingError) as caught:
        offload(value, repository, namespace=NAMESPACE, budget=OFFLOAD_BUDGET)
    with pytest.raises(PayloadEncodingError):
        client.put_item("k", value)
    with pytest.raises(PayloadEncodingError):
        client.put_items("k", [1, value])

    message = str(caught.value)
    assert "handler result" in message
    assert "at $" in message or "cannot be encoded" in message
    assert repository.dynamodb.data == {}  # type: ignore[attr-defined]
    assert repository.s3.data == {}  # type: ignore[attr-defined]
