"""The codec writes what the Lambda Python runtime's marshaller writes, checked against
``awslambdaric`` itself: ``runtime_text`` character for character, ``dumps`` value for value
(compactly), and the refusals alike."""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfn_offload.errors import PayloadEncodingError
from sfn_offload.wire.codec import dumps, runtime_text

marshaller = pytest.importorskip("awslambdaric.lambda_runtime_marshaller")

Point = collections.namedtuple("Point", "x y")


class Color(enum.IntEnum):
    RED = 1


class Size(str, enum.Enum):
    LARGE = "L"


@contextmanager
def _runtime(python: str) -> Iterator[Any]:
    saved = os.environ.get("AWS_EXECUTION_ENV")
    os.environ["AWS_EXECUTION_ENV"] = f"AWS_Lambda_python{python}"
    try:
        yield marshaller.LambdaMarshaller()  # reads the variable when built
    finally:
        if saved is None:
            del os.environ["AWS_EXECUTION_ENV"]
        else:
            os.environ["AWS_EXECUTION_ENV"] = saved


def _runtime_writes(value: Any, python: str = "3.12") -> str:
    with _runtime(python) as m:
        text, content_type = m.marshal_response(value)
    assert content_type == "application/json"
    return str(text)


def _exact(text: str | bytes) -> Any:
    """Parse keeping number texts and key order, so ``1.10`` and ``1.1`` differ."""
    return json.loads(text, parse_float=str, parse_int=str, object_pairs_hook=list)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text()
    .map(lambda t: t.encode("utf-8", "surrogatepass"))
    .filter(lambda b: b.decode("utf-8", "ignore").encode() == b),
    st.sampled_from([Color.RED, Size.LARGE]),
)


def _values(keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Nested values; never bytes at the top (the runtime sends a bytes result as it is)."""
    return st.recursive(
        _scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.lists(inner, max_size=4).map(tuple),
            st.dictionaries(keys, inner, max_size=4),
            st.builds(Point, inner, inner),
        ),
        max_leaves=25,
    ).filter(lambda v: not isinstance(v, bytes))


_basic_keys = st.one_of(st.text(), st.integers(-1000, 1000), st.booleans(), st.none())
#: any float key: the runtime writes NaN/Infinity keys as the strings "NaN"/"Infinity"
_any_values = _values(st.one_of(_basic_keys, st.floats()))
#: finite float keys only: dumps refuses the others (a dict keyed by NaN is a bug to name)
_finite_key_values = _values(
    st.one_of(_basic_keys, st.floats(allow_nan=False, allow_infinity=False))
)


@settings(max_examples=300, deadline=None)
@given(_any_values, st.sampled_from(["3.11", "3.12"]))
def test_runtime_text_is_exactly_what_the_runtime_writes(value: Any, python: str) -> None:
    assert runtime_text(value, ensure_ascii=python == "3.11") == _runtime_writes(value, python)


def _finite(value: Any) -> bool:
    try:
        json.dumps(_exact(runtime_text(value)), allow_nan=False)
    except ValueError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(_finite_key_values.filter(_finite))
def test_dumps_writes_the_same_json_values_as_the_runtime(value: Any) -> None:
    assert _exact(dumps(value)) == _exact(_runtime_writes(value))


def test_decimals_keep_their_digits_and_exponent() -> None:
    values = [decimal.Decimal(t) for t in ("1.10", "1E+2", "-0", "0E-10", "12345678901234567890.5")]
    assert dumps(values) == b"[1.10,1E+2,-0,0E-10,12345678901234567890.5]"
    assert runtime_text(values) == _runtime_writes(values)


def test_a_namedtuple_is_an_object_and_an_enum_its_value() -> None:
    value = {"at": Point(1, 2), "color": Color.RED, "size": Size.LARGE, Color.RED: "k"}
    assert dumps(value) == b'{"at":{"x":1,"y":2},"color":1,"size":"L","1":"k"}'
    assert runtime_text(value) == _runtime_writes(value)


class _Opaque:
    pass


_cycle: list[Any] = []
_cycle.append(_cycle)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"tags": {"a"}}, "$.tags"),
        ({"when": datetime.date(2026, 1, 2)}, "$.when"),
        ({"raw": b"\xff"}, "$.raw"),
        ({"k": {(1, 2): 1}}, "$.k"),
        ({"k": {decimal.Decimal("1"): 1}}, "$.k"),
        ({"o": [_Opaque()]}, "$.o[0]"),
        ({"n": 10**5000}, "$.n"),
        ({"buf": bytearray(b"a")}, "$.buf"),
        ({"loop": _cycle}, "$.loop"),
    ],
    ids=[
        "set",
        "date",
        "bad-bytes",
        "tuple-key",
        "decimal-key",
        "object",
        "huge-int",
        "bytearray",
        "cycle",
    ],
)
def test_what_the_runtime_refuses_is_refused_with_its_message_and_by_dumps_with_the_path(
    value: Any, path: str
) -> None:
    with _runtime("3.12") as m, pytest.raises(Exception) as by_runtime:
        m.marshal_response(value)
    with pytest.raises(Exception) as by_us:
        runtime_text(value)
    with pytest.raises(PayloadEncodingError) as by_dumps:
        dumps(value, where="handler result")

    assert by_runtime.value.msg == f"Unable to marshal response: {by_us.value}"
    assert f"handler result at {path}" in str(by_dumps.value)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("-inf"), decimal.Decimal("NaN"), decimal.Decimal("Infinity")],
    ids=["nan", "-inf", "decimal-nan", "decimal-inf"],
)
def test_nan_and_infinity_the_runtime_writes_as_bare_tokens_but_dumps_refuses(value: Any) -> None:
    """The runtime writes NaN/Infinity (not JSON; what Step Functions does with them is not
    documented); the library refuses them, naming the path."""
    assert runtime_text({"v": value}) == _runtime_writes({"v": value})
    with pytest.raises(PayloadEncodingError, match=r"at \$\.v is (Decimal )?(NaN|Infinity)"):
        dumps({"v": value})
