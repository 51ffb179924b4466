"""Interop with the real predecessor: py2sfn-task-tools 1.0.2 and sfn-offload read each other.

Both libraries run in-process against moto. py2sfn builds module-level boto3 clients when it is
imported; moto 5 intercepts every botocore client created *after* ``moto`` is imported (it adds a
``before-send`` handler to botocore's built-in handlers), so py2sfn is imported lazily, inside a
fixture, after the isolated environment (region, fake credentials) is in place.
``test_py2sfn_clients_hit_moto`` checks that this really is the case.

py2sfn reads ``SFN_DATA_S3_BUCKET`` as a default argument at import time, so its client is always
given ``s3_bucket=`` explicitly. Nothing of py2sfn is copied here: it is only imported and called.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from typing import Any

import boto3
import moto  # noqa: F401  (imported before py2sfn, so its module-level clients are mocked)
import pytest

from conftest import AwsResources, create_table
from sfn_offload import ConfigurationError, NoItemFound, OffloadConfig, StateDataClient
from sfn_offload.errors import PayloadEncodingError

NAMESPACE = "exec-7f3a"
#: py2sfn overflowed to S3 above this many bytes of ``json.dumps`` output.
PY2SFN_THRESHOLD = 390_000

VALUES: dict[str, Any] = {
    "ascii-dict": {"name": "jerry", "count": 3, "ok": True, "none": None},
    "non-ascii": {"name": "Zoë", "city": "Zürich", "cjk": "東京", "rtl": "שלום", "emoji": "😀🚀"},
    "nested": {
        "a": [1, 2.5, -3, {"b": [None, False, {"c": "déjà vu"}]}],
        "big_int": 10**30,
        "empty": {"list": [], "dict": {}, "str": ""},
        "deep": {"l1": {"l2": {"l3": {"l4": {"l5": ["bottom"]}}}}},
    },
    "top-level-list": [1, "two", {"three": 3}, [4]],
    "top-level-string": 'just a string with a quote " and a backslash \\',
    "top-level-number": 42,
    "top-level-null": None,
}


# --------------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def py2sfn_module(moto_resources: AwsResources) -> Any:
    """py2sfn's ``state_data_client`` module, imported with a region and fake credentials set."""
    from py2sfn_task_tools import state_data_client

    return state_data_client


@pytest.fixture
def legacy(py2sfn_module: Any, moto_resources: AwsResources) -> Any:
    """py2sfn-task-tools' StateDataClient on moto (bucket given explicitly)."""
    return py2sfn_module.StateDataClient(
        moto_resources.table, NAMESPACE, s3_bucket=moto_resources.bucket
    )


@pytest.fixture
def ours(moto_resources: AwsResources) -> Iterator[StateDataClient]:
    """sfn-offload's StateDataClient on the same table and bucket, default settings."""
    client = StateDataClient(moto_resources.table, NAMESPACE, s3_bucket=moto_resources.bucket)
    yield client
    client.repository.close()


def raw_item(res: AwsResources, partition_key: str, index: int = 0) -> dict[str, Any]:
    """The DynamoDB item as stored (typed attribute values), read around both libraries."""
    response = res.dynamodb().get_item(
        TableName=res.table,
        Key={"partition_key": {"S": partition_key}, "sort_key": {"N": str(index)}},
        ConsistentRead=True,
    )
    item: dict[str, Any] = response.get("Item", {})
    return item


def s3_keys(res: AwsResources) -> list[str]:
    listing = res.s3().list_objects_v2(Bucket=res.bucket)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def legacy_overflow_key(res: AwsResources, partition_key: str, index: int) -> str:
    return f"workflow_state_data/{res.table}/{partition_key}/{index}"


def big_value(n_bytes: int, *, marker: str = "x") -> dict[str, Any]:
    """A value whose compact and py2sfn (``json.dumps``) JSON are both over ``n_bytes``."""
    return {"marker": marker, "rows": ["r" * 1000 for _ in range(n_bytes // 1000 + 1)]}


def map_events(result: dict[str, Any], *, string_index: bool = False) -> list[dict[str, Any]]:
    """The Map-iteration events a Map state's ItemSelector builds from a ``put_items`` result."""
    return [
        {
            "items_result_table_name": result["table_name"],
            "items_result_partition_key": result["partition_key"],
            "items_result_key": result["key"],
            "context_index": str(i) if string_index else i,
            "context_value": value,
        }
        for i, value in enumerate(result["items"])
    ]


# --------------------------------------------------------------------------------------------
# the harness itself
# --------------------------------------------------------------------------------------------


def test_py2sfn_clients_hit_moto(py2sfn_module: Any, moto_resources: AwsResources) -> None:
    """GIVEN py2sfn imported after moto WHEN its module-level clients are used THEN moto answers."""
    # Only moto knows this table and bucket (the credentials are fake: AWS would refuse them).
    assert py2sfn_module.dynamodb.list_tables()["TableNames"] == [moto_resources.table]
    buckets = [b["Name"] for b in py2sfn_module.s3.list_buckets()["Buckets"]]
    assert buckets == [moto_resources.bucket]


def test_py2sfn_writes_its_own_format(legacy: Any, moto_resources: AwsResources) -> None:
    """The items py2sfn writes carry no sfn-offload attributes: the interop tests are real."""
    legacy.put_item("probe", {"name": "Zoë"})
    item = raw_item(moto_resources, f"{NAMESPACE}:probe")
    assert set(item) == {"partition_key", "sort_key", "expires_at", "data"}
    assert item["data"]["S"] == '{"name": "Zo\\u00eb"}'  # py2sfn escaped non-ASCII


# --------------------------------------------------------------------------------------------
# single items, local and global, both directions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_put_item_py2sfn_then_get_item_ours(legacy: Any, ours: StateDataClient, value: Any) -> None:
    result = legacy.put_item("report", value)
    assert result == {
        "table_name": ours.default_table_name,
        "partition_key": f"{NAMESPACE}:report",
        "key": "report",
    }
    assert ours.get_item("report") == value


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_put_item_ours_then_get_item_py2sfn(
    legacy: Any, ours: StateDataClient, moto_resources: AwsResources, value: Any
) -> None:
    result = ours.put_item("report", value)
    # The keys py2sfn returned keep their values (sfn-offload only adds fields).
    assert {k: result[k] for k in ("table_name", "partition_key", "key")} == {
        "table_name": moto_resources.table,
        "partition_key": f"{NAMESPACE}:report",
        "key": "report",
    }
    # Default settings store plain JSON text in 'data', the attribute py2sfn reads.
    item = raw_item(moto_resources, f"{NAMESPACE}:report")
    assert "data" in item
    assert "blob" not in item
    assert legacy.get_item("report") == value


@pytest.mark.parametrize("index", [0, 1, 7, 24, 25, 1234567])
def test_index_values_both_directions(legacy: Any, ours: StateDataClient, index: int) -> None:
    legacy.put_item("by-index", {"from": "py2sfn", "i": index}, index=index)
    ours.put_item("by-index-ours", {"from": "sfn-offload", "i": index}, index=index)

    assert ours.get_item("by-index", index) == {"from": "py2sfn", "i": index}
    assert ours.get_item("by-index", index=str(index)) == {"from": "py2sfn", "i": index}  # type: ignore[arg-type]
    assert legacy.get_item("by-index-ours", index=index) == {"from": "sfn-offload", "i": index}
    # Other indices of the same key are distinct items.
    with pytest.raises(NoItemFound):
        ours.get_item("by-index", index + 1)


def test_global_item_both_directions(legacy: Any, ours: StateDataClient) -> None:
    table = ours.default_table_name
    legacy_result = legacy.put_global_item(table, "other-exec:shared", {"v": "ü"}, 3)
    assert legacy_result == {"table_name": table, "partition_key": "other-exec:shared"}
    assert ours.get_global_item(table, "other-exec:shared", 3) == {"v": "ü"}

    ours_result = ours.put_global_item(table, "another-exec:shared", ["ß", 2])
    assert ours_result["table_name"] == table
    assert ours_result["partition_key"] == "another-exec:shared"
    assert legacy.get_global_item(table, "another-exec:shared") == ["ß", 2]


def test_local_and_global_names_address_the_same_item(legacy: Any, ours: StateDataClient) -> None:
    """A local key is the global partition key ``<namespace>:<key>`` in the default table."""
    table = ours.default_table_name
    legacy.put_item("k", "local-by-py2sfn")
    assert ours.get_global_item(table, f"{NAMESPACE}:k") == "local-by-py2sfn"
    ours.put_global_item(table, f"{NAMESPACE}:j", "global-by-ours")
    assert legacy.get_item("j") == "global-by-ours"


# --------------------------------------------------------------------------------------------
# lists (put_items / get_items) and Map iterations
# --------------------------------------------------------------------------------------------

LIST = [{"i": 0, "name": "Zoë"}, "one", 2, None, [3, {"four": "四"}], {"deep": {"x": [1, 2]}}]


def test_put_items_py2sfn_then_ours_reads(legacy: Any, ours: StateDataClient) -> None:
    result = legacy.put_items("rows", LIST)
    assert result["items"] == [1] * len(LIST)
    assert ours.get_items("rows") == LIST
    for index, value in enumerate(LIST):
        assert ours.get_item("rows", index) == value


def test_put_items_ours_then_py2sfn_reads(legacy: Any, ours: StateDataClient) -> None:
    result = ours.put_items("rows", LIST)
    assert result["items"] == [1] * len(LIST)
    assert result["key"] == "rows"
    assert legacy.get_items("rows") == LIST
    for index, value in enumerate(LIST):
        assert legacy.get_item("rows", index) == value


def test_global_items_both_directions(
    legacy: Any, ours: StateDataClient, moto_resources: AwsResources
) -> None:
    table = ours.default_table_name
    legacy.put_global_items(table, "upstream:list", LIST)
    assert ours.get_global_items(table, "upstream:list") == LIST

    ours.put_global_items(table, "downstream:list", LIST[::-1])
    assert legacy.get_global_items(table, "downstream:list") == LIST[::-1]

    # sfn-offload writes to the table it is given (py2sfn bug 1 fixed); py2sfn reads it there.
    create_table(moto_resources.dynamodb(), "other-table")
    result = ours.put_global_items("other-table", "elsewhere:list", LIST)
    assert result["table_name"] == "other-table"
    assert legacy.get_global_items("other-table", "elsewhere:list") == LIST
    assert legacy.get_global_items(table, "elsewhere:list") == []


@pytest.mark.parametrize("string_index", [False, True], ids=["int-index", "digit-string-index"])
def test_map_iteration_py2sfn_list_read_by_ours(
    legacy: Any, ours: StateDataClient, string_index: bool
) -> None:
    result = legacy.put_items("fan-out", LIST)
    events = map_events(result, string_index=string_index)
    assert len(events) == len(LIST)
    for event, value in zip(events, LIST, strict=True):
        assert ours.get_item_for_map_iteration(event) == value
        assert ours.get_global_item_for_map_iteration(event) == value


def test_map_iteration_ours_list_read_by_py2sfn(legacy: Any, ours: StateDataClient) -> None:
    result = ours.put_items("fan-out", LIST)
    # py2sfn sends context_index as given: it only ever worked with the integer from
    # $$.Map.Item.Index, so that is what it is given here.
    for event, value in zip(map_events(result), LIST, strict=True):
        assert legacy.get_item_for_map_iteration(event) == value
        assert legacy.get_global_item_for_map_iteration(event) == value


@pytest.mark.parametrize("string_index", [False, True], ids=["int-index", "digit-string-index"])
def test_map_iteration_results_written_by_ours_read_by_py2sfn(
    legacy: Any, ours: StateDataClient, string_index: bool
) -> None:
    """Each iteration stores its result at its index; the next state reads them all (py2sfn)."""
    result = legacy.put_items("inputs", LIST)
    outputs = {**result, "key": "outputs", "partition_key": f"{NAMESPACE}:outputs"}
    for event in map_events(outputs, string_index=string_index):
        index = int(event["context_index"])
        ours.put_item_for_map_iteration(event, {"done": index, "name": "résultat"})
    for event in map_events(
        {**outputs, "partition_key": "other:outputs"}, string_index=string_index
    ):
        ours.put_global_item_for_map_iteration(event, int(event["context_index"]) * 10)

    expected = [{"done": i, "name": "résultat"} for i in range(len(LIST))]
    assert legacy.get_items("outputs") == expected
    assert legacy.get_global_items(result["table_name"], "other:outputs") == [
        i * 10 for i in range(len(LIST))
    ]


def test_map_iteration_results_written_by_py2sfn_read_by_ours(
    legacy: Any, ours: StateDataClient
) -> None:
    result = ours.put_items("inputs", LIST)
    outputs = {**result, "key": "outputs", "partition_key": f"{NAMESPACE}:outputs"}
    for event in map_events(outputs):
        legacy.put_item_for_map_iteration(event, {"done": event["context_index"]})
        legacy.put_global_item_for_map_iteration(
            {**event, "items_result_partition_key": "other:outputs"}, event["context_index"]
        )
    assert ours.get_items("outputs") == [{"done": i} for i in range(len(LIST))]
    assert ours.get_global_items(result["table_name"], "other:outputs") == list(range(len(LIST)))


def test_shorter_list_by_ours_replaces_longer_list_by_py2sfn(
    legacy: Any, ours: StateDataClient
) -> None:
    """py2sfn bug 2 fixed: higher indices of an earlier, longer list are removed."""
    legacy.put_items("k", [1, 2, 3, 4, 5])
    ours.put_items("k", ["a", "b"])
    assert legacy.get_items("k") == ["a", "b"]
    assert ours.get_items("k") == ["a", "b"]


# --------------------------------------------------------------------------------------------
# S3 overflow
# --------------------------------------------------------------------------------------------


def test_py2sfn_overflow_is_read_by_ours_from_its_configured_bucket(
    legacy: Any, ours: StateDataClient, moto_resources: AwsResources
) -> None:
    value = big_value(PY2SFN_THRESHOLD, marker="Zoë")
    legacy.put_item("big", value, index=2)

    partition_key = f"{NAMESPACE}:big"
    item = raw_item(moto_resources, partition_key, 2)
    key = legacy_overflow_key(moto_resources, partition_key, 2)
    assert item["s3_key"] == {"S": key}
    assert "data" not in item
    assert "s3_bucket" not in item  # py2sfn never recorded the bucket
    assert s3_keys(moto_resources) == [key]

    assert ours.get_item("big", 2) == value


def test_py2sfn_overflow_of_non_ascii_text(legacy: Any, ours: StateDataClient) -> None:
    # 70,000 chars: 140 KB of UTF-8 but 420 KB of py2sfn's \uXXXX escapes (so it overflowed).
    value = {"text": "é" * 70_000}
    legacy.put_item("accents", value)
    assert ours.get_item("accents") == value


def test_py2sfn_inline_item_over_our_item_budget(
    legacy: Any, ours: StateDataClient, moto_resources: AwsResources
) -> None:
    """An item py2sfn kept inline (385 KB) is larger than sfn-offload's budget: still readable."""
    value = "y" * 385_000
    legacy.put_item("inline", value)
    assert "data" in raw_item(moto_resources, f"{NAMESPACE}:inline")
    assert ours.get_item("inline") == value


def test_our_overflow_is_read_by_py2sfn(
    legacy: Any, ours: StateDataClient, moto_resources: AwsResources
) -> None:
    value = big_value(PY2SFN_THRESHOLD, marker="ours")
    ours.put_item("big", value, index=4)

    partition_key = f"{NAMESPACE}:big"
    item = raw_item(moto_resources, partition_key, 4)
    key = item["s3_key"]["S"]
    # py2sfn's key, then the digest and a per-write nonce: py2sfn reads whatever s3_key says
    assert key.startswith(legacy_overflow_key(moto_resources, partition_key, 4) + "/")
    assert item["s3_bucket"] == {"S": moto_resources.bucket}  # additive: new writes record it
    assert "data" not in item
    assert s3_keys(moto_resources) == [key]

    assert legacy.get_item("big", 4) == value


def test_overflowing_lists_both_directions(
    legacy: Any, ours: StateDataClient, moto_resources: AwsResources
) -> None:
    values = ["small", big_value(PY2SFN_THRESHOLD, marker="first"), 3, big_value(PY2SFN_THRESHOLD)]

    legacy_result = legacy.put_items("legacy-list", values)
    assert ours.get_items("legacy-list") == values
    for event, value in zip(map_events(legacy_result), values, strict=True):
        assert ours.get_item_for_map_iteration(event) == value

    ours_result = ours.put_items("our-list", values)
    assert legacy.get_items("our-list") == values
    for event, value in zip(map_events(ours_result), values, strict=True):
        assert legacy.get_item_for_map_iteration(event) == value

    legacy_keys = sorted(
        legacy_overflow_key(moto_resources, f"{NAMESPACE}:{key}", index)
        for key in ("legacy-list", "our-list")
        for index in (1, 3)
    )
    found = s3_keys(moto_resources)
    assert len(found) == len(legacy_keys)  # one object per overflowing element
    assert all(k == p or k.startswith(p + "/") for k, p in zip(found, legacy_keys, strict=True))


def test_small_item_by_ours_replaces_py2sfn_overflow_and_deletes_the_object(
    legacy: Any, ours: StateDataClient, moto_resources: AwsResources
) -> None:
    """py2sfn bug 4 fixed: the replaced overflow object (bucket from configuration) is deleted."""
    legacy.put_item("k", big_value(PY2SFN_THRESHOLD))
    assert len(s3_keys(moto_resources)) == 1

    ours.put_item("k", {"now": "small"})
    assert s3_keys(moto_resources) == []
    assert legacy.get_item("k") == {"now": "small"}


def test_py2sfn_overflow_needs_a_configured_bucket(
    legacy: Any, moto_resources: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy.put_item("big", big_value(PY2SFN_THRESHOLD))

    no_bucket = StateDataClient(moto_resources.table, NAMESPACE)
    with pytest.raises(ConfigurationError, match="SFN_DATA_S3_BUCKET"):
        no_bucket.get_item("big")

    # py2sfn's variable, read when the client is built (not at import), is honoured.
    monkeypatch.setenv("SFN_DATA_S3_BUCKET", moto_resources.bucket)
    from_env = StateDataClient(moto_resources.table, NAMESPACE)
    assert from_env.s3_bucket == moto_resources.bucket
    assert from_env.get_item("big") == big_value(PY2SFN_THRESHOLD)


# --------------------------------------------------------------------------------------------
# NaN and Infinity: py2sfn wrote them; sfn-offload reads them only from legacy items
# --------------------------------------------------------------------------------------------


def assert_constants(value: Any) -> None:
    assert math.isnan(value["nan"])
    assert value["inf"] == math.inf
    assert value["ninf"] == -math.inf
    assert value["plain"] == 1.5


CONSTANTS = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "plain": 1.5}


def test_py2sfn_nan_item_is_readable_by_ours(
    legacy: Any, ours: StateDataClient, moto_resources: AwsResources
) -> None:
    legacy.put_item("nan", CONSTANTS)
    assert "NaN" in raw_item(moto_resources, f"{NAMESPACE}:nan")["data"]["S"]
    assert_constants(ours.get_item("nan"))

    legacy.put_items("nan-list", [CONSTANTS, 1])
    items = ours.get_items("nan-list")
    assert_constants(items[0])
    assert items[1] == 1

    result = legacy.put_items("nan-map", [CONSTANTS])
    (event,) = map_events(result)
    assert_constants(ours.get_item_for_map_iteration(event))
    assert_constants(ours.get_global_item_for_map_iteration(event))


def test_py2sfn_nan_in_overflow_object_is_readable_by_ours(
    legacy: Any, ours: StateDataClient
) -> None:
    value = {**CONSTANTS, "pad": "p" * PY2SFN_THRESHOLD}
    legacy.put_item("nan-big", value)
    assert_constants(ours.get_item("nan-big"))


def test_nan_is_refused_in_items_with_our_digest(
    ours: StateDataClient, moto_resources: AwsResources
) -> None:
    """Constants are a legacy allowance: an item carrying our sha256 must be standard JSON."""
    body = b'{"nan":NaN}'
    moto_resources.dynamodb().put_item(
        TableName=moto_resources.table,
        Item={
            "partition_key": {"S": f"{NAMESPACE}:tampered"},
            "sort_key": {"N": "0"},
            "data": {"S": body.decode()},
            "sha256": {"S": hashlib.sha256(body).hexdigest()},
            "size": {"N": str(len(body))},
            "encoding": {"S": "json"},
        },
    )
    with pytest.raises(PayloadEncodingError, match="NaN"):
        ours.get_item("tampered")
    # ... and sfn-offload never writes one.
    with pytest.raises(PayloadEncodingError, match="NaN"):
        ours.put_item("refused", {"x": math.nan})


# --------------------------------------------------------------------------------------------
# compression is opt-in and documented as not py2sfn-readable
# --------------------------------------------------------------------------------------------


def test_default_writes_stay_py2sfn_readable_and_gzip_is_opt_in(
    legacy: Any, moto_resources: AwsResources
) -> None:
    value = {"rows": ["same text again"] * 500}
    plain = StateDataClient(moto_resources.table, NAMESPACE, s3_bucket=moto_resources.bucket)
    assert plain.repository.config.compression == "none"
    plain.put_item("plain", value)
    assert legacy.get_item("plain") == value

    gz = StateDataClient(
        moto_resources.table,
        NAMESPACE,
        s3_bucket=moto_resources.bucket,
        config=OffloadConfig(compression="gzip"),
    )
    gz.put_item("zipped", value)
    item = raw_item(moto_resources, f"{NAMESPACE}:zipped")
    assert "data" not in item  # py2sfn cannot read this item: that is the documented trade-off
    assert item["encoding"] == {"S": "json+gzip"}
    assert plain.get_item("zipped") == value  # sfn-offload reads both


# --------------------------------------------------------------------------------------------
# sanity: the py2sfn client is the one under test, not a fresh boto3 default
# --------------------------------------------------------------------------------------------


def test_data_written_by_py2sfn_is_visible_to_a_fresh_moto_client(
    legacy: Any, moto_resources: AwsResources
) -> None:
    legacy.put_item("seen", {"a": 1})
    client = boto3.client("dynamodb", region_name=moto_resources.region)
    items = client.scan(TableName=moto_resources.table)["Items"]
    assert [json.loads(i["data"]["S"]) for i in items] == [{"a": 1}]
