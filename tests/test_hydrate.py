"""Before the handler: every reference in the event becomes its data, batched and verified."""

from __future__ import annotations

import copy
import logging
import math
import threading
from collections import UserDict
from typing import Any

import boto3
import pytest

from conftest import AwsResources
from fakes import BUCKET, EXECUTION_ARN, TABLE, FakeLambdaContext, memory_repo, requests
from sfn_offload import (
    NoItemFound,
    OffloadConfig,
    PayloadTooLargeError,
    PointerError,
    StateDataClient,
    fan_out,
    hydrate,
    state_offload,
)
from sfn_offload.errors import IntegrityError, PointerNotAllowedError
from sfn_offload.storage import AwsClients, PayloadRepository, Record
from sfn_offload.storage.base import Address
from sfn_offload.testing import RequestCounter
from sfn_offload.wire import Pointer, is_pointer


def _pointer(repo: PayloadRepository, key: str, value: Any, *, index: int = 0) -> dict[str, Any]:
    return repo.write_value(key, index, repo.encode(value)).to_dict()


def _list_pointer(repo: PayloadRepository, key: str, items: list[Any]) -> dict[str, Any]:
    """A fan-out list pointer (py2sfn put_items layout) carrying the list's digest."""
    root = repo.write_items(TABLE, key, [repo.encode(item) for item in items])
    return Pointer("dynamodb", TABLE, key, sha256=root, count=len(items)).to_dict(with_items=True)


def _clear_counters(repo: PayloadRepository) -> None:
    """Forget the calls the in-memory stores have counted so far."""
    for store in (repo.dynamodb, repo.s3):
        store.requests.clear()  # type: ignore[attr-defined]


def _count_requests(repo: PayloadRepository) -> RequestCounter:
    """Counts the AWS requests of ``repo``'s own clients from now on."""
    return RequestCounter(repo.clients.dynamodb, repo.clients.s3)


def _moto_repo(resources: AwsResources, **config: Any) -> PayloadRepository:
    return PayloadRepository(
        OffloadConfig(table=resources.table, bucket=resources.bucket, **config)
    )


# --------------------------------------------------------------------------------------------
# where references are found
# --------------------------------------------------------------------------------------------


def test_pointers_at_any_depth_in_dicts_and_lists_are_replaced() -> None:
    """GIVEN pointers at the top, inside nested dicts, inside lists and inside lists of dicts
    WHEN the event is hydrated
    THEN each pointer is replaced by its value and everything else is unchanged."""
    repo = memory_repo()
    event = {
        "top": _pointer(repo, "run:top", {"t": 1}),
        "a": {"b": {"c": _pointer(repo, "run:c", "deep string")}},
        "rows": [1, _pointer(repo, "run:row", [1, 2]), {"x": _pointer(repo, "run:x", None)}],
        "plain": {"n": 5, "s": "text"},
    }

    out = hydrate(event, repo)

    assert out == {
        "top": {"t": 1},
        "a": {"b": {"c": "deep string"}},
        "rows": [1, [1, 2], {"x": None}],
        "plain": {"n": 5, "s": "text"},
    }


def test_a_map_states_output_list_of_pointers_becomes_the_list_of_values() -> None:
    """GIVEN a Map state's output: one pointer per iteration, in a list
    WHEN it is the event (or a field of it)
    THEN the list of per-iteration values comes back, in order."""
    repo = memory_repo()
    results = [_pointer(repo, "run:iteration", {"i": i}, index=i) for i in range(6)]

    assert hydrate(results, repo) == [{"i": i} for i in range(6)]
    assert hydrate({"map_results": results}, repo) == {"map_results": [{"i": i} for i in range(6)]}


def test_a_pointer_as_the_whole_event_is_replaced_by_its_value() -> None:
    """GIVEN the previous task's whole result was offloaded (the event is one pointer)
    WHEN the decorated handler runs
    THEN it receives the original object."""
    repo = memory_repo()
    event = _pointer(repo, "run:result", {"status": "ok", "rows": list(range(10))})

    @state_offload(repository=repo)
    def handler(event: dict[str, Any], context: Any) -> int:
        return sum(event["rows"])

    assert handler(event, FakeLambdaContext()) == 45


# --------------------------------------------------------------------------------------------
# request counts (moto, counted on the repository's botocore clients)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 100, 101, 250])
def test_dynamodb_pointers_of_one_event_are_fetched_with_batch_get_item(
    moto_resources: AwsResources, n: int
) -> None:
    """GIVEN an event holding N DynamoDB pointers spread over the event
    WHEN it is hydrated
    THEN exactly ceil(N/100) BatchGetItem requests are sent, and nothing else."""
    repo = _moto_repo(moto_resources)
    pointers = [_pointer(repo, f"run:p{i}", {"i": i}) for i in range(n)]
    event = {"first": pointers[:1], "rest": {"deep": pointers[1:]}}

    with _count_requests(repo) as counter:
        out = hydrate(event, repo)

    assert counter.for_service("DynamoDB") == {"BatchGetItem": math.ceil(n / 100)}
    assert counter.for_service("S3") == {}
    assert out["first"] + out["rest"]["deep"] == [{"i": i} for i in range(n)]


def test_s3_objects_are_fetched_concurrently(moto_resources: AwsResources) -> None:
    """GIVEN an event holding three S3 pointers
    WHEN it is hydrated
    THEN the three GetObject calls are in flight at the same time (each waits at a barrier
    that only opens when all three have arrived), and each is sent once."""
    repo = _moto_repo(moto_resources, item_budget_bytes=1)  # everything goes to S3
    event = {f"part{i}": _pointer(repo, f"run:part{i}", "v" * (1000 + i)) for i in range(3)}
    assert all(p["backend"] == "s3" for p in event.values())

    s3 = boto3.client("s3", region_name=moto_resources.region)
    barrier = threading.Barrier(3, timeout=10)

    def wait_for_the_others(**_: Any) -> None:
        barrier.wait()  # returns only once all three requests are in flight

    s3.meta.events.register("before-call.s3.GetObject", wait_for_the_others)
    reader = PayloadRepository(repo.config, clients=AwsClients(s3_client=s3))

    with RequestCounter(s3) as counter:
        out = hydrate(event, reader)

    assert out == {f"part{i}": "v" * (1000 + i) for i in range(3)}
    assert counter.for_service("S3") == {"GetObject": 3}
    assert not barrier.broken


def test_mixed_dynamodb_and_s3_pointers_need_one_batch_and_one_get_per_object(
    moto_resources: AwsResources,
) -> None:
    """GIVEN 150 small pointers (DynamoDB) and 2 large ones (S3) in one event
    WHEN it is hydrated
    THEN 2 BatchGetItem and 2 GetObject requests are sent."""
    repo = _moto_repo(moto_resources)
    event = {
        "small": [_pointer(repo, f"run:s{i}", i) for i in range(150)],
        "large": [_pointer(repo, f"run:l{i}", "L" * 400_000) for i in range(2)],
    }
    assert {p["backend"] for p in event["large"]} == {"s3"}

    with _count_requests(repo) as counter:
        out = hydrate(event, repo)

    assert out["small"] == list(range(150))
    assert out["large"] == ["L" * 400_000] * 2
    assert counter.for_service("DynamoDB") == {"BatchGetItem": 2}
    assert counter.for_service("S3") == {"GetObject": 2}


def test_an_event_without_references_causes_no_request_and_is_passed_as_is() -> None:
    """GIVEN an event with no pointer, element reference or py2sfn Map keys (but pointer-like
    words in its text)
    WHEN it is hydrated, directly and by the decorator
    THEN the very same object is returned/received and no store is asked anything."""
    repo = memory_repo()
    event = {"note": "__sfn_offload__ is a word here", "rows": [{"a": 1}], "context_index": 3}
    seen: list[Any] = []

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> str:
        seen.append(event)
        return "ok"

    assert hydrate(event, repo) is event
    assert handler(event, FakeLambdaContext()) == "ok"
    assert seen[0] is event
    assert requests(repo) == {}


def test_marker_shaped_text_without_references_is_walked_but_costs_no_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN an event whose JSON contains the exact marker strings as plain values (so the
    cheap byte pre-check cannot rule references out), but no reference
    WHEN the decorated handler runs
    THEN it receives the same event object, nothing is read and nothing is logged as
    hydrated."""
    repo = memory_repo()
    event = {"words": ["__sfn_offload__", "sfn_offload_list"], "items_result_key": "rows"}
    seen: list[Any] = []
    caplog.set_level(logging.DEBUG, logger="sfn_offload")

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> None:
        seen.append(event)

    handler(event, FakeLambdaContext())

    assert seen[0] is event
    assert requests(repo) == {}
    assert not [m for m in caplog.messages if m.startswith("hydrated")]


# --------------------------------------------------------------------------------------------
# verification and safety
# --------------------------------------------------------------------------------------------


def test_a_tampered_dynamodb_item_is_refused_with_integrity_error() -> None:
    """GIVEN a stored item whose bytes were changed after the pointer was made (same length)
    WHEN the pointer is hydrated
    THEN IntegrityError says the SHA-256 does not match."""
    repo = memory_repo()
    pointer = _pointer(repo, "run:order", {"amount": 100})
    address = Address(TABLE, "run:order", 0)
    store = repo.dynamodb
    original = store.data[address]  # type: ignore[attr-defined]
    store.data[address] = Record(  # type: ignore[attr-defined]
        b'{"amount":999}', original.encoding, original.sha256, original.size
    )

    with pytest.raises(IntegrityError, match="SHA-256"):
        hydrate({"order": pointer}, repo)


def test_a_tampered_item_on_dynamodb_is_refused(moto_resources: AwsResources) -> None:
    """GIVEN an item on DynamoDB whose data attribute someone overwrote
    WHEN the decorated handler receives the pointer
    THEN IntegrityError is raised before the handler runs."""
    repo = _moto_repo(moto_resources)
    pointer = _pointer(repo, "run:order", {"amount": 100})
    moto_resources.dynamodb().update_item(
        TableName=moto_resources.table,
        Key={"partition_key": {"S": "run:order"}, "sort_key": {"N": "0"}},
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":d": {"S": '{"amount":1000000}'}},
    )
    calls: list[Any] = []

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> None:
        calls.append(event)

    with pytest.raises(IntegrityError):
        handler({"order": pointer}, FakeLambdaContext())
    assert calls == []


def test_a_tampered_s3_object_is_refused(moto_resources: AwsResources) -> None:
    """GIVEN an S3 payload replaced by other bytes
    WHEN its pointer is hydrated
    THEN IntegrityError is raised."""
    repo = _moto_repo(moto_resources)
    pointer = _pointer(repo, "run:big", "B" * 400_000)
    assert pointer["backend"] == "s3"
    moto_resources.s3().put_object(
        Bucket=moto_resources.bucket, Key=pointer["key"], Body=b'"' + b"C" * 399_998 + b'"'
    )

    with pytest.raises(IntegrityError):
        hydrate([pointer], repo)


def test_a_missing_item_raises_no_item_found_naming_where() -> None:
    """GIVEN a well-formed pointer to an item that does not exist (expired)
    WHEN it is hydrated
    THEN NoItemFound names the path in the event."""
    repo = memory_repo()
    pointer = Pointer("dynamodb", TABLE, "run:gone", 0, 2, "0" * 64).to_dict()

    with pytest.raises(NoItemFound, match=r"event at \$\.a\[1\]"):
        hydrate({"a": [0, pointer]}, repo)


def test_a_malformed_pointer_raises_pointer_error_naming_the_path() -> None:
    """GIVEN a dict with the marker but a missing field
    WHEN it is hydrated
    THEN PointerError names where it is and what is missing, and nothing is read."""
    repo = memory_repo()
    bad = {"__sfn_offload__": 1, "backend": "dynamodb", "table": TABLE, "key": "k"}

    with pytest.raises(PointerError, match=r"event at \$\.x\.y.*missing field"):
        hydrate({"x": {"y": bad}}, repo)
    assert requests(repo) == {}


def test_loaded_data_that_looks_like_a_pointer_is_not_hydrated_again() -> None:
    """GIVEN a stored value that is itself a valid pointer (to another stored value)
    WHEN the outer pointer is hydrated
    THEN the handler gets the inner pointer as data: one level only, no recursion."""
    repo = memory_repo()
    inner = _pointer(repo, "run:inner", {"secret": "should not be loaded"})
    outer = _pointer(repo, "run:outer", {"nested": inner, "list": [inner]})
    _clear_counters(repo)

    out = hydrate({"data": outer}, repo)

    assert out == {"data": {"nested": inner, "list": [inner]}}
    assert repo.dynamodb.requests == {"get_many": 1}  # type: ignore[attr-defined]


def test_max_hydrate_bytes_refuses_pointers_over_the_cap_before_any_request() -> None:
    """GIVEN pointers recording 2 x 6,002 stored bytes and a cap of 10,000
    WHEN the decorated handler is invoked
    THEN PayloadTooLargeError is raised, no store was asked and the handler did not run."""
    repo = memory_repo()
    event = {"a": _pointer(repo, "run:a", "a" * 6000), "b": _pointer(repo, "run:b", "b" * 6000)}
    _clear_counters(repo)
    calls: list[Any] = []

    @state_offload(repository=repo, max_hydrate_bytes=10_000)
    def handler(event: Any, context: Any) -> None:
        calls.append(event)

    with pytest.raises(PayloadTooLargeError, match="10000-byte hydration cap"):
        handler(event, FakeLambdaContext())
    assert requests(repo) == {}
    assert calls == []


def test_max_hydrate_bytes_applies_to_payloads_of_unknown_size() -> None:
    """GIVEN a py2sfn Map-iteration event (its element's size is not known in advance) whose
    element is 20 KB, and a 10,000-byte cap
    WHEN it is hydrated
    THEN PayloadTooLargeError is raised while loading."""
    repo = memory_repo()
    StateDataClient(TABLE, "run-42", repository=repo).put_items("rows", ["r" * 20_000])
    event = {
        "items_result_table_name": TABLE,
        "items_result_partition_key": "run-42:rows",
        "items_result_key": "rows",
        "context_index": 0,
        "context_value": 1,
        "sfn_execution_arn": EXECUTION_ARN,  # execution run-42: its py2sfn namespace
    }

    with pytest.raises(PayloadTooLargeError, match="hydration cap"):
        hydrate(event, repo, max_bytes=10_000)


def test_max_hydrate_bytes_lets_payloads_under_the_cap_through() -> None:
    """GIVEN pointers totalling less than the cap
    WHEN hydrated with the cap
    THEN the values load."""
    repo = memory_repo()
    event = [_pointer(repo, "run:a", "a" * 100), _pointer(repo, "run:b", "b" * 100)]

    assert hydrate(event, repo, max_bytes=10_000) == ["a" * 100, "b" * 100]


@pytest.mark.parametrize("backend", ["dynamodb", "s3"])
def test_a_pointer_off_the_allow_list_is_refused_before_any_request(backend: str) -> None:
    """GIVEN an event with one allowed pointer and one naming another table/bucket
    WHEN it is hydrated
    THEN PointerNotAllowedError names the container, and no store was asked anything."""
    repo = memory_repo()
    good = _pointer(repo, "run:ok", 1)
    bad = Pointer(backend, "someone-elses-data", "k", 0, 1, "0" * 64).to_dict()  # type: ignore[arg-type]
    _clear_counters(repo)

    with pytest.raises(PointerNotAllowedError, match="someone-elses-data"):
        hydrate({"good": good, "bad": [bad]}, repo)
    assert requests(repo) == {}


def test_extra_allowed_tables_can_be_read() -> None:
    """GIVEN allowed_tables naming the configured table and a second one
    WHEN a pointer into the second table is hydrated
    THEN it loads."""
    repo = memory_repo(allowed_tables=frozenset({TABLE, "shared-table"}))
    pointer = repo.write_value("run:k", 0, repo.encode("shared"), table="shared-table").to_dict()

    assert hydrate({"v": pointer}, repo) == {"v": "shared"}


def test_the_callers_event_is_not_mutated() -> None:
    """GIVEN a nested event with pointers in dicts and lists
    WHEN it is hydrated (directly and by the decorator)
    THEN the event still holds the pointers afterwards, equal to a deep copy taken before;
    subtrees without references are shared, not copied."""
    repo = memory_repo()
    event = {
        "a": {"b": [_pointer(repo, "run:1", 1), {"c": _pointer(repo, "run:2", 2)}]},
        "untouched": {"big": list(range(100))},
    }
    before = copy.deepcopy(event)

    out = hydrate(event, repo)

    @state_offload(repository=repo)
    def handler(event: dict[str, Any], context: Any) -> int:
        event["a"]["b"][0] = "handler writes to its own copy"
        return len(event)

    handler(event, FakeLambdaContext())

    assert event == before
    assert out == {"a": {"b": [1, {"c": 2}]}, "untouched": {"big": list(range(100))}}
    assert out["untouched"] is event["untouched"]


# --------------------------------------------------------------------------------------------
# Map iterations
# --------------------------------------------------------------------------------------------


def _py2sfn_map_event(index: object, *, global_keys: bool = True) -> dict[str, Any]:
    event: dict[str, Any] = {
        "items_result_key": "rows",
        "context_index": index,
        "context_value": 1,
        "sfn_execution_arn": EXECUTION_ARN,
    }
    if global_keys:
        event["items_result_table_name"] = TABLE
        event["items_result_partition_key"] = "run-42:rows"
    return event


@pytest.mark.parametrize("index", [2, "2"])
@pytest.mark.parametrize("global_keys", [True, False])
def test_a_py2sfn_map_event_gets_its_element_and_the_explicit_client_still_works(
    index: object, global_keys: bool
) -> None:
    """GIVEN a list stored with py2sfn's put_items under the execution name, and a py2sfn
    Map-iteration event (context_index as int or digit string; global or local keys)
    WHEN the decorated handler runs
    THEN event["context_value"] is the element, the items_result_* keys are still there, and
    context.state_data_client.get_item_for_map_iteration(event) returns the same element."""
    repo = memory_repo()
    rows = [{"row": i} for i in range(5)]
    StateDataClient(TABLE, "run-42", repository=repo).put_items("rows", rows)
    event = _py2sfn_map_event(index, global_keys=global_keys)

    @state_offload(repository=repo)
    def handler(event: dict[str, Any], context: Any) -> list[Any]:
        return [event["context_value"], context.state_data_client.get_item_for_map_iteration(event)]

    assert handler(event, FakeLambdaContext()) == [{"row": 2}, {"row": 2}]
    assert event["context_value"] == 1  # the caller's event is untouched


def test_a_py2sfn_map_event_given_as_another_mapping_is_not_mutated() -> None:
    """GIVEN a py2sfn Map-iteration event held in a Mapping that is not a dict (UserDict)
    WHEN hydrate() resolves it
    THEN a dict with the element comes back and the caller's mapping keeps its placeholder."""
    repo = memory_repo()
    StateDataClient(TABLE, "run-42", repository=repo).put_items("rows", ["a", "b"])
    event = UserDict(_py2sfn_map_event(1))

    out = hydrate(event, repo)

    assert type(out) is dict
    assert out["context_value"] == "b"
    assert event["context_value"] == 1


def test_a_local_py2sfn_map_event_without_identity_matches_the_explicit_client() -> None:
    """GIVEN a producer without any execution identity that stored a list through
    context.state_data_client.put_items, and a local Map-iteration event (no partition key,
    no identity) for the consumer
    WHEN the consumer runs
    THEN hydration and get_item_for_map_iteration agree on the element (same namespace)."""
    repo = memory_repo()

    @state_offload(repository=repo)
    def producer(event: Any, context: Any) -> dict[str, Any]:
        return dict(context.state_data_client.put_items("rows", ["a", "b", "c"]))

    @state_offload(repository=repo)
    def consumer(event: dict[str, Any], context: Any) -> list[Any]:
        return [event["context_value"], context.state_data_client.get_item_for_map_iteration(event)]

    produced = producer({}, FakeLambdaContext())
    event = {"items_result_key": "rows", "context_index": 1, "context_value": 1}

    assert produced["items"] == [1, 1, 1]
    assert consumer(event, FakeLambdaContext()) == ["b", "b"]


def test_hydrate_refuses_a_local_map_event_without_a_namespace() -> None:
    """GIVEN a local py2sfn Map event and no py2sfn namespace
    WHEN hydrate() is called directly
    THEN PointerError explains that the execution name is needed (rather than reading a
    partition key built from ``None``)."""
    repo = memory_repo()
    event = {"items_result_key": "rows", "context_index": 0, "context_value": 1}

    with pytest.raises(PointerError, match="execution name"):
        hydrate(event, repo)
    assert requests(repo) == {}


def test_a_py2sfn_map_event_naming_a_table_off_the_allow_list_is_refused() -> None:
    """GIVEN a global Map event whose items_result_table_name is not allowed
    WHEN it is hydrated
    THEN PointerNotAllowedError, before any request."""
    repo = memory_repo()
    event = _py2sfn_map_event(0) | {"items_result_table_name": "other-teams-table"}

    with pytest.raises(PointerNotAllowedError, match="other-teams-table"):
        hydrate(event, repo)
    assert requests(repo) == {}


def test_an_element_reference_resolves_to_that_element() -> None:
    """GIVEN a fan-out list pointer of 5 elements and the element-reference selector the
    documented ItemSelector builds, for index 3
    WHEN the decorated handler runs
    THEN the selector is replaced by element 3 alone (one item read)."""
    repo = memory_repo()
    list_pointer = _list_pointer(repo, "run:shards", [{"shard": i} for i in range(5)])
    _clear_counters(repo)
    event = {"item": {"sfn_offload_list": list_pointer, "sfn_offload_index": 3}, "run": "r"}

    @state_offload(repository=repo)
    def handler(event: dict[str, Any], context: Any) -> Any:
        return event

    assert handler(event, FakeLambdaContext()) == {"item": {"shard": 3}, "run": "r"}
    assert repo.dynamodb.requests == {"get_many": 1}  # type: ignore[attr-defined]


def test_a_fan_out_produced_by_one_task_feeds_map_iterations_and_whole_list_consumers() -> None:
    """GIVEN a producer that returns fan_out([...]) of 4 elements
    WHEN each Map iteration gets an element reference, and another consumer gets the list
    pointer whole
    THEN each iteration sees only its element, and the whole-list consumer the full list."""
    repo = memory_repo()
    shards = [{"shard": i, "rows": list(range(i))} for i in range(4)]

    @state_offload(repository=repo)
    def producer(event: Any, context: Any) -> dict[str, Any]:
        return {"shards": fan_out(shards), "count": len(shards)}

    @state_offload(repository=repo)
    def iteration(event: dict[str, Any], context: Any) -> int:
        return int(event["shard"]["shard"])

    @state_offload(repository=repo)
    async def whole(event: dict[str, Any], context: Any) -> list[Any]:
        return list(event["shards"])

    out = producer({}, FakeLambdaContext())
    pointer = out["shards"]

    assert is_pointer(pointer)
    assert pointer["items"] == [1, 1, 1, 1]
    assert [
        iteration(
            {"shard": {"sfn_offload_list": pointer, "sfn_offload_index": i}}, FakeLambdaContext()
        )
        for i in range(4)
    ] == [0, 1, 2, 3]
    assert whole(out, FakeLambdaContext()) == shards


@pytest.mark.parametrize(
    ("selector_extra", "message"),
    [
        ({"sfn_offload_index": 5}, r"must be an integer in \[0, 5\)"),
        ({"sfn_offload_index": "1"}, "must be an integer"),
        ({"sfn_offload_index": -1}, "must be an integer"),
        ({"sfn_offload_index": 0, "other": 1}, "holds exactly"),
    ],
)
def test_a_bad_element_reference_is_refused(selector_extra: dict[str, Any], message: str) -> None:
    """GIVEN an element reference with an out-of-range or mistyped index, or extra keys
    WHEN it is hydrated
    THEN PointerError says what is wrong, before any request."""
    repo = memory_repo()
    list_pointer = _list_pointer(repo, "run:l", list(range(5)))
    _clear_counters(repo)

    with pytest.raises(PointerError, match=message):
        hydrate({"item": {"sfn_offload_list": list_pointer, **selector_extra}}, repo)
    assert requests(repo) == {}


def test_an_element_reference_to_a_value_pointer_is_refused() -> None:
    """GIVEN an element reference whose list is a value pointer, not a list pointer
    WHEN it is hydrated
    THEN PointerError says a list pointer is required."""
    repo = memory_repo()
    value_pointer = _pointer(repo, "run:v", [1, 2])

    with pytest.raises(PointerError, match="must be a list pointer"):
        hydrate({"sfn_offload_list": value_pointer, "sfn_offload_index": 0}, repo)


def test_an_element_reference_to_a_table_off_the_allow_list_is_refused() -> None:
    """GIVEN an element reference into a list pointer naming another table
    WHEN it is hydrated
    THEN PointerNotAllowedError."""
    repo = memory_repo()
    foreign = Pointer("dynamodb", "foreign-table", "k", count=3).to_dict()

    with pytest.raises(PointerNotAllowedError, match="foreign-table"):
        hydrate({"sfn_offload_list": foreign, "sfn_offload_index": 0}, repo)


def test_hydrate_on_a_bucket_only_configuration_reads_s3_pointers() -> None:
    """GIVEN a repository with only a bucket (no table)
    WHEN an S3 pointer is hydrated
    THEN it loads (no table needed)."""
    repo = memory_repo(table=None)
    pointer = _pointer(repo, "run:x", {"only": "s3"})

    assert pointer["backend"] == "s3"
    assert pointer["bucket"] == BUCKET
    assert hydrate({"x": pointer}, repo) == {"x": {"only": "s3"}}
