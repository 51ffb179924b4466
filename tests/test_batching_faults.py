"""Batching limits, partial results, throttling and faults, on real boto3 clients.

Four ways of answering a real client's requests, each chosen for what it proves:

- botocore's ``Stubber`` for exact request shapes (it answers at ``before-call``);
- an in-process fake (``FakeDynamoDB``, a ``before-call`` hook) that returns partial results
  (``UnprocessedItems``) without touching any service;
- a fake wire (``FakeWire``, a ``before-send`` hook) that answers *below* botocore's retry loop,
  so the standard retry mode of the clients sfn-offload creates really retries throttling;
- moto, wrapped by ``before-call``/``after-call`` hooks, for service semantics plus a fault.

No test sleeps: retry sleeps are recorded (``RetryPolicy(sleep=...)``) and botocore's own backoff
is computed but not slept.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries import standard
from botocore.stub import Stubber

from conftest import AwsResources
from sfn_offload import NoItemFound, OffloadConfig, StateDataClient
from sfn_offload.errors import StoreError
from sfn_offload.storage import (
    Address,
    AwsClients,
    DynamoDBStore,
    PayloadRepository,
    Record,
    RetryPolicy,
)
from sfn_offload.storage.pages import PAGES_PREFIX
from sfn_offload.testing import RequestCounter
from sfn_offload.wire import Pointer
from sfn_offload.wire.merkle import PAGE_SIZE

TABLE = "state-table"
BUCKET = "state-bucket"
NS = "exec-1"
REGION = "us-east-1"


# --------------------------------------------------------------------------------------------
# helpers: fake responses at the two hook levels
# --------------------------------------------------------------------------------------------


class _Raw(io.BytesIO):
    """The raw body botocore's AWSResponse reads (``stream()``)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def wire_response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
    return AWSResponse("https://fake.invalid/", status, headers or {}, _Raw(body))


def parsed_answer(status: int, parsed: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A ``before-call`` answer: (http response, parsed response). Status >= 300 raises."""
    parsed = {**parsed, "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": 0}}
    return wire_response(status), parsed


def parsed_error(code: str, status: int = 500) -> tuple[Any, dict[str, Any]]:
    return parsed_answer(status, {"Error": {"Code": code, "Message": f"injected {code}"}})


def no_network(request: Any, **_: Any) -> None:
    raise AssertionError(f"unexpected request reached the wire: {request.method} {request.url}")


def ddb_key(partition_key: str, index: int) -> dict[str, Any]:
    return {"partition_key": {"S": partition_key}, "sort_key": {"N": str(index)}}


def _request_key(request: dict[str, Any]) -> dict[str, Any]:
    return request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]


def request_indices(requests: list[dict[str, Any]]) -> list[int]:
    """The sort keys of the element writes among ``requests`` (proof pages left out)."""
    return [int(_request_key(r)["sort_key"]["N"]) for r in requests if not is_page(r)]


def is_page(request: dict[str, Any]) -> bool:
    """Whether a write request is for a list's proof page (sfn_offload.storage.pages)."""
    return str(_request_key(request)["partition_key"]["S"]).startswith(PAGES_PREFIX)


def page_batch(requests: list[dict[str, Any]]) -> bool:
    return all(is_page(r) for r in requests)


class FakeDynamoDB:
    """A real boto3 DynamoDB client answered in-process at ``before-call`` (no service at all).

    ``unprocessed(call_number, requests)`` picks which write requests of a BatchWriteItem call
    come back in ``UnprocessedItems``; the others are applied to ``items``.
    """

    def __init__(
        self,
        unprocessed: Callable[[int, list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.client = boto3.client("dynamodb", region_name=REGION)
        self.client.meta.events.register("before-call.dynamodb", self._answer)
        self.client.meta.events.register("before-send", no_network)
        self.unprocessed = unprocessed or (lambda n, requests: [])
        self.items: dict[tuple[str, int], dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]

    def batch_writes(self, *, pages: bool = False) -> list[list[dict[str, Any]]]:
        """The requests of each BatchWriteItem call; those of proof pages only with ``pages``."""
        batches = [
            [r for requests in body["RequestItems"].values() for r in requests]
            for name, body in self.calls
            if name == "BatchWriteItem"
        ]
        return [b for b in batches if pages or not page_batch(b)]

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        body = json.loads(params["body"] or b"{}")
        with self._lock:
            self.calls.append((model.name, body))
            number = len(self.calls)
            if model.name == "Query":
                pk = body["ExpressionAttributeValues"][":pk"]["S"]
                rows = [_parsed(item) for (p, _), item in sorted(self.items.items()) if p == pk]
                return parsed_answer(200, {"Items": rows, "Count": len(rows)})
            if model.name == "BatchWriteItem":
                ((table, requests),) = body["RequestItems"].items()
                left = self.unprocessed(number, requests)
                for request in requests:
                    if request in left:
                        continue
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        key = (item["partition_key"]["S"], int(item["sort_key"]["N"]))
                        self.items[key] = item
                    else:
                        key_attrs = request["DeleteRequest"]["Key"]
                        self.items.pop(
                            (key_attrs["partition_key"]["S"], int(key_attrs["sort_key"]["N"])), None
                        )
                return parsed_answer(200, {"UnprocessedItems": {table: left} if left else {}})
        raise AssertionError(f"FakeDynamoDB does not answer {model.name}")


def _parsed(item: dict[str, Any]) -> dict[str, Any]:
    """An item as botocore parses it from a response (binary values are bytes, not base64)."""
    return {
        name: {"B": base64.b64decode(value["B"])} if "B" in value else value
        for name, value in item.items()
    }


def guarded_s3() -> Any:
    client = boto3.client("s3", region_name=REGION)
    client.meta.events.register("before-send", no_network)
    return client


def fake_repository(fake: FakeDynamoDB, retry: RetryPolicy, **config: Any) -> PayloadRepository:
    return PayloadRepository(
        OffloadConfig(table=TABLE, **config),
        clients=AwsClients(dynamodb_client=fake.client, s3_client=guarded_s3()),
        retry=retry,
    )


class SleepRecorder:
    """An injected ``sleep`` that records the delays and advances a fake clock."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.now = 0.0

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def upper_bound_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make full jitter deterministic: every draw is the top of its range."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


def count_calls(client: Any, service: str) -> dict[str, list[dict[str, Any]]]:
    """Record the parameters of every call made with ``client`` (a test-owned client)."""
    seen: dict[str, list[dict[str, Any]]] = {}
    lock = threading.Lock()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        with lock:
            seen.setdefault(model.name, []).append(json.loads(json.dumps(params, default=str)))

    client.meta.events.register(f"before-parameter-build.{service}", record)
    return seen


# --------------------------------------------------------------------------------------------
# BatchWriteItem: at most 25 requests
# --------------------------------------------------------------------------------------------


def test_put_items_of_10000_elements_sends_400_full_batches_and_one_query() -> None:
    """GIVEN a fresh partition WHEN 10,000 elements are stored THEN 1 Query + 400 x 25 writes
    (and the list's 157 proof pages, in 7 batches of at most 25)."""
    n = 10_000
    pages = math.ceil(n / PAGE_SIZE)
    client = boto3.client("dynamodb", region_name=REGION)
    client.meta.events.register("before-send", no_network)
    seen = count_calls(client, "dynamodb")
    with RequestCounter(client) as counter, Stubber(client) as stubber:
        stubber.add_response("query", {"Items": [], "Count": 0, "ScannedCount": 0})
        for _ in range(math.ceil(n / 25) + math.ceil(pages / 25)):
            stubber.add_response("batch_write_item", {"UnprocessedItems": {}})

        sdc = StateDataClient(TABLE, NS, dynamodb_client=client, s3_client=guarded_s3())
        result = sdc.put_items("rows", [{"row": i, "text": "é"} for i in range(n)])
        stubber.assert_no_pending_responses()

    assert result["items"] == [1] * n
    assert sorted(seen) == ["BatchWriteItem", "Query"]
    assert len(seen["Query"]) == 1
    assert seen["Query"][0]["ConsistentRead"] is True
    batches = [params["RequestItems"] for params in seen["BatchWriteItem"]]
    page_batches = [b for b in batches if page_batch(b[TABLE])]
    batches = [b for b in batches if not page_batch(b[TABLE])]
    assert len(batches) == 400
    assert all(list(b) == [TABLE] and len(b[TABLE]) == 25 for b in batches)
    indices = sorted(i for b in batches for i in request_indices(b[TABLE]))
    assert indices == list(range(n))
    assert len(page_batches) == math.ceil(pages / 25)
    assert sum(len(b[TABLE]) for b in page_batches) == pages
    assert counter.for_service("DynamoDB") == {
        "Query": 1,
        "BatchWriteItem": 400 + math.ceil(pages / 25),
    }


@pytest.mark.parametrize("n", [1, 24, 25, 26, 50, 51, 101])
def test_batch_writes_never_exceed_25_requests(n: int) -> None:
    fake = FakeDynamoDB()
    repo = fake_repository(fake, RetryPolicy(sleep=SleepRecorder()))
    sdc = StateDataClient(TABLE, NS, repository=repo)

    sdc.put_items("rows", list(range(n)))

    batches = fake.batch_writes()
    assert len(batches) == math.ceil(n / 25)
    assert max(len(b) for b in fake.batch_writes(pages=True)) <= 25
    assert len(fake.batch_writes(pages=True)) == len(batches) + 1  # the proof pages (at most 2)
    assert sorted(i for b in batches for i in request_indices(b)) == list(range(n))
    assert fake.operations().count("Query") == 1


def test_stale_element_deletes_are_batched_by_25_too() -> None:
    """Shrinking a 130-element list to 5 deletes 125 items in batches of at most 25."""
    fake = FakeDynamoDB()
    sdc = StateDataClient(TABLE, NS, repository=fake_repository(fake, RetryPolicy()))
    sdc.put_items("rows", list(range(130)))
    fake.calls.clear()

    sdc.put_items("rows", ["a", "b", "c", "d", "e"])

    batches = fake.batch_writes(pages=True)
    deletes = [r for b in batches for r in b if "DeleteRequest" in r]
    assert max(len(b) for b in batches) <= 25
    assert sorted(request_indices(deletes)) == list(range(5, 130))
    assert sorted(i for (pk, i) in fake.items if not pk.startswith(PAGES_PREFIX)) == [0, 1, 2, 3, 4]
    # the pages of elements 64-129 went with them
    assert sorted(i for (pk, i) in fake.items if pk.startswith(PAGES_PREFIX)) == [0]


# --------------------------------------------------------------------------------------------
# BatchWriteItem: UnprocessedItems
# --------------------------------------------------------------------------------------------


def test_unprocessed_items_are_retried_and_only_the_leftovers_resent(
    upper_bound_jitter: None,
) -> None:
    """GIVEN DynamoDB processes part of each batch WHEN storing a list THEN only leftovers go
    again, after a growing backoff, until everything is written."""

    def half_of_first_two_calls(number: int, requests: list[dict[str, Any]]) -> list[Any]:
        # calls: 1 = Query, 2 = the proof page, 3 = first BatchWriteItem of elements,
        # 4 = first retry, 5 = second retry
        return requests[len(requests) // 2 :] if number in (3, 4) else []

    fake = FakeDynamoDB(half_of_first_two_calls)
    sleep = SleepRecorder()
    repo = fake_repository(fake, RetryPolicy(base_delay=0.1, max_delay=1.0, sleep=sleep))

    StateDataClient(TABLE, NS, repository=repo).put_items("rows", [f"v{i}" for i in range(8)])

    sent = [request_indices(b) for b in fake.batch_writes()]
    assert sent == [[0, 1, 2, 3, 4, 5, 6, 7], [4, 5, 6, 7], [6, 7]]
    assert sleep.sleeps == [0.1, 0.2]
    assert sorted(i for (pk, i) in fake.items if pk == f"{NS}:rows") == list(range(8))


def test_unprocessed_items_that_never_drain_raise_after_bounded_attempts(
    upper_bound_jitter: None,
) -> None:
    # the last element never goes in
    fake = FakeDynamoDB(lambda number, requests: [] if page_batch(requests) else requests[-1:])
    sleep = SleepRecorder()
    policy = RetryPolicy(max_attempts=8, base_delay=0.1, max_delay=0.5, sleep=sleep)
    sdc = StateDataClient(TABLE, NS, repository=fake_repository(fake, policy))

    with pytest.raises(StoreError) as caught:
        sdc.put_items("rows", [1, 2, 3])

    assert caught.value.code == "UnprocessedItems"
    assert TABLE in str(caught.value)
    assert [request_indices(b) for b in fake.batch_writes()] == [[0, 1, 2], *[[2]] * 7]
    # full jitter drawn at its top: 0.1 * 2**n, growing, then capped by max_delay
    assert sleep.sleeps == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5, 0.5]


def test_backoff_is_jittered_and_bounded() -> None:
    """Real jitter: every sleep lies in [0, min(max_delay, base * 2**n)], and they differ."""
    random.seed(20240601)
    fake = FakeDynamoDB(lambda number, requests: requests)  # nothing is ever processed
    sleep = SleepRecorder()
    policy = RetryPolicy(max_attempts=12, base_delay=0.05, max_delay=0.8, sleep=sleep)
    store = DynamoDBStore(lambda: fake.client, retry=policy)

    with RequestCounter(fake.client) as counter, pytest.raises(StoreError) as caught:
        store.put_many([(Address(TABLE, "pk", 0), Record(b'{"a":1}'))])

    assert caught.value.code == "UnprocessedItems"

    assert len(sleep.sleeps) == 11
    caps = [min(0.8, 0.05 * 2**n) for n in range(11)]
    assert all(0 <= s <= cap for s, cap in zip(sleep.sleeps, caps, strict=True))
    assert len(set(sleep.sleeps)) == len(sleep.sleeps)  # jittered, not a fixed schedule
    assert counter.calls == {"DynamoDB.BatchWriteItem": 12}


def test_retry_delays_stay_bounded_for_very_many_attempts() -> None:
    """A deadline-bound policy may allow thousands of attempts: delays stay <= max_delay."""
    sleep = SleepRecorder()
    policy = RetryPolicy(max_attempts=3000, base_delay=0.05, max_delay=2.0, sleep=sleep)
    delays = list(policy.delays())
    assert len(delays) == 2999
    assert max(delays) <= 2.0
    assert delays == sleep.sleeps


# --------------------------------------------------------------------------------------------
# deadlines
# --------------------------------------------------------------------------------------------


def test_retry_policy_with_remaining_time_stops_before_the_deadline(
    upper_bound_jitter: None,
) -> None:
    sleep = SleepRecorder()
    policy = RetryPolicy(
        max_attempts=50,
        base_delay=0.5,
        max_delay=30.0,
        safety_margin=1.0,
        remaining_time=lambda: 10.0 - sleep.now,
        sleep=sleep,
    )
    delays = list(policy.delays())
    # 0.5 + 1 + 2 + 4 = 7.5 s slept; the next 8 s would end 1 s past the deadline's margin.
    assert delays == [0.5, 1.0, 2.0, 4.0]
    assert sleep.now + policy.safety_margin <= 10.0


def test_unprocessed_items_give_up_at_the_deadline_not_after_all_attempts(
    upper_bound_jitter: None,
) -> None:
    fake = FakeDynamoDB(lambda number, requests: requests)
    sleep = SleepRecorder()
    policy = RetryPolicy(max_attempts=1000, base_delay=0.25, max_delay=2.0, sleep=sleep)
    deadline = dataclasses.replace(policy, remaining_time=lambda: 5.0 - sleep.now)
    sdc = StateDataClient(TABLE, NS, repository=fake_repository(fake, deadline))

    with pytest.raises(StoreError) as caught:
        sdc.put_items("rows", [1])

    assert caught.value.code == "UnprocessedItems"
    assert sleep.now + deadline.safety_margin <= 5.0
    assert sleep.sleeps == [0.25, 0.5, 1.0, 2.0]  # the next 2 s sleep would cross the margin
    assert len(fake.batch_writes(pages=True)) == 5  # (the list's proof page never goes in)


def test_no_retry_at_all_when_the_deadline_is_already_within_the_margin() -> None:
    fake = FakeDynamoDB(lambda number, requests: requests)
    sleep = SleepRecorder()
    policy = RetryPolicy(remaining_time=lambda: 0.5, safety_margin=1.0, sleep=sleep)
    sdc = StateDataClient(TABLE, NS, repository=fake_repository(fake, policy))

    with pytest.raises(StoreError, match=TABLE):
        sdc.put_items("rows", [1, 2])
    assert sleep.sleeps == []
    assert len(fake.batch_writes(pages=True)) == 1  # (the list's proof page)


# --------------------------------------------------------------------------------------------
# BatchGetItem: at most 100 keys, consistent, deduplicated, UnprocessedKeys retried
# --------------------------------------------------------------------------------------------


def _moto_client(res: AwsResources, **config: Any) -> StateDataClient:
    return StateDataClient(
        res.table,
        NS,
        s3_bucket=res.bucket,
        config=OffloadConfig(**config) if config else None,
        dynamodb_client=res.dynamodb(),
        s3_client=res.s3(),
    )


def _batch_get_keys(params: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [
        (table, k["partition_key"]["S"], int(k["sort_key"]["N"]))
        for table, entry in params["RequestItems"].items()
        for k in entry["Keys"]
    ]


def test_batch_get_sends_at_most_100_unique_keys_with_consistent_read(
    moto_resources: AwsResources,
) -> None:
    writer = _moto_client(moto_resources)
    writer.put_items("rows", [{"row": i} for i in range(250)])

    dynamodb = moto_resources.dynamodb()
    seen = count_calls(dynamodb, "dynamodb")
    reader = StateDataClient(
        moto_resources.table, NS, dynamodb_client=dynamodb, s3_client=moto_resources.s3()
    )
    pk = f"{NS}:rows"
    order = [*range(250), *range(0, 250, 5), 7, 7, 7]  # 303 pointers, 53 of them repeats
    random.Random(3).shuffle(order)
    pointers = [Pointer("dynamodb", moto_resources.table, pk, i) for i in order]

    values = reader.repository.read_many(pointers)

    assert values == [{"row": i} for i in order]
    calls = seen["BatchGetItem"]
    # the 250 elements, then (the pointers do not say they index a list) their 4 proof pages
    assert len(calls) == 3 + 1
    assert {pk for _, pk, _ in _batch_get_keys(calls[-1])} == {f"{PAGES_PREFIX}{pk}"}
    calls = calls[:-1]
    for params in calls:
        keys = _batch_get_keys(params)
        assert len(keys) <= 100
        assert len(set(keys)) == len(keys)
        assert all(entry["ConsistentRead"] is True for entry in params["RequestItems"].values())
    sent = [k for params in calls for k in _batch_get_keys(params)]
    assert sorted(i for _, _, i in sent) == list(range(250))  # each key fetched exactly once


def _unprocessed_after_call(
    dynamodb: Any, decide: Callable[[int, list[dict[str, Any]]], list[dict[str, Any]]]
) -> None:
    """Wrap moto: after each BatchGetItem, move the items ``decide`` picks to UnprocessedKeys
    (with only ``Keys``: the retry must still ask for consistent reads)."""
    calls = [0]

    def rewrite(parsed: dict[str, Any], **_: Any) -> None:
        calls[0] += 1
        for table, items in list(parsed.get("Responses", {}).items()):
            left = decide(calls[0], sorted(items, key=lambda it: int(it["sort_key"]["N"])))
            if not left:
                continue
            keys = [ddb_key(it["partition_key"]["S"], int(it["sort_key"]["N"])) for it in left]
            parsed["Responses"][table] = [it for it in items if it not in left]
            parsed.setdefault("UnprocessedKeys", {})[table] = {"Keys": keys}

    dynamodb.meta.events.register("after-call.dynamodb.BatchGetItem", rewrite)


def test_unprocessed_keys_are_retried_and_only_the_leftovers_resent(
    moto_resources: AwsResources, upper_bound_jitter: None
) -> None:
    _moto_client(moto_resources).put_items("rows", [f"v{i}" for i in range(10)])
    dynamodb = moto_resources.dynamodb()
    _unprocessed_after_call(dynamodb, lambda n, items: items[len(items) // 2 :] if n < 3 else [])
    seen = count_calls(dynamodb, "dynamodb")
    sleep = SleepRecorder()
    repo = PayloadRepository(
        OffloadConfig(table=moto_resources.table),
        clients=AwsClients(dynamodb_client=dynamodb, s3_client=moto_resources.s3()),
        retry=RetryPolicy(base_delay=0.1, sleep=sleep),
    )
    pointers = [Pointer("dynamodb", moto_resources.table, f"{NS}:rows", i) for i in range(10)]

    assert repo.read_many(pointers) == [f"v{i}" for i in range(10)]

    sent = [sorted(i for _, _, i in _batch_get_keys(p)) for p in seen["BatchGetItem"]]
    # (then the list's proof page: the pointers do not say they index a list)
    assert sent == [list(range(10)), [5, 6, 7, 8, 9], [7, 8, 9], [0]]
    for params in seen["BatchGetItem"]:
        assert all(e["ConsistentRead"] is True for e in params["RequestItems"].values())
    assert sleep.sleeps == [0.1, 0.2]


def test_unprocessed_keys_that_never_drain_raise_store_error(
    moto_resources: AwsResources,
) -> None:
    _moto_client(moto_resources).put_items("rows", ["a", "b"])
    dynamodb = moto_resources.dynamodb()
    _unprocessed_after_call(dynamodb, lambda n, items: items[-1:])
    seen = count_calls(dynamodb, "dynamodb")
    sleep = SleepRecorder()
    repo = PayloadRepository(
        OffloadConfig(table=moto_resources.table),
        clients=AwsClients(dynamodb_client=dynamodb, s3_client=moto_resources.s3()),
        retry=RetryPolicy(max_attempts=4, sleep=sleep),
    )
    pointers = [Pointer("dynamodb", moto_resources.table, f"{NS}:rows", i) for i in range(2)]

    with pytest.raises(StoreError) as caught:
        repo.read_many(pointers)

    assert caught.value.code == "UnprocessedKeys"
    assert moto_resources.table in str(caught.value)
    assert len(seen["BatchGetItem"]) == 4
    assert len(sleep.sleeps) == 3
    assert all(0 <= s <= 2.0 for s in sleep.sleeps)


# --------------------------------------------------------------------------------------------
# throttling: retried by the standard retry mode of the clients sfn-offload creates
# --------------------------------------------------------------------------------------------


def test_created_clients_use_standard_retry_mode() -> None:
    clients = AwsClients()
    for client in (clients.dynamodb, clients.s3, clients.stepfunctions):
        assert client.meta.config.retries["mode"] == "standard"
        assert client.meta.config.retries["total_max_attempts"] == 6  # max_attempts=5 retries
    tuned = AwsClients(boto_config=Config(connect_timeout=1))
    assert tuned.dynamodb.meta.config.retries["mode"] == "standard"
    assert tuned.dynamodb.meta.config.connect_timeout == 1
    # injected clients are used as they are
    own = boto3.client("dynamodb", region_name=REGION)
    assert AwsClients(dynamodb_client=own).dynamodb is own
    assert AwsClients(dynamodb_client=own).created == []


class FakeWire:
    """Answers every request of the clients it is attached to at ``before-send``: below
    botocore's retry loop, so a throttling answer is retried as if AWS had sent it."""

    def __init__(self) -> None:
        self.script: dict[str, list[Callable[[Any], Any]]] = {}
        self.sent: list[str] = []

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send", self)

    def on(self, operation: str, *answers: Callable[[Any], Any]) -> None:
        """Answer ``operation`` with ``answers`` in turn; the last one repeats."""
        self.script[operation] = list(answers)

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        operation = event_name.rsplit(".", 1)[-1]
        self.sent.append(operation)
        answers = self.script.get(operation)
        if not answers:
            raise AssertionError(f"FakeWire has no answer for {operation}")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request)


def ddb_ok(payload: dict[str, Any]) -> Callable[[Any], Any]:
    body = json.dumps(payload).encode()
    return lambda request: wire_response(200, body, {"Content-Type": "application/x-amz-json-1.0"})


def ddb_throttle(code: str) -> Callable[[Any], Any]:
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "slow down"}
    )
    return lambda request: wire_response(
        400,
        body.encode(),
        {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code},
    )


def s3_ok(body: bytes = b"", headers: dict[str, str] | None = None) -> Callable[[Any], Any]:
    return lambda request: wire_response(
        200, body, {"ETag": '"etag"', "Content-Length": str(len(body)), **(headers or {})}
    )


def s3_slow_down(request: Any) -> Any:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
        b"<Message>Please reduce your request rate.</Message><RequestId>r</RequestId></Error>"
    )
    return wire_response(503, body, {"Content-Type": "application/xml"})


@pytest.fixture
def botocore_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's standard-mode backoff, computed and recorded but not slept."""
    computed: list[float] = []
    original = standard.ExponentialBackoff.delay_amount

    def record(self: Any, context: Any) -> float:
        computed.append(original(self, context))
        return 0.0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", record)
    return computed


def _throttle_client() -> tuple[StateDataClient, FakeWire]:
    """A StateDataClient whose clients sfn-offload creates itself, on a fake wire."""
    sdc = StateDataClient(TABLE, NS, s3_bucket=BUCKET, config=OffloadConfig(item_budget_bytes=100))
    wire = FakeWire()
    wire.attach(sdc.repository.clients.dynamodb)
    wire.attach(sdc.repository.clients.s3)
    assert sdc.repository.clients.created == ["dynamodb", "s3"]
    return sdc, wire


SMALL_ITEM = {
    "partition_key": {"S": f"{NS}:k"},
    "sort_key": {"N": "0"},
    "data": {"S": '{"a":1}'},
}
OVERFLOW_ITEM = {
    "partition_key": {"S": f"{NS}:k"},
    "sort_key": {"N": "0"},
    "s3_key": {"S": f"workflow_state_data/{TABLE}/{NS}:k/0"},
    "s3_bucket": {"S": BUCKET},
}
BIG = {"text": "x" * 500}  # over the 100-byte item budget: overflows to S3


def _scenario(name: str, wire: FakeWire, failure: Callable[[Any], Any], times: int | None) -> None:
    """Script ``wire`` so that operation ``name`` fails ``times`` times (None: always)."""
    failing = [failure] * (times if times is not None else 1)
    success: dict[str, Callable[[Any], Any]] = {
        "PutItem": ddb_ok({}),
        "BatchGetItem": ddb_ok({"Responses": {TABLE: [SMALL_ITEM]}, "UnprocessedKeys": {}}),
        "Query": ddb_ok({"Items": [SMALL_ITEM], "Count": 1, "ScannedCount": 1}),
        "BatchWriteItem": ddb_ok({"UnprocessedItems": {}}),
        "PutObject": s3_ok(),
        "GetObject": s3_ok(b'{"a":1}', {"x-amz-meta-encoding": "json"}),
    }
    if name == "GetObject":
        success["BatchGetItem"] = ddb_ok(
            {"Responses": {TABLE: [OVERFLOW_ITEM]}, "UnprocessedKeys": {}}
        )
    if name == "BatchWriteItem":
        success["Query"] = ddb_ok({"Items": [], "Count": 0, "ScannedCount": 0})
    for operation, ok in success.items():
        if operation == name:
            wire.on(operation, *failing, *([ok] if times is not None else []))
        else:
            wire.on(operation, ok)


THROTTLES = [
    ("PutItem", ddb_throttle("ProvisionedThroughputExceededException"), "put_item"),
    ("BatchGetItem", ddb_throttle("ThrottlingException"), "get_item"),
    ("Query", ddb_throttle("ThrottlingException"), "get_items"),
    ("BatchWriteItem", ddb_throttle("ProvisionedThroughputExceededException"), "put_items"),
    ("PutObject", s3_slow_down, "put_big_item"),
    ("GetObject", s3_slow_down, "get_item"),
]
CODES = {
    "PutItem": "ProvisionedThroughputExceededException",
    "BatchGetItem": "ThrottlingException",
    "Query": "ThrottlingException",
    "BatchWriteItem": "ProvisionedThroughputExceededException",
    "PutObject": "SlowDown",
    "GetObject": "SlowDown",
}


def _run(sdc: StateDataClient, action: str) -> Any:
    if action == "put_item":
        return sdc.put_item("k", {"a": 1})
    if action == "put_big_item":
        return sdc.put_item("k", BIG)
    if action == "get_item":
        return sdc.get_item("k")
    if action == "get_items":
        return sdc.get_items("k")
    return sdc.put_items("k", ["a", "b"])


@pytest.mark.parametrize(
    ("operation", "failure", "action"), THROTTLES, ids=[t[0] for t in THROTTLES]
)
def test_throttling_is_retried_by_the_client_and_then_succeeds(
    operation: str, failure: Callable[[Any], Any], action: str, botocore_backoff: list[float]
) -> None:
    sdc, wire = _throttle_client()
    _scenario(operation, wire, failure, times=3)

    result = _run(sdc, action)

    # 3 throttled answers, then success (put_items: and its elements after its proof page)
    assert wire.sent.count(operation) == 4 + (operation == "BatchWriteItem")
    assert len(botocore_backoff) == 3
    assert all(delay > 0 for delay in botocore_backoff)  # botocore computed a real backoff
    if action.startswith("get"):
        assert result in ({"a": 1}, [{"a": 1}])
    else:
        assert result["partition_key"] == f"{NS}:k"


@pytest.mark.parametrize(
    ("operation", "failure", "action"), THROTTLES, ids=[t[0] for t in THROTTLES]
)
def test_throttling_that_never_ends_surfaces_as_store_error(
    operation: str, failure: Callable[[Any], Any], action: str, botocore_backoff: list[float]
) -> None:
    sdc, wire = _throttle_client()
    _scenario(operation, wire, failure, times=None)

    with pytest.raises(StoreError) as caught:
        _run(sdc, action)

    error = caught.value
    assert error.code == CODES[operation]
    assert isinstance(error.__cause__, ClientError)
    assert error.__cause__.response["Error"]["Code"] == CODES[operation]
    assert operation in str(error)
    total = sdc.repository.clients.dynamodb.meta.config.retries["total_max_attempts"]
    assert wire.sent.count(operation) == total == 6
    assert len(botocore_backoff) == total - 1
    if operation == "PutObject":
        assert "PutItem" not in wire.sent  # write before pointer: no item points at nothing


# --------------------------------------------------------------------------------------------
# write before pointer: a failed S3 upload leaves no item and returns no pointer
# --------------------------------------------------------------------------------------------


def _fail_uploads(s3: Any, should_fail: Callable[[str], bool]) -> list[str]:
    """Make moto's PutObject fail (AccessDenied) for keys ``should_fail`` picks."""
    attempted: list[str] = []

    def remember_key(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["test_object_key"] = params["Key"]

    def fault(context: dict[str, Any], **_: Any) -> Any:
        key = context["test_object_key"]
        attempted.append(key)
        return parsed_error("AccessDenied", 403) if should_fail(key) else None

    s3.meta.events.register("before-parameter-build.s3.PutObject", remember_key)
    s3.meta.events.register("before-call.s3.PutObject", fault)
    return attempted


def _partition(res: AwsResources, partition_key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = res.dynamodb().query(
        TableName=res.table,
        KeyConditionExpression="partition_key = :pk",
        ExpressionAttributeValues={":pk": {"S": partition_key}},
        ConsistentRead=True,
    )["Items"]
    return items


def test_failed_overflow_upload_writes_no_item_and_returns_no_pointer(
    moto_resources: AwsResources,
) -> None:
    s3 = moto_resources.s3()
    dynamodb = moto_resources.dynamodb()
    seen = count_calls(dynamodb, "dynamodb")
    attempted = _fail_uploads(s3, lambda key: True)
    sdc = StateDataClient(
        moto_resources.table,
        NS,
        s3_bucket=moto_resources.bucket,
        config=OffloadConfig(item_budget_bytes=100),
        dynamodb_client=dynamodb,
        s3_client=s3,
    )

    result = None
    with pytest.raises(StoreError) as caught:
        result = sdc.put_item("k", BIG)

    assert result is None
    assert caught.value.code == "AccessDenied"
    assert isinstance(caught.value.__cause__, ClientError)
    (key,) = attempted
    assert key.startswith(f"workflow_state_data/{moto_resources.table}/{NS}:k/0/")
    assert "PutItem" not in seen
    assert _partition(moto_resources, f"{NS}:k") == []
    with pytest.raises(NoItemFound):
        sdc.get_item("k")


def test_failed_overflow_upload_keeps_the_previous_value(moto_resources: AwsResources) -> None:
    s3 = moto_resources.s3()
    sdc = StateDataClient(
        moto_resources.table,
        NS,
        s3_bucket=moto_resources.bucket,
        config=OffloadConfig(item_budget_bytes=100),
        dynamodb_client=moto_resources.dynamodb(),
        s3_client=s3,
    )
    sdc.put_item("k", {"old": True})
    _fail_uploads(s3, lambda key: True)

    with pytest.raises(StoreError):
        sdc.put_item("k", BIG)

    assert sdc.get_item("k") == {"old": True}


def test_failed_upload_in_put_items_writes_no_element(moto_resources: AwsResources) -> None:
    s3 = moto_resources.s3()
    dynamodb = moto_resources.dynamodb()
    seen = count_calls(dynamodb, "dynamodb")
    _fail_uploads(s3, lambda key: "/3/" in key)
    sdc = StateDataClient(
        moto_resources.table,
        NS,
        s3_bucket=moto_resources.bucket,
        config=OffloadConfig(item_budget_bytes=100),
        dynamodb_client=dynamodb,
        s3_client=s3,
    )
    values = ["small", BIG, "small", BIG, BIG]

    with pytest.raises(StoreError) as caught:
        sdc.put_items("rows", values)

    assert caught.value.code == "AccessDenied"
    assert "BatchWriteItem" not in seen
    assert _partition(moto_resources, f"{NS}:rows") == []


# --------------------------------------------------------------------------------------------
# concurrency of S3 transfers
# --------------------------------------------------------------------------------------------


class InFlight:
    """Counts concurrent calls of one operation; a barrier proves several run at once (it
    breaks, failing the call, if the calls arrive one at a time)."""

    def __init__(self, client: Any, operation: str, parties: int) -> None:
        self.current = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(parties, timeout=10)
        client.meta.events.register(f"before-call.s3.{operation}", self._enter)
        client.meta.events.register(f"after-call.s3.{operation}", self._leave)

    def _enter(self, **_: Any) -> None:
        with self._lock:
            self.current += 1
            self.peak = max(self.peak, self.current)
        self._barrier.wait()

    def _leave(self, **_: Any) -> None:
        with self._lock:
            self.current -= 1


def test_put_items_uploads_overflow_objects_concurrently(moto_resources: AwsResources) -> None:
    s3 = moto_resources.s3()
    uploads = InFlight(s3, "PutObject", parties=4)
    sdc = StateDataClient(
        moto_resources.table,
        NS,
        s3_bucket=moto_resources.bucket,
        config=OffloadConfig(item_budget_bytes=100),
        dynamodb_client=moto_resources.dynamodb(),
        s3_client=s3,
    )
    values = [{"i": i, **BIG} for i in range(8)]

    with RequestCounter(s3) as counter:
        sdc.put_items("rows", values)

    assert uploads.peak >= 4
    assert counter.for_service("S3") == {"PutObject": 8}
    assert sdc.get_items("rows") == values


def test_get_items_downloads_overflow_objects_concurrently(moto_resources: AwsResources) -> None:
    s3 = moto_resources.s3()
    values = [{"i": i, **BIG} for i in range(8)]
    _moto_client(moto_resources, item_budget_bytes=100).put_items("rows", values)
    downloads = InFlight(s3, "GetObject", parties=4)
    reader = StateDataClient(
        moto_resources.table,
        NS,
        s3_bucket=moto_resources.bucket,
        dynamodb_client=moto_resources.dynamodb(),
        s3_client=s3,
    )

    assert reader.get_items("rows") == values
    assert downloads.peak >= 4


# --------------------------------------------------------------------------------------------
# retried put_items: elements already written are skipped
# --------------------------------------------------------------------------------------------


def test_retried_put_items_with_the_same_data_writes_nothing_again(
    moto_resources: AwsResources,
) -> None:
    dynamodb = moto_resources.dynamodb()
    s3 = moto_resources.s3()
    seen_ddb = count_calls(dynamodb, "dynamodb")
    seen_s3 = count_calls(s3, "s3")
    sdc = StateDataClient(
        moto_resources.table,
        NS,
        s3_bucket=moto_resources.bucket,
        config=OffloadConfig(item_budget_bytes=100),
        dynamodb_client=dynamodb,
        s3_client=s3,
    )
    values = [*range(60), BIG, {"j": 2, **BIG}]
    sdc.put_items("rows", values)
    assert len(seen_ddb["BatchWriteItem"]) == 3 + 1  # and the list's proof page
    assert len(seen_s3["PutObject"]) == 2
    seen_ddb.clear()
    seen_s3.clear()

    sdc.put_items("rows", values)  # the task is retried with the same input

    assert seen_ddb == {"Query": seen_ddb["Query"]}
    assert len(seen_ddb["Query"]) == 1
    assert seen_s3 == {}
    assert sdc.get_items("rows") == values

    seen_ddb.clear()
    changed = [*values[:10], "changed", *values[11:]]
    sdc.put_items("rows", changed)
    writes = [
        r for p in seen_ddb["BatchWriteItem"] for r in p["RequestItems"][moto_resources.table]
    ]
    # A changed list is a new list: every element records its digest (docs/RELIABILITY.md)
    assert request_indices(writes) == list(range(len(values)))
    assert sdc.get_items("rows") == changed


def test_put_items_retried_after_a_failed_batch_writes_only_what_is_missing(
    moto_resources: AwsResources,
) -> None:
    dynamodb = moto_resources.dynamodb()
    failing = [True]

    def fail_last_batch(params: dict[str, Any], **_: Any) -> Any:
        body = json.loads(params["body"])
        indices = request_indices(next(iter(body["RequestItems"].values())))
        if failing[0] and 59 in indices:
            return parsed_error("InternalServerError", 500)
        return None

    dynamodb.meta.events.register("before-call.dynamodb.BatchWriteItem", fail_last_batch)
    seen = count_calls(dynamodb, "dynamodb")
    sdc = StateDataClient(
        moto_resources.table, NS, dynamodb_client=dynamodb, s3_client=moto_resources.s3()
    )
    values = [{"v": i} for i in range(60)]

    with pytest.raises(StoreError) as caught:
        sdc.put_items("rows", values)
    assert caught.value.code == "InternalServerError"
    assert len(_partition(moto_resources, f"{NS}:rows")) == 50  # two batches of 25 went in

    failing[0] = False
    seen.clear()
    sdc.put_items("rows", values)

    pages, batch = seen["BatchWriteItem"]  # the list's proof page, then what is missing
    assert page_batch(pages["RequestItems"][moto_resources.table])
    assert request_indices(batch["RequestItems"][moto_resources.table]) == list(range(50, 60))
    assert sdc.get_items("rows") == values


def test_a_failed_put_items_leaves_no_batch_running_in_the_background(
    moto_resources: AwsResources,
) -> None:
    """GIVEN two batches in flight WHEN one fails THEN put_items raises only after the other one
    finished: no write lands after the caller saw the error (a retry, or the next invocation of
    a frozen Lambda, would race it)."""
    dynamodb = moto_resources.dynamodb()
    second_started = threading.Event()
    returned = threading.Event()
    finished = threading.Event()
    finished_before_return: list[bool] = []

    def fault(params: dict[str, Any], **_: Any) -> Any:
        requests = next(iter(json.loads(params["body"])["RequestItems"].values()))
        if page_batch(requests):
            return None  # the list's proof page, written first and alone
        indices = request_indices(requests)
        if 0 in indices:
            assert second_started.wait(timeout=10)  # fail only once the other batch is running
            return parsed_error("InternalServerError", 500)
        second_started.set()
        # The running batch is slow: put_items could return before it is done (if it did not
        # wait); when put_items waits, this times out and the batch completes first.
        returned.wait(timeout=0.5)
        return None

    def done(**_: Any) -> None:
        finished_before_return.append(not returned.is_set())
        if len(finished_before_return) == 3:
            finished.set()

    dynamodb.meta.events.register("before-call.dynamodb.BatchWriteItem", fault)
    dynamodb.meta.events.register("after-call.dynamodb.BatchWriteItem", done)
    sdc = StateDataClient(
        moto_resources.table, NS, dynamodb_client=dynamodb, s3_client=moto_resources.s3()
    )

    with pytest.raises(StoreError) as caught:
        sdc.put_items("rows", list(range(50)))
    returned.set()

    assert caught.value.code == "InternalServerError"
    assert finished.wait(timeout=10)
    # after-call runs for the proof page and both batches (the failed one too): all before
    # put_items raised
    assert finished_before_return == [True, True, True]
    assert len(_partition(moto_resources, f"{NS}:rows")) == 25  # the running batch did land
