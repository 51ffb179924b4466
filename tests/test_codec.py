"""The codec: compact UTF-8 JSON, strict refusals, deterministic gzip, size and SHA-256 checks."""

from __future__ import annotations

import datetime
import decimal
import gzip
import json
import math
import subprocess
import sys
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfn_offload import PayloadTooLargeError
from sfn_offload.errors import IntegrityError, PayloadEncodingError
from sfn_offload.wire.codec import (
    ENCODING_GZIP,
    ENCODING_JSON,
    decode,
    digest,
    dumps,
    encode,
    encode_json_bytes,
    inflate,
    loads,
    verify,
)
from sfn_offload.wire.writer import is_plain

# --------------------------------------------------------------------------------------------
# serialization
# --------------------------------------------------------------------------------------------


def test_given_a_dict_when_dumped_then_json_is_compact_with_no_spaces() -> None:
    assert dumps({"a": [1, 2], "b": {"c": None, "d": True}}) == (
        b'{"a":[1,2],"b":{"c":null,"d":true}}'
    )


@pytest.mark.parametrize(
    ("text", "utf8_bytes_per_char"),
    [("é", 2), ("€", 3), ("中", 3), ("😀", 4)],
)
def test_given_non_ascii_text_when_dumped_then_each_char_costs_its_utf8_bytes_not_an_escape(
    text: str, utf8_bytes_per_char: int
) -> None:
    body = dumps(text * 100)
    assert b"\\u" not in body
    assert len(body) == 2 + 100 * utf8_bytes_per_char  # the quotes + raw UTF-8
    # py2sfn-task-tools' json.dumps default (ensure_ascii) would have cost up to 12 bytes a char
    assert len(body) < len(json.dumps(text * 100).encode())


def test_given_big_integers_when_round_tripped_then_they_are_exact() -> None:
    value = {"big": 10**30, "neg": -(2**100), "max_index": 2**63 + 1}
    body = dumps(value)
    assert b"1000000000000000000000000000000" in body
    assert decode(body, ENCODING_JSON, where="t") == value


@pytest.mark.parametrize("number", [0.1, 1 / 3, 1e-300, 1.7976931348623157e308, -0.0, 5e-324])
def test_given_a_float_when_round_tripped_then_it_is_bit_identical(number: float) -> None:
    back = decode(dumps([number]), ENCODING_JSON, where="t")[0]
    assert repr(back) == repr(number)
    assert math.copysign(1.0, back) == math.copysign(1.0, number)


@pytest.mark.parametrize("value", [{}, [], "", {"a": {}, "b": []}, [[[]]]])
def test_given_empty_containers_when_round_tripped_then_they_stay_empty(value: Any) -> None:
    assert decode(dumps(value), ENCODING_JSON, where="t") == value


def test_given_a_tuple_when_dumped_then_it_becomes_a_json_array() -> None:
    assert dumps((1, "x")) == b'[1,"x"]'


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=20)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_json_values, st.sampled_from(["none", "gzip"]))
def test_given_any_json_value_when_encoded_and_decoded_then_it_round_trips(
    value: Any, compression: str
) -> None:
    enc = encode(value, compression=compression, compress_min_bytes=0)  # type: ignore[arg-type]
    assert enc.sha256 == digest(enc.body)
    assert enc.json_size == len(dumps(value))
    back = decode(enc.body, enc.encoding, where="t")
    assert dumps(back) == dumps(value)  # floats compare by repr, so -0.0 and 0.0 differ


# --------------------------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "path", "what"),
    [
        ({"a": [1, {"b": float("nan")}]}, "$.a[1].b", "NaN"),
        ({"x": float("inf")}, "$.x", "Infinity"),
        ([float("-inf")], "$[0]", "Infinity"),
        ({"tags": {"a", "b"}}, "$.tags", "set"),
        ({"raw": b"\xff"}, "$.raw", "bytes that are not UTF-8"),
        ({"when": datetime.datetime(2024, 1, 1)}, "$.when", "datetime"),
        ({"price": decimal.Decimal("NaN")}, "$.price", "Decimal NaN"),
        ({"price": [decimal.Decimal("-Infinity")]}, "$.price[0]", "Decimal Infinity"),
        ({"k": {decimal.Decimal("1"): 2}}, "$.k", "key of type Decimal"),
        ({"name": "ok", "bad": "\ud800"}, "$.bad", "surrogate"),
        ({"k": [0, 1, 2, object()]}, "$.k[3]", "object"),
    ],
)
def test_given_a_value_step_functions_cannot_carry_when_dumped_then_error_names_its_jsonpath(
    value: Any, path: str, what: str
) -> None:
    with pytest.raises(PayloadEncodingError) as info:
        dumps(value, where="result of task")
    message = str(info.value)
    assert path in message
    assert what in message
    assert "result of task" in message


def test_given_a_lone_surrogate_in_a_key_when_dumped_then_refused_naming_the_key() -> None:
    with pytest.raises(PayloadEncodingError, match="surrogate"):
        dumps({"ok": {"\udc80": 1}})


def test_given_a_non_string_key_type_when_dumped_then_refused_naming_the_type() -> None:
    with pytest.raises(PayloadEncodingError, match=r"\$\.outer has a key of type tuple"):
        dumps({"outer": {(1, 2): "x"}})


def test_given_an_integer_too_long_for_python_str_when_dumped_then_refused() -> None:
    with pytest.raises(PayloadEncodingError, match=r"\$\.n is an integer with too many digits"):
        dumps({"n": 10**5000})


def test_given_a_self_referencing_list_when_dumped_then_refused_not_recursion_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(PayloadEncodingError):
        dumps(loop)


def test_given_a_list_holding_itself_twice_when_dumped_then_refused_in_bounded_memory() -> None:
    """Each level of ``a = [a, a]`` is twice the one before: a scan that holds a whole level
    ran out of memory around level 30. The chunked scan stops at MAX_DEPTH with a typed error
    (the address space is capped at 2 GiB here, so the old scan fails this test)."""
    loop: list[Any] = []
    loop += [loop, loop]
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from sfn_offload.wire.codec import dumps\n"
            "from sfn_offload.errors import PayloadEncodingError\n"
            "a = []; a += [a, a]\n"
            "try:\n    dumps({'x': a})\nexcept PayloadEncodingError as e:\n    print(str(e)[:12])",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.strip() == "value at $.x"
    assert not is_plain(loop)


@pytest.mark.parametrize(
    ("odd", "why"),
    [
        ({7: "a", "7": "b"}, "two keys that JSON writes alike"),
        ({"when": {1, 2}}, "set"),
        (datetime.date(2024, 1, 1), "date"),
    ],
)
def test_given_one_odd_member_past_the_first_chunks_of_a_wide_level_then_it_is_found(
    odd: Any, why: str
) -> None:
    """The scan takes a level in chunks: something refused in the last chunk of a level of
    20,000 records, two levels down, is still found and named."""
    rows: list[Any] = [{"id": i, "tags": ["a", i]} for i in range(20_000)]
    rows[-1]["tags"].append(odd)
    value = {"rows": rows}
    assert not is_plain(value)
    with pytest.raises(PayloadEncodingError, match=why) as info:
        dumps(value)
    assert "$.rows[19999].tags[2]" in str(info.value)
    rows[-1]["tags"].pop()
    assert is_plain(value)


def test_given_a_dict_that_once_held_a_non_string_key_then_it_is_still_plain() -> None:
    """A dict that held a non-string key keeps CPython's general layout, whose referents list
    its keys: the fast check then falls back to looking at the keys, and finds only strings."""
    once: dict[Any, Any] = {"a": 1}
    once[5] = 2
    del once[5]
    assert is_plain([once, {"b": [once]}])
    assert dumps([once]) == b'[{"a":1}]'


def test_given_a_refused_value_then_the_error_is_chained_to_the_json_error() -> None:
    with pytest.raises(PayloadEncodingError) as info:
        dumps({1, 2})
    assert isinstance(info.value.__cause__, TypeError)


# --------------------------------------------------------------------------------------------
# gzip
# --------------------------------------------------------------------------------------------

_COMPRESSIBLE = {"rows": [{"id": i, "name": "row", "tags": ["a", "b"]} for i in range(200)]}


def test_given_the_same_value_when_gzipped_twice_then_the_bytes_are_identical() -> None:
    first = encode(_COMPRESSIBLE, compression="gzip", compress_min_bytes=0)
    second = encode(_COMPRESSIBLE, compression="gzip", compress_min_bytes=0)
    assert first.encoding == ENCODING_GZIP
    assert first.body == second.body
    assert first.sha256 == second.sha256
    assert first.body[4:8] == b"\x00\x00\x00\x00"  # mtime field zeroed: retries write same bytes


def test_given_gzip_when_it_saves_space_then_size_is_stored_bytes_and_json_size_is_original() -> (
    None
):
    enc = encode(_COMPRESSIBLE, compression="gzip", compress_min_bytes=0)
    assert enc.size == len(enc.body) < enc.json_size == len(dumps(_COMPRESSIBLE))
    assert gzip.decompress(enc.body) == dumps(_COMPRESSIBLE)


def test_given_gzip_when_output_would_be_larger_then_plain_json_is_kept() -> None:
    enc = encode("tiny", compression="gzip", compress_min_bytes=0)
    assert enc.encoding == ENCODING_JSON
    assert enc.body == b'"tiny"'


def test_given_compress_min_bytes_then_gzip_starts_exactly_at_that_size() -> None:
    raw = dumps(_COMPRESSIBLE)
    at = encode_json_bytes(raw, compression="gzip", compress_min_bytes=len(raw))
    below = encode_json_bytes(raw, compression="gzip", compress_min_bytes=len(raw) + 1)
    assert at.encoding == ENCODING_GZIP
    assert below.encoding == ENCODING_JSON
    assert below.body == raw


def test_given_compression_none_then_large_compressible_json_stays_plain() -> None:
    enc = encode(_COMPRESSIBLE)
    assert enc.encoding == ENCODING_JSON
    assert enc.body == dumps(_COMPRESSIBLE)


# --------------------------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------------------------


def test_given_matching_size_and_digest_when_verified_then_nothing_is_raised() -> None:
    body = b'{"a":1}'
    verify(body, size=len(body), sha256=digest(body), where="w")
    verify(body, size=None, sha256=digest(body).upper(), where="w")
    verify(body, size=None, sha256=None, where="w")  # py2sfn items record neither


def test_given_a_shorter_body_when_verified_then_integrity_error_names_the_recorded_size() -> None:
    with pytest.raises(IntegrityError, match="truncated") as info:
        verify(b"abc", size=10, sha256=None, where="table 't' index 3")
    assert "table 't' index 3" in str(info.value)
    assert "10 bytes recorded" in str(info.value)
    assert "3 bytes" not in str(info.value)  # the stored size is no oracle


def test_given_a_longer_body_when_verified_then_integrity_error_says_extended() -> None:
    with pytest.raises(IntegrityError, match="extended") as info:
        verify(b"abcdef", size=2, sha256=None, where="w")
    assert "6" not in str(info.value)


def test_given_a_changed_body_of_the_same_size_when_verified_then_digest_mismatch() -> None:
    original = b'{"amount":100}'
    tampered = b'{"amount":900}'
    with pytest.raises(IntegrityError, match="SHA-256") as info:
        verify(tampered, size=len(original), sha256=digest(original), where="w")
    # Neither digest is told: the stored one would make a refused read an oracle.
    assert digest(original)[:8] not in str(info.value)
    assert digest(tampered)[:8] not in str(info.value)


# --------------------------------------------------------------------------------------------
# inflate / decode
# --------------------------------------------------------------------------------------------


def test_given_plain_json_over_the_cap_when_inflated_then_payload_too_large() -> None:
    body = dumps("x" * 100)
    assert inflate(body, ENCODING_JSON, where="w", max_bytes=len(body)) == body
    with pytest.raises(PayloadTooLargeError, match=f"over the {len(body) - 1}-byte"):
        inflate(body, ENCODING_JSON, where="w", max_bytes=len(body) - 1)


def test_given_gzip_exactly_at_the_cap_when_inflated_then_accepted() -> None:
    raw = dumps(_COMPRESSIBLE)
    body = gzip.compress(raw, mtime=0)
    assert inflate(body, ENCODING_GZIP, where="w", max_bytes=len(raw)) == raw
    with pytest.raises(PayloadTooLargeError):
        inflate(body, ENCODING_GZIP, where="w", max_bytes=len(raw) - 1)


def test_given_a_gzip_bomb_when_inflated_with_a_cap_then_refused_without_inflating_it_all() -> None:
    bomb = gzip.compress(b"0" * 50_000_000, mtime=0)  # ~50 KB that inflates to 50 MB
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLargeError, match="1000000-byte hydration cap"):
            inflate(bomb, ENCODING_GZIP, where="w", max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000


def test_given_truncated_gzip_when_inflated_then_payload_encoding_error() -> None:
    body = gzip.compress(dumps(_COMPRESSIBLE), mtime=0)
    with pytest.raises(PayloadEncodingError, match="truncated"):
        inflate(body[: len(body) // 2], ENCODING_GZIP, where="w")
    with pytest.raises(PayloadEncodingError):
        inflate(b"", ENCODING_GZIP, where="w")


def test_given_bytes_that_are_not_gzip_when_inflated_then_payload_encoding_error() -> None:
    with pytest.raises(PayloadEncodingError, match="does not decompress") as info:
        inflate(b'{"not":"gzip"}', ENCODING_GZIP, where="w")
    assert info.value.__cause__ is not None


def test_given_trailing_bytes_after_the_gzip_stream_when_inflated_then_refused() -> None:
    body = gzip.compress(b'{"a":1}', mtime=0)
    with pytest.raises(PayloadEncodingError, match="trailing"):
        inflate(body + b"junk", ENCODING_GZIP, where="w")
    with pytest.raises(PayloadEncodingError, match="trailing"):
        inflate(body + gzip.compress(b"[2]", mtime=0), ENCODING_GZIP, where="w")


@pytest.mark.parametrize("encoding", ["json+brotli", "JSON", "", "gzip"])
def test_given_an_unknown_encoding_when_inflated_then_refused_naming_it(encoding: str) -> None:
    with pytest.raises(PayloadEncodingError, match="unknown payload encoding"):
        inflate(b"{}", encoding, where="w")


def test_given_nan_in_stored_json_when_loaded_strictly_then_refused() -> None:
    with pytest.raises(PayloadEncodingError, match="NaN or Infinity"):
        loads(b'{"x":NaN}', where="w")
    with pytest.raises(PayloadEncodingError):
        decode(b"[Infinity]", ENCODING_JSON, where="w")


def test_given_nan_in_a_legacy_item_when_loaded_with_allow_constants_then_accepted() -> None:
    value = loads(b'{"x":NaN,"y":-Infinity}', where="w", allow_constants=True)
    assert math.isnan(value["x"])
    assert value["y"] == float("-inf")


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":',  # truncated
        b"\xff\xfe{\x00}\x00",  # UTF-16, which json.loads(bytes) would auto-detect
        b'"\xed\xa0\x80"',  # a UTF-8-encoded lone surrogate (invalid UTF-8)
        b"\xc3",  # broken UTF-8
    ],
)
def test_given_bytes_that_are_not_utf8_json_when_loaded_then_payload_encoding_error(
    body: bytes,
) -> None:
    with pytest.raises(PayloadEncodingError, match=r"not valid (JSON|UTF-8)") as info:
        loads(body, where="w")
    assert "position" not in str(info.value)  # no stored bytes, nor where they are
    assert "0x" not in str(info.value)


def test_given_a_gzip_payload_when_decoded_then_value_and_cap_apply_to_inflated_json() -> None:
    enc = encode(_COMPRESSIBLE, compression="gzip", compress_min_bytes=0)
    assert decode(enc.body, enc.encoding, where="w", max_bytes=enc.json_size) == _COMPRESSIBLE
    with pytest.raises(PayloadTooLargeError):
        decode(enc.body, enc.encoding, where="w", max_bytes=enc.size)


# --------------------------------------------------------------------------------------------
# keys JSON writes alike (issue #14)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {1: "a", "1": "b"},
        {True: 1, "true": 2},
        {None: 1, "null": 2},
        {1.5: 1, "1.5": 2},
        {"outer": [{"x": 0, 2: "a", "2": "b"}]},
    ],
)
def test_given_two_keys_json_writes_alike_when_encoded_then_refused(value: Any) -> None:
    """``{1: "a", "1": "b"}`` would be written with two keys "1" and read back with one value
    lost: refused, naming where."""
    with pytest.raises(PayloadEncodingError, match="two keys that JSON writes alike"):
        dumps(value)


def test_given_one_non_string_key_when_encoded_then_it_is_written_as_a_string() -> None:
    assert dumps({1: "a", "2": "b"}) == b'{"1":"a","2":"b"}'


def test_a_decorated_handler_refuses_a_result_with_keys_json_writes_alike() -> None:
    from fakes import memory_repo
    from sfn_offload import state_offload

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        return {"ok": {1: "a", "1": "b"}}

    with pytest.raises(PayloadEncodingError, match=r"at \$\.ok has two keys"):
        handler({}, None)


def test_a_tuple_is_copied_as_the_list_json_writes() -> None:
    from sfn_offload.wire.paths import assign, shallow_copy

    value = {"rows": ("a", "b")}
    out = assign(shallow_copy(value), ("rows", 1), "B", set())
    assert out == {"rows": ["a", "B"]}
    assert value == {"rows": ("a", "b")}  # the caller's tuple is untouched
