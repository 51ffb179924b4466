"""The pointer wire format v1: round trip, size on the wire, strict parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_offload import PointerError
from sfn_offload.wire import Pointer, is_pointer
from sfn_offload.wire.codec import digest
from sfn_offload.wire.pointer import MARKER, MAX_INDEX, VERSION

SHA = digest(b"payload")
EXECUTION_NAME = ("order-pipeline-2024-06-01-" + "a1b2c3d4" * 8)[:80]  # the longest allowed


def wire(**changes: Any) -> dict[str, Any]:
    """A valid dynamodb value pointer in wire form, with ``changes`` applied (None deletes)."""
    obj: dict[str, Any] = {
        MARKER: VERSION,
        "backend": "dynamodb",
        "table": "state",
        "key": "run-1:report",
        "index": 0,
        "size": 7,
        "sha256": SHA,
        "encoding": "json",
    }
    for name, value in changes.items():
        if value is None:
            obj.pop(name, None)
        else:
            obj[name] = value
    return obj


def list_wire(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        MARKER: VERSION,
        "backend": "dynamodb",
        "table": "state",
        "key": "run-1:rows",
        "count": 3,
        "encoding": "json",
    }
    obj.update(changes)
    return obj


# --------------------------------------------------------------------------------------------
# round trip and wire size
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pointer",
    [
        Pointer("dynamodb", "state", "run-1:report", 3, 183_211, SHA, "json+gzip"),
        Pointer("s3", "state-bucket", "sfn-offload/run-1/report/0", 0, 5_242_880, SHA, "json"),
        Pointer("dynamodb", "state", "run-1:rows", count=1_100),
        Pointer("dynamodb", "state", "run-1:empty", count=0),
    ],
)
def test_given_a_pointer_when_sent_through_json_then_it_parses_back_equal(pointer: Pointer) -> None:
    wire_text = json.dumps(pointer.to_dict())
    assert Pointer.from_dict(json.loads(wire_text)) == pointer


def test_given_a_value_pointer_then_wire_form_names_the_container_by_backend() -> None:
    ddb = Pointer("dynamodb", "state", "k", 0, 1, SHA).to_dict()
    s3 = Pointer("s3", "bucket", "k", 0, 1, SHA).to_dict()
    assert ddb["table"] == "state"
    assert "bucket" not in ddb
    assert s3["bucket"] == "bucket"
    assert "table" not in s3
    assert ddb[MARKER] == s3[MARKER] == 1


def test_given_a_pointer_without_encoding_when_parsed_then_encoding_defaults_to_json() -> None:
    assert Pointer.from_dict(wire(encoding=None)).encoding == "json"


def test_given_a_realistic_pointer_then_it_costs_at_most_400_bytes_of_state() -> None:
    assert len(EXECUTION_NAME) == 80
    dynamodb = Pointer(
        "dynamodb", "sfn-offload-state", f"{EXECUTION_NAME}:report", 0, 380_000, SHA, "json+gzip"
    )
    s3 = Pointer(
        "s3",
        "my-company-sfn-offload-payloads-prod-eu-west-1",
        f"sfn-offload/{EXECUTION_NAME}/result.rows/0",
        0,
        50_000_000,
        SHA,
        "json+gzip",
    )
    for pointer in (dynamodb, s3):
        size = pointer.wire_size()
        expected = len(json.dumps(pointer.to_dict(), separators=(",", ":")).encode())
        assert size == expected
        assert size <= 400


def test_given_the_longest_table_name_then_wire_size_is_still_measured_exactly() -> None:
    # A 255-character table name is legal and makes the pointer larger than 400 bytes; what
    # matters is that wire_size reports it exactly so budgets can account for it.
    pointer = Pointer("dynamodb", "t" * 255, f"{EXECUTION_NAME}:report", 0, 1, SHA)
    assert pointer.wire_size() == len(json.dumps(pointer.to_dict(), separators=(",", ":")))
    assert pointer.wire_size() > 400


def test_given_non_ascii_keys_then_wire_size_counts_utf8_bytes() -> None:
    pointer = Pointer("dynamodb", "state", "exécution:rapport", 0, 1, SHA)
    assert pointer.wire_size() == len(
        json.dumps(pointer.to_dict(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    )


def test_given_pointers_then_describe_says_where_without_payload() -> None:
    assert Pointer("dynamodb", "t", "k", 4, 1, SHA).describe() == (
        "dynamodb table 't' partition_key 'k' index 4"
    )
    assert Pointer("s3", "b", "p/k", 0, 1, SHA).describe() == "s3 bucket 'b' key 'p/k'"
    assert (
        Pointer("dynamodb", "t", "k", count=2).describe() == "dynamodb table 't' partition_key 'k'"
    )


# --------------------------------------------------------------------------------------------
# version
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [True, "1", 1.0, None, [1]])
def test_given_a_non_integer_version_when_parsed_then_refused(version: Any) -> None:
    obj = wire()
    obj[MARKER] = version
    with pytest.raises(PointerError, match="integer format version"):
        Pointer.from_dict(obj)


def test_given_no_marker_when_parsed_then_refused() -> None:
    obj = wire()
    del obj[MARKER]
    with pytest.raises(PointerError, match="integer format version"):
        Pointer.from_dict(obj)


def test_given_a_newer_version_when_parsed_then_error_says_upgrade() -> None:
    with pytest.raises(PointerError, match="upgrade sfn-offload") as info:
        Pointer.from_dict(wire(**{MARKER: 2}))
    assert "unsupported pointer version 2" in str(info.value)


@pytest.mark.parametrize("version", [0, -1])
def test_given_an_older_or_invalid_version_when_parsed_then_refused_without_upgrade_hint(
    version: int,
) -> None:
    with pytest.raises(PointerError, match="unsupported pointer version") as info:
        Pointer.from_dict(wire(**{MARKER: version}))
    assert "upgrade" not in str(info.value)


def test_given_a_huge_version_then_message_stays_short() -> None:
    with pytest.raises(PointerError) as info:
        Pointer.from_dict(wire(**{MARKER: 10**400}))
    assert len(str(info.value)) < 200


# --------------------------------------------------------------------------------------------
# shape
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", [[], "pointer", 1, None])
def test_given_a_non_object_when_parsed_then_refused(obj: Any) -> None:
    with pytest.raises(PointerError, match="must be a JSON object"):
        Pointer.from_dict(obj)


@pytest.mark.parametrize("backend", ["redis", "S3", "", None, 1, ["s3"], {"s3": 1}])
def test_given_an_unknown_backend_when_parsed_then_refused(backend: Any) -> None:
    obj = wire()
    obj["backend"] = backend
    with pytest.raises(PointerError, match="unknown backend"):
        Pointer.from_dict(obj)


@pytest.mark.parametrize("field", ["table", "key", "index", "size", "sha256"])
def test_given_a_missing_field_when_parsed_then_error_names_it(field: str) -> None:
    with pytest.raises(PointerError, match=f"missing field.*'{field}'"):
        Pointer.from_dict(wire(**{field: None}))


def test_given_an_extra_field_when_parsed_then_error_names_it() -> None:
    with pytest.raises(PointerError, match=r"unexpected field.*'data'"):
        Pointer.from_dict(wire(data="smuggled"))


def test_given_an_s3_pointer_naming_a_table_when_parsed_then_refused() -> None:
    with pytest.raises(PointerError, match=r"unexpected field.*'table'"):
        Pointer.from_dict(wire(backend="s3"))


def test_given_a_non_string_extra_key_when_parsed_then_pointer_error_not_type_error() -> None:
    obj: dict[Any, Any] = wire()
    obj[1] = "x"
    obj["z"] = "y"
    with pytest.raises(PointerError, match="unexpected field"):
        Pointer.from_dict(obj)


@pytest.mark.parametrize(
    ("field", "value"),
    [("table", ""), ("table", 5), ("key", ""), ("key", ["k"]), ("key", None)],
)
def test_given_a_mistyped_address_field_when_parsed_then_refused_naming_it(
    field: str, value: Any
) -> None:
    obj = wire()
    obj[field] = value
    with pytest.raises(PointerError, match=f"'{field}' must be a non-empty string"):
        Pointer.from_dict(obj)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-1, "out of range"),
        (MAX_INDEX + 1, "out of range"),
        (10**30, "huge"),
        (1.0, "must be an integer"),
        (True, "must be an integer"),
        ("3", "must be an integer"),
        ("abc", "must be an integer"),
        (None, "must be an integer"),
    ],
)
def test_given_a_bad_index_when_parsed_then_refused(value: Any, reason: str) -> None:
    obj = wire()
    obj["index"] = value
    with pytest.raises(PointerError, match=reason) as info:
        Pointer.from_dict(obj)
    assert "'index'" in str(info.value)
    assert len(str(info.value)) < 200


def test_given_the_largest_index_when_parsed_then_accepted() -> None:
    assert Pointer.from_dict(wire(index=MAX_INDEX)).index == MAX_INDEX


@pytest.mark.parametrize("size", [-1, 2**53 + 1, 1.5, False, "7"])
def test_given_a_bad_size_when_parsed_then_refused(size: Any) -> None:
    obj = wire()
    obj["size"] = size
    with pytest.raises(PointerError, match="'size'"):
        Pointer.from_dict(obj)


@pytest.mark.parametrize(
    "sha",
    [SHA.upper(), SHA[:-1], SHA + "0", "g" * 64, SHA + "\n", " " + SHA, 123, None],
)
def test_given_a_bad_sha256_when_parsed_then_refused(sha: Any) -> None:
    obj = wire()
    obj["sha256"] = sha
    with pytest.raises(PointerError, match="sha256"):
        Pointer.from_dict(obj)


@pytest.mark.parametrize("encoding", ["gzip", "json+brotli", "", 1, ["json"], None])
def test_given_an_unknown_encoding_when_parsed_then_refused(encoding: Any) -> None:
    obj = wire()
    obj["encoding"] = encoding
    with pytest.raises(PointerError, match="unknown encoding"):
        Pointer.from_dict(obj)


def test_given_a_long_hostile_value_then_the_message_is_bounded() -> None:
    with pytest.raises(PointerError) as info:
        Pointer.from_dict(wire(backend="x" * 100_000))
    assert len(str(info.value)) < 300


def test_given_a_where_then_errors_start_with_it() -> None:
    with pytest.raises(PointerError, match=r"^event\.rows: "):
        Pointer.from_dict(wire(index=-1), where="event.rows")


# --------------------------------------------------------------------------------------------
# list pointers
# --------------------------------------------------------------------------------------------


def test_given_a_dynamodb_list_pointer_when_parsed_then_count_is_kept() -> None:
    pointer = Pointer.from_dict(list_wire(count=5))
    assert pointer.is_list
    assert pointer.count == 5
    assert pointer.size is None
    assert pointer.sha256 is None


def test_given_a_list_pointer_for_s3_when_parsed_then_refused() -> None:
    obj = list_wire(backend="s3")
    obj["bucket"] = obj.pop("table")
    with pytest.raises(PointerError, match="only defined for dynamodb"):
        Pointer.from_dict(obj)


@pytest.mark.parametrize("field", ["index", "size"])
def test_given_a_list_pointer_with_value_fields_when_parsed_then_refused(field: str) -> None:
    with pytest.raises(PointerError, match=f"unexpected field.*'{field}'"):
        Pointer.from_dict(list_wire(**{field: wire()[field]}))


def test_given_a_list_pointer_with_its_lists_digest_then_it_round_trips() -> None:
    obj = list_wire(sha256="c" * 64)
    pointer = Pointer.from_dict(obj)
    assert (pointer.sha256, pointer.count) == ("c" * 64, obj["count"])
    assert Pointer.from_dict(pointer.to_dict()) == pointer
    assert pointer.to_dict(with_items=True)["ref"]["sha256"] == "c" * 64


@pytest.mark.parametrize("sha", ["C" * 64, "c" * 63, 5, None])
def test_given_a_list_pointer_with_a_bad_digest_then_refused(sha: Any) -> None:
    obj = list_wire(sha256=sha)
    if sha is None:
        obj["sha256"] = None
    with pytest.raises(PointerError, match="'sha256'"):
        Pointer.from_dict(obj)


@pytest.mark.parametrize("count", [-1, True, 2.0, "3", MAX_INDEX + 2])
def test_given_a_bad_count_when_parsed_then_refused(count: Any) -> None:
    with pytest.raises(PointerError, match="'count'"):
        Pointer.from_dict(list_wire(count=count))


def test_given_a_value_pointer_then_is_list_is_false() -> None:
    assert not Pointer.from_dict(wire()).is_list


# --------------------------------------------------------------------------------------------
# is_pointer
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (wire(), True),
        ({MARKER: "garbage"}, True),  # shaped like one; from_dict decides validity
        ({"table_name": "t", "partition_key": "p"}, False),  # a py2sfn result is not a pointer
        ({"nested": wire()}, False),
        ([wire()], False),
        (MARKER, False),
        (None, False),
    ],
)
def test_given_a_value_then_is_pointer_checks_only_for_the_marker(obj: Any, expected: bool) -> None:
    assert is_pointer(obj) is expected
