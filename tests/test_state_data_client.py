"""StateDataClient against DynamoDB and S3 (moto always; real AWS when opted in).

The py2sfn-task-tools API, kept name for name, with its bugs fixed.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.conftest import create_table

from sfn_offload import (
    ConfigurationError,
    NoItemFound,
    PayloadTooLargeError,
    PointerError,
    StateDataClient,
    StateDataClientError,
)
from sfn_offload.errors import PointerNotAllowedError

NAMESPACE = "exec-0001"
BIG = "z" * 3_000_000  # multi-MB: over any DynamoDB item, so it must go to S3
DAY = 86_400


class CallLog:
    """Counts the requests one boto3 client sends, via a hook on OUR OWN client instance."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register("before-parameter-build", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def count(self) -> Counter[str]:
        return Counter(name for name, _ in self.calls)

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [p for name, p in self.calls if name == operation]


@pytest.fixture
def clients(aws: Any) -> tuple[Any, Any, CallLog, CallLog]:
    ddb, s3 = aws.dynamodb(), aws.s3()
    return ddb, s3, CallLog(ddb), CallLog(s3)


@pytest.fixture
def client(aws: Any, clients: tuple[Any, Any, CallLog, CallLog]) -> StateDataClient:
    ddb, s3, _, _ = clients
    return StateDataClient(
        aws.table, NAMESPACE, s3_bucket=aws.bucket, dynamodb_client=ddb, s3_client=s3
    )


@pytest.fixture
def other_table(aws: Any) -> Iterator[str]:
    """A second table, as a global put/get would target one owned by another workflow."""
    name = f"{aws.table}-other"
    ddb = aws.dynamodb()
    create_table(ddb, name)
    yield name
    ddb.delete_table(TableName=name)


def raw_item(aws: Any, table: str, partition_key: str, index: int = 0) -> dict[str, Any] | None:
    response = aws.dynamodb().get_item(
        TableName=table,
        Key={"partition_key": {"S": partition_key}, "sort_key": {"N": str(index)}},
        ConsistentRead=True,
    )
    item: dict[str, Any] | None = response.get("Item")
    return item


def object_keys(aws: Any) -> list[str]:
    response = aws.s3().list_objects_v2(Bucket=aws.bucket)
    return sorted(o["Key"] for o in response.get("Contents", []))


def map_event(result: dict[str, Any], index: object) -> dict[str, Any]:
    """What a py2sfn Map state's ItemSelector hands each iteration."""
    return {
        "items_result_table_name": result["table_name"],
        "items_result_partition_key": result["partition_key"],
        "items_result_key": result.get("key", "unused"),
        "context_index": index,
        "context_value": 1,
    }


# --------------------------------------------------------------------------------------------
# the py2sfn API surface
# --------------------------------------------------------------------------------------------

PY2SFN_METHODS = [
    "put_item",
    "get_item",
    "put_items",
    "get_items",
    "put_item_for_map_iteration",
    "get_item_for_map_iteration",
    "put_global_item",
    "get_global_item",
    "put_global_items",
    "get_global_items",
    "put_global_item_for_map_iteration",
    "get_global_item_for_map_iteration",
]


def py2sfn_client_class() -> Any:
    """py2sfn-task-tools' client, imported late: it builds boto3 clients when imported."""
    from py2sfn_task_tools.state_data_client import (  # type: ignore[import-untyped]
        StateDataClient as Py2sfnClient,
    )

    return Py2sfnClient


@pytest.mark.parametrize("method", PY2SFN_METHODS)
def test_given_py2sfn_code_then_every_method_has_the_same_parameters_and_defaults(
    method: str,
) -> None:
    py2sfn_client = py2sfn_client_class()

    def shape(fn: Callable[..., Any]) -> list[tuple[str, Any]]:
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]

    assert shape(getattr(StateDataClient, method)) == shape(getattr(py2sfn_client, method))


def test_given_py2sfn_code_then_the_constructor_takes_the_same_positional_arguments() -> None:
    py2sfn_client = py2sfn_client_class()

    ours = list(inspect.signature(StateDataClient).parameters)[:4]
    theirs = list(inspect.signature(py2sfn_client).parameters)
    assert ours == theirs == ["default_table_name", "namespace", "ttl_days", "s3_bucket"]


def test_given_put_item_then_it_returns_py2sfn_keys_and_get_item_reads_it(
    aws: Any, client: StateDataClient
) -> None:
    result = client.put_item("characters", {"name": "jerry", "emoji": "🥒"})
    assert result["table_name"] == aws.table
    assert result["partition_key"] == f"{NAMESPACE}:characters"
    assert result["key"] == "characters"
    assert client.get_item("characters") == {"name": "jerry", "emoji": "🥒"}


def test_given_an_index_then_put_and_get_address_that_sort_key(
    aws: Any, client: StateDataClient
) -> None:
    client.put_item("k", "zero")
    client.put_item("k", "three", 3)
    assert client.get_item("k", 3) == "three"
    assert client.get_item("k") == "zero"
    assert raw_item(aws, aws.table, f"{NAMESPACE}:k", 3) is not None


def test_given_a_stored_item_then_it_is_py2sfn_shaped_compact_utf8_with_the_default_ttl(
    aws: Any, client: StateDataClient
) -> None:
    client.put_item("k", {"name": "Zoë"})
    item = raw_item(aws, aws.table, f"{NAMESPACE}:k")
    assert item is not None
    assert item["data"] == {"S": '{"name":"Zoë"}'}
    assert "s3_key" not in item
    # 380 days: a Standard execution's longest run plus its redrive window (docs/RELIABILITY.md)
    assert abs(int(item["expires_at"]["N"]) - (time.time() + 380 * DAY)) < 3600


def test_given_put_global_item_then_it_returns_table_and_partition_key(
    aws: Any, client: StateDataClient
) -> None:
    result = client.put_global_item(aws.table, "other-exec:shared", [1, 2, 3])
    assert result["table_name"] == aws.table
    assert result["partition_key"] == "other-exec:shared"
    assert "key" not in result
    assert client.get_global_item(aws.table, "other-exec:shared") == [1, 2, 3]


def test_given_put_items_then_it_returns_the_map_placeholder_and_get_items_the_list(
    aws: Any, client: StateDataClient
) -> None:
    rows = [{"id": i} for i in range(30)]  # more than one BatchWriteItem (25)
    result = client.put_items("rows", rows)
    assert result["table_name"] == aws.table
    assert result["partition_key"] == f"{NAMESPACE}:rows"
    assert result["key"] == "rows"
    assert result["items"] == [1] * 30
    assert client.get_items("rows") == rows
    assert client.get_item("rows", 29) == {"id": 29}


def test_given_put_global_items_then_it_writes_to_and_returns_the_table_given(
    aws: Any, client: StateDataClient, other_table: str
) -> None:
    # py2sfn bug 1: it wrote to the default table and returned the default table's name.
    result = client.put_global_items(other_table, "producer:batch", ["a", "b"])
    assert result["table_name"] == other_table
    assert result["partition_key"] == "producer:batch"
    assert result["items"] == [1, 1]
    assert raw_item(aws, other_table, "producer:batch", 1) is not None
    assert raw_item(aws, aws.table, "producer:batch", 0) is None
    assert client.get_global_items(other_table, "producer:batch") == ["a", "b"]


def test_given_a_shorter_put_items_then_get_items_returns_exactly_the_shorter_list(
    client: StateDataClient,
) -> None:
    # py2sfn bug 2: ['a', 'b', 3, 4, 5]
    client.put_items("k", [1, 2, 3, 4, 5])
    client.put_items("k", ["a", "b"])
    assert client.get_items("k") == ["a", "b"]


def test_given_a_retried_put_items_with_identical_data_then_only_a_listing_is_sent(
    client: StateDataClient, clients: tuple[Any, Any, CallLog, CallLog]
) -> None:
    # py2sfn bug 6: a retried put_items re-uploaded everything
    _, _, ddb_log, s3_log = clients
    rows = ["a" * 400_000, "b" * 400_000, {"small": 1}, "c" * 400_000]  # three overflow
    client.put_items("rows", rows)
    ddb_log.calls.clear()
    s3_log.calls.clear()
    client.put_items("rows", rows)
    assert ddb_log.count() == {"Query": 1}
    assert s3_log.calls == []
    assert client.get_items("rows") == rows


def test_given_a_list_spanning_several_query_pages_then_get_items_is_consistent_and_ordered(
    client: StateDataClient, clients: tuple[Any, Any, CallLog, CallLog]
) -> None:
    _, _, ddb_log, _ = clients
    rows = [{"i": i, "pad": "p" * 1000} for i in range(1100)]  # ~1.1 MB: two Query pages
    client.put_items("rows", rows)
    ddb_log.calls.clear()
    assert client.get_items("rows") == rows
    queries = ddb_log.params("Query")
    assert len(queries) >= 2
    assert all(q.get("ConsistentRead") is True for q in queries)  # py2sfn bug 3
    assert "BatchGetItem" not in ddb_log.count()  # the query already returned the items


def test_given_a_missing_key_then_no_item_found_which_py2sfn_code_catches(
    client: StateDataClient,
) -> None:
    with pytest.raises(NoItemFound) as info:
        client.get_item("never-written")
    assert isinstance(info.value, StateDataClientError)
    assert f"{NAMESPACE}:never-written" in str(info.value)


def test_given_a_missing_table_then_configuration_error_not_no_item_found(aws: Any) -> None:
    client = StateDataClient("no-such-table-anywhere", NAMESPACE, s3_bucket=aws.bucket)
    with pytest.raises(ConfigurationError, match="does not exist"):
        client.get_item("k")
    with pytest.raises(ConfigurationError):
        client.put_item("k", 1)


# --------------------------------------------------------------------------------------------
# S3 overflow
# --------------------------------------------------------------------------------------------


def test_given_a_multi_mb_payload_then_it_goes_to_s3_and_reads_back(
    aws: Any, client: StateDataClient
) -> None:
    client.put_item("report", BIG)
    partition_key = f"{NAMESPACE}:report"
    item = raw_item(aws, aws.table, partition_key)
    assert item is not None
    assert "data" not in item
    # py2sfn's prefix and address, then the digest and a per-write nonce (py2sfn reads s3_key)
    key = item["s3_key"]["S"]
    assert key.startswith(f"workflow_state_data/{aws.table}/{partition_key}/0/")
    assert item["s3_bucket"] == {"S": aws.bucket}
    assert object_keys(aws) == [key]
    assert client.get_item("report") == BIG


def test_given_a_large_item_overwritten_by_a_small_one_then_the_s3_object_is_deleted(
    aws: Any, client: StateDataClient
) -> None:
    client.put_item("report", BIG)
    client.put_item("report", {"small": True})
    assert object_keys(aws) == []
    assert client.get_item("report") == {"small": True}


def test_given_a_list_with_large_elements_replaced_by_a_shorter_one_then_s3_is_cleaned(
    aws: Any, client: StateDataClient
) -> None:
    client.put_items("rows", ["small", BIG, BIG])
    assert len(object_keys(aws)) == 2
    client.put_items("rows", ["small"])
    assert object_keys(aws) == []
    assert client.get_items("rows") == ["small"]


def test_given_a_large_list_element_then_get_items_fetches_it_from_s3(
    client: StateDataClient,
) -> None:
    client.put_items("rows", ["a", BIG, "c"])
    assert client.get_items("rows") == ["a", BIG, "c"]


# --------------------------------------------------------------------------------------------
# Map iteration helpers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", [2, "2"])
def test_given_a_map_iteration_event_then_local_helpers_read_and_write_that_element(
    client: StateDataClient, index: object
) -> None:
    result = client.put_items("rows", ["r0", "r1", "r2"])
    event = map_event(result, index)
    assert client.get_item_for_map_iteration(event) == "r2"
    put = client.put_item_for_map_iteration(event, "processed-2")
    assert put["key"] == "rows"
    assert client.get_item("rows", 2) == "processed-2"


@pytest.mark.parametrize("index", [1, "1"])
def test_given_a_map_iteration_event_then_global_helpers_read_and_write_that_element(
    client: StateDataClient, index: object
) -> None:
    result = client.put_global_items(client.default_table_name, "producer:rows", ["a", "b"])
    event = map_event(result, index)
    assert client.get_global_item_for_map_iteration(event) == "b"
    put = client.put_global_item_for_map_iteration(event, "B")
    assert put["partition_key"] == "producer:rows"
    assert client.get_global_items(client.default_table_name, "producer:rows") == ["a", "B"]


@pytest.mark.parametrize("index", [-1, "-1", "abc", "", True, False, 1.0, 1.5, None, [0], "٣"])
def test_given_a_bad_context_index_then_pointer_error_before_any_request(
    client: StateDataClient, clients: tuple[Any, Any, CallLog, CallLog], index: object
) -> None:
    _, _, ddb_log, s3_log = clients
    event = map_event({"table_name": client.default_table_name, "partition_key": "p:k"}, index)
    helpers: list[Callable[[], Any]] = [
        lambda: client.get_item_for_map_iteration(event),
        lambda: client.put_item_for_map_iteration(event, "x"),
        lambda: client.get_global_item_for_map_iteration(event),
        lambda: client.put_global_item_for_map_iteration(event, "x"),
    ]
    for helper in helpers:
        with pytest.raises(PointerError, match="context_index"):
            helper()
    assert ddb_log.calls == []
    assert s3_log.calls == []


def test_given_a_map_event_without_context_index_then_pointer_error_says_what_is_missing(
    client: StateDataClient,
) -> None:
    event = map_event({"table_name": client.default_table_name, "partition_key": "p:k"}, 0)
    del event["context_index"]
    with pytest.raises(PointerError, match=r"missing \['context_index'\]"):
        client.get_item_for_map_iteration(event)


@pytest.mark.parametrize("helper", ["get_item_for_map_iteration", "put_item_for_map_iteration"])
def test_given_a_null_items_result_key_then_pointer_error(
    client: StateDataClient, helper: str
) -> None:
    # e.g. an ItemSelector path that resolved to null; must not surface as AssertionError
    event = {"items_result_key": None, "context_index": 0, "context_value": 1}
    args = (event,) if helper.startswith("get") else (event, "x")
    with pytest.raises(PointerError, match="items_result_key"):
        getattr(client, helper)(*args)


@pytest.mark.parametrize(
    "helper", ["get_global_item_for_map_iteration", "put_global_item_for_map_iteration"]
)
def test_given_a_null_items_result_partition_key_then_pointer_error_before_any_request(
    client: StateDataClient, clients: tuple[Any, Any, CallLog, CallLog], helper: str
) -> None:
    _, _, ddb_log, _ = clients
    event = {
        "items_result_table_name": client.default_table_name,
        "items_result_partition_key": None,
        "context_index": 0,
    }
    args = (event,) if helper.startswith("get") else (event, "x")
    with pytest.raises(PointerError, match="items_result_partition_key"):
        getattr(client, helper)(*args)
    assert ddb_log.calls == []


def test_given_a_global_map_event_naming_a_table_off_the_allow_list_then_refused(
    client: StateDataClient, clients: tuple[Any, Any, CallLog, CallLog], other_table: str
) -> None:
    _, _, ddb_log, _ = clients
    client.put_global_items(other_table, "producer:rows", ["a"])  # trusted: code names the table
    ddb_log.calls.clear()
    event = map_event({"table_name": other_table, "partition_key": "producer:rows"}, 0)
    with pytest.raises(PointerNotAllowedError, match=other_table):
        client.get_global_item_for_map_iteration(event)
    with pytest.raises(PointerNotAllowedError, match="SFN_OFFLOAD_ALLOWED_TABLES"):
        client.put_global_item_for_map_iteration(event, "x")
    assert ddb_log.calls == []


# --------------------------------------------------------------------------------------------
# construction without region or bucket, and client handling
# --------------------------------------------------------------------------------------------


def test_given_no_region_or_credentials_then_construction_succeeds_and_first_use_explains(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    client = StateDataClient("state", NAMESPACE)
    assert client.s3_bucket is None
    assert client.repository.clients.created == []
    with pytest.raises(ConfigurationError, match="region"):
        client.put_item("k", 1)


def test_given_no_arguments_and_no_environment_then_use_asks_for_a_table() -> None:
    client = StateDataClient()
    with pytest.raises(ConfigurationError, match="SFN_OFFLOAD_TABLE"):
        client.put_item("k", 1)


def test_given_no_bucket_then_small_data_works_and_large_data_names_the_missing_bucket(
    aws: Any,
) -> None:
    client = StateDataClient(aws.table, NAMESPACE)
    assert client.s3_bucket is None
    client.put_items("rows", [1, 2])
    assert client.get_items("rows") == [1, 2]
    with pytest.raises(PayloadTooLargeError, match="SFN_OFFLOAD_BUCKET"):
        client.put_item("big", BIG)
    assert "s3" not in client.repository.clients.created


def test_given_the_py2sfn_bucket_variable_then_it_is_read_at_construction(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_before = StateDataClient(aws.table, NAMESPACE)
    monkeypatch.setenv("SFN_DATA_S3_BUCKET", aws.bucket)
    client_after = StateDataClient(aws.table, NAMESPACE)
    assert client_before.s3_bucket is None  # not frozen at import (py2sfn bug 5)
    assert client_after.s3_bucket == aws.bucket
    client_after.put_item("big", BIG)
    assert client_after.get_item("big") == BIG


def test_given_injected_clients_then_they_are_used_and_not_modified(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ddb, s3 = aws.dynamodb(), aws.s3()
    ddb_log, s3_log = CallLog(ddb), CallLog(s3)
    configs = (ddb.meta.config, s3.meta.config)
    registered: list[str] = []
    for injected in (ddb, s3):
        for method in ("register", "register_first", "register_last", "unregister"):
            monkeypatch.setattr(
                injected.meta.events,
                method,
                lambda event, *a, _m=method, **k: registered.append(f"{_m} {event}"),
            )
    client = StateDataClient(
        aws.table, NAMESPACE, s3_bucket=aws.bucket, dynamodb_client=ddb, s3_client=s3
    )
    client.put_item("big", BIG)
    client.put_items("rows", [1, 2, 3])
    assert client.get_item("big") == BIG
    assert client.get_items("rows") == [1, 2, 3]
    assert ddb_log.count()["PutItem"] == 1
    assert ddb_log.count()["BatchWriteItem"] == 2  # the list's proof page, then its elements
    assert s3_log.count()["PutObject"] == 1
    assert s3_log.count()["GetObject"] == 1
    assert client.repository.clients.created == []
    assert client.repository.clients.dynamodb is ddb
    assert client.repository.clients.s3 is s3
    assert registered == []
    assert (ddb.meta.config, s3.meta.config) == configs


def test_given_many_calls_then_each_boto3_client_is_created_once(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    original: Any = boto3.session.Session.client

    def counting(self: boto3.session.Session, service_name: str, *a: Any, **k: Any) -> Any:
        created.append(service_name)
        return original(self, service_name, *a, **k)

    monkeypatch.setattr(boto3.session.Session, "client", counting)
    client = StateDataClient(aws.table, NAMESPACE, s3_bucket=aws.bucket)
    assert created == []  # lazily: nothing at construction
    for i in range(3):
        client.put_item(f"k{i}", {"i": i})
        client.put_item(f"big{i}", BIG[:500_000])
        assert client.get_item(f"k{i}") == {"i": i}
        assert client.get_item(f"big{i}") == BIG[:500_000]
    client.put_items("rows", ["a", "b"])
    assert client.get_items("rows") == ["a", "b"]
    assert Counter(created) == {"dynamodb": 1, "s3": 1}
