"""Reliability under injected faults: throttling, 5xx, connection resets, partial batches, broken
S3 bodies, on at least 20% of DynamoDB and S3 requests (``faultinject.FaultInjector``).

The guarantee proved here: under faults, ``put_items`` of 10,000 elements, hydration of 1,000
pointers and a decorated handler either complete with every element intact, or raise an
:class:`SfnOffloadError`; a pointer is never returned to data that was not written (every
returned pointer is loaded back with a clean client); a Step Functions retry after a failure
converges to the same keys with nothing orphaned. Retries are bounded, jittered, and stop before
the deadline bound by :func:`retry_deadline` (the Lambda's remaining time).

botocore's backoff is computed and recorded but not slept (``no_backoff``), and the library's own
retry sleeps are injected, so the suite stays fast; no test asserts on timing. The tests take the
``aws`` fixture: on moto always, and on a real account with ``SFN_OFFLOAD_TEST_REAL_AWS=1`` (the
injected faults answer in place of AWS there, so they behave the same).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from conftest import AwsResources
from fakes import EXECUTION_ARN, FakeLambdaContext
from faultinject import FaultInjector, no_backoff
from sfn_offload import (
    OffloadConfig,
    SfnOffloadError,
    StateDataClient,
    fan_out,
    hydrate,
    offload,
    state_offload,
)
from sfn_offload._retry import remaining_time_of
from sfn_offload.errors import StoreError
from sfn_offload.storage import AwsClients, PayloadRepository, RetryPolicy, retry_deadline
from sfn_offload.testing import RequestCounter
from sfn_offload.wire import is_pointer
from sfn_offload.wire.merkle import PAGE_SIZE

NS = "exec-faults"
ITEM_BUDGET = 2_000  # small, so a share of the payloads overflows to S3 under the same faults


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return no_backoff(monkeypatch)


class Sleeps:
    """The library's retry sleeps, recorded instead of slept."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def repository(
    res: AwsResources,
    faults: FaultInjector | None,
    sleeps: Sleeps | None = None,
    **config: Any,
) -> PayloadRepository:
    """A repository on clients the test created (fault hooks attached when ``faults`` is set)."""
    dynamodb, s3 = res.dynamodb(), res.s3()
    if faults is not None:
        faults.attach(dynamodb)
        faults.attach(s3)
    settings: dict[str, Any] = {
        "table": res.table,
        "bucket": res.bucket,
        "item_budget_bytes": ITEM_BUDGET,
        **config,
    }
    return PayloadRepository(
        OffloadConfig(**settings),
        clients=AwsClients(dynamodb_client=dynamodb, s3_client=s3),
        retry=RetryPolicy(sleep=sleeps or Sleeps()),
    )


#: The items of the decorated handler's fan-out list: 300 elements and their proof pages.
FAN_OUT_ITEMS = 300 + math.ceil(300 / PAGE_SIZE)


def inventory(res: AwsResources) -> tuple[set[tuple[str, int]], set[str]]:
    """Every item key in the table and every object key in the bucket."""
    items: set[tuple[str, int]] = set()
    for page in (
        res.dynamodb()
        .get_paginator("scan")
        .paginate(
            TableName=res.table, ProjectionExpression="partition_key, sort_key", ConsistentRead=True
        )
    ):
        items |= {(i["partition_key"]["S"], int(i["sort_key"]["N"])) for i in page["Items"]}
    objects: set[str] = set()
    for page in res.s3().get_paginator("list_objects_v2").paginate(Bucket=res.bucket):
        objects |= {o["Key"] for o in page.get("Contents", [])}
    return items, objects


def pointers_in(node: Any) -> Iterator[dict[str, Any]]:
    if is_pointer(node):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from pointers_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from pointers_in(value)


def assert_faults_were_heavy(faults: FaultInjector, *services: str) -> None:
    """Every service was exercised, and at least a fifth of all requests failed (per service the
    sample can be a handful of requests when an early failure ends the run)."""
    for service in services:
        assert faults.sent[service] > 0, f"no {service} request was made"
    sent = sum(faults.sent[s] for s in services)
    failed = sum(faults.failed[s] for s in services)
    assert failed >= 0.2 * sent, (dict(faults.sent), dict(faults.failed))


# --------------------------------------------------------------------------------------------
# put_items of 10,000 elements
# --------------------------------------------------------------------------------------------


def test_put_items_of_10000_elements_under_faults_is_intact_or_fails_cleanly(
    aws: AwsResources, backoff: list[float]
) -> None:
    """GIVEN ~35% of DynamoDB and S3 requests failing (throttling, 500s, resets, partial batches)
    WHEN 10,000 elements (50 of them over the item budget, so in S3) are stored
    THEN the list reads back intact with a clean client, or a library error was raised and a
    retry with a clean client stores it intact with nothing orphaned."""
    res = aws
    faults = FaultInjector(seed=7, rate=0.35)
    sleeps = Sleeps()
    faulty = StateDataClient(res.table, NS, repository=repository(res, faults, sleeps))
    clean = StateDataClient(res.table, NS, repository=repository(res, None))
    n = 10_000
    values = [{"i": i, "pad": "x" * (3_000 if i % 200 == 0 else 8)} for i in range(n)]

    try:
        result: dict[str, Any] | None = faulty.put_items("rows", values)
    except SfnOffloadError:
        result = None
        clean.put_items("rows", values)  # Step Functions retries the task

    if result is not None:
        assert result["items"] == [1] * n
    assert clean.get_items("rows") == values
    items, objects = inventory(res)
    assert len(items) == n + math.ceil(n / PAGE_SIZE)  # the elements and the list's proof pages
    assert len(objects) == 50  # one overflow object per large element: no orphans
    assert_faults_were_heavy(faults, "dynamodb", "s3")
    assert faults.kinds["partial"] > 0
    # bounded and jittered: botocore's backoff never over its 20 s cap, and not constant
    assert backoff
    assert all(0 <= delay <= 20 for delay in backoff)
    assert len(set(backoff)) > 1
    assert sleeps.delays
    assert all(0 <= delay <= RetryPolicy().max_delay for delay in sleeps.delays)
    assert len(set(sleeps.delays)) > 1


# --------------------------------------------------------------------------------------------
# hydration of 1,000 pointers
# --------------------------------------------------------------------------------------------


def _parts(n: int, large_every: int = 20) -> dict[str, Any]:
    """``n`` offloadable parts (>= 1 KiB each); every ``large_every``-th goes to S3."""
    return {
        f"p{i:04d}": {
            "i": i,
            "text": ("é" if i % 2 else "zz") * (1_250 if i % large_every == 0 else 550),
        }
        for i in range(n)
    }


@pytest.mark.parametrize("seed", [11, 12])
def test_hydrating_1000_pointers_under_faults_is_intact_or_fails_cleanly(
    aws: AwsResources, backoff: list[float], seed: int
) -> None:
    """GIVEN 1,000 pointers (950 DynamoDB items, 50 S3 objects) written cleanly
    WHEN an event holding them is hydrated while ~35% of requests fail (and S3 bodies break off)
    THEN every value comes back exactly, or a library error is raised; never wrong data."""
    res = aws
    value = _parts(1_000)
    clean = repository(res, None)
    event = offload(value, clean, namespace=NS, budget=400_000)
    # the few parts that fit inline are offloaded one by one (a budget of 1 byte: whole value)
    event = {
        k: v if is_pointer(v) else offload(v, clean, namespace=NS, budget=1)
        for k, v in event.items()
    }
    found = list(pointers_in(event))
    assert len(found) == 1_000
    assert sum(p["backend"] == "s3" for p in found) == 50
    faults = FaultInjector(seed=seed, rate=0.35)

    try:
        hydrated = hydrate(event, repository(res, faults))
    except SfnOffloadError:
        hydrated = None

    if hydrated is not None:
        assert hydrated == value
    assert hydrate(event, repository(res, None)) == value  # the data itself is intact
    assert_faults_were_heavy(faults, "dynamodb", "s3")
    assert faults.kinds["broken-body"] > 0


# --------------------------------------------------------------------------------------------
# a decorated handler
# --------------------------------------------------------------------------------------------


def _task_output(event: dict[str, Any]) -> dict[str, Any]:
    """What the handler computes from its (hydrated) input: deterministic, several MB."""
    inputs = event["inputs"]
    out: dict[str, Any] = {
        "status": "ok",
        "count": len(inputs),
        "report": {"lines": [f"{k}:{v['i']}:" + "r" * 40 for k, v in sorted(inputs.items())]},
        "rows": [{"row": i, "pad": "w" * 30} for i in range(300)],
    }
    for i in range(30):  # parts between 1 KiB and the item budget: DynamoDB items
        out[f"b{i:02d}"] = f"{i}:" + "β" * 600
    return out


def _decorated(repo: PayloadRepository) -> Any:
    @state_offload(repository=repo, keep_inline=["status", "count"], max_inline_bytes=12_000)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        out = _task_output(event)
        out["rows"] = fan_out(out["rows"])
        return out

    return handler


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_decorated_handler_under_faults_returns_only_pointers_to_written_data(
    aws: AwsResources, backoff: list[float], seed: int
) -> None:
    """GIVEN an input of 200 pointers and a handler whose result must be offloaded (items, S3
    objects, a 300-element fan-out) WHEN it runs while ~35% of requests fail
    THEN it returns a result whose every pointer loads (with a clean client) to exactly what the
    handler returned, or raises a library error; a clean retry then converges with no orphans."""
    res = aws
    inputs = _parts(200, large_every=10)
    event = {
        "sfn_execution_arn": EXECUTION_ARN,
        "inputs": offload(inputs, repository(res, None), namespace="producer", budget=60_000),
    }
    expected = _task_output({"inputs": inputs})
    faults = FaultInjector(seed=seed, rate=0.35)
    before = inventory(res)

    try:
        out = _decorated(repository(res, faults))(event, FakeLambdaContext())
    except SfnOffloadError:
        out = None

    clean = repository(res, None)
    if out is not None:
        assert out["status"] == "ok"
        assert out["count"] == 200
        assert list(pointers_in(out))
        assert hydrate(out, clean) == expected  # every pointer names data that was written
    retried = _decorated(clean)(event, FakeLambdaContext())  # Step Functions retries the task
    assert hydrate(retried, clean) == expected
    if out is not None:
        assert retried == out  # same keys
    after_retry = inventory(res)
    _decorated(clean)(event, FakeLambdaContext())
    assert inventory(res) == after_retry  # a further retry adds nothing
    new_items = after_retry[0] - before[0]
    new_objects = after_retry[1] - before[1]
    written = list(pointers_in(retried))
    assert len(new_objects) == sum(p["backend"] == "s3" for p in written)
    assert len(new_items) == (
        sum(p["backend"] == "dynamodb" and "count" not in p for p in written) + FAN_OUT_ITEMS
    )
    assert_faults_were_heavy(faults, "dynamodb", "s3")


@pytest.mark.parametrize("seed", [31, 32])
def test_requests_that_keep_failing_raise_a_library_error_and_leave_nothing_a_retry_keeps(
    aws: AwsResources, backoff: list[float], seed: int
) -> None:
    """GIVEN some API calls that fail on every attempt (throttled past botocore's 6 attempts)
    WHEN the decorated handler offloads its result THEN it raises a StoreError (never returns a
    pointer), and the clean retry leaves exactly what a single clean run leaves."""
    res = aws
    inputs = _parts(50, large_every=5)
    event = {
        "sfn_execution_arn": EXECUTION_ARN,
        "inputs": offload(inputs, repository(res, None), namespace="producer", budget=20_000),
    }
    before = inventory(res)
    faults = FaultInjector(seed=seed, rate=0.3, persistent=0.5)

    with pytest.raises(StoreError) as caught:
        _decorated(repository(res, faults))(event, FakeLambdaContext())

    assert caught.value.code  # the AWS error code (or transport error class) is kept
    assert caught.value.__cause__ is not None
    clean = repository(res, None)
    retried = _decorated(clean)(event, FakeLambdaContext())
    assert hydrate(retried, clean) == _task_output({"inputs": inputs})
    written = list(pointers_in(retried))
    items, objects = inventory(res)
    assert len(objects - before[1]) == sum(p["backend"] == "s3" for p in written)
    assert len(items - before[0]) == (
        sum(p["backend"] == "dynamodb" and "count" not in p for p in written) + FAN_OUT_ITEMS
    )


# --------------------------------------------------------------------------------------------
# deadline: retries stop before the Lambda's remaining time runs out
# --------------------------------------------------------------------------------------------


def test_retry_deadline_binds_a_policy_without_its_own_deadline() -> None:
    """GIVEN a Lambda context with 1.5 s left (margin 1 s) WHEN delays are drawn inside
    retry_deadline THEN only retries whose sleep still leaves the margin are allowed."""
    policy = RetryPolicy(max_attempts=50, base_delay=0.1, max_delay=2.0, sleep=lambda s: None)
    assert len(list(policy.delays())) == 49  # unbound: attempts are the only limit

    with retry_deadline(FakeLambdaContext(remaining_ms=1_500)) as bound:
        assert bound is not None
        assert bound() == 1.5
        delays = list(policy.delays())
    assert len(delays) < 49
    assert all(1.5 - delay >= policy.safety_margin for delay in delays)
    assert len(list(policy.delays())) == 49  # unbound again after the block


def test_a_policys_own_deadline_wins_over_the_bound_one() -> None:
    policy = RetryPolicy(
        max_attempts=5, base_delay=0.0, remaining_time=lambda: 100.0, sleep=lambda s: None
    )
    with retry_deadline(FakeLambdaContext(remaining_ms=0)):
        assert len(list(policy.delays())) == 4


def test_retry_deadline_ignores_contexts_without_a_numeric_remaining_time() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda s: None)
    for context in (None, object(), mock.MagicMock()):
        with retry_deadline(context):
            assert len(list(policy.delays())) == 2
    with retry_deadline(FakeLambdaContext(remaining_ms=100)), retry_deadline(None):
        assert list(policy.delays()) == []  # an inner block without a deadline keeps the outer
    assert remaining_time_of(lambda: 3.0) is not None


def test_the_deadline_reaches_batches_running_in_worker_threads(
    aws: AwsResources,
) -> None:
    """GIVEN every BatchWriteItem coming back partial, and 0.9 s left (under the 1 s margin)
    WHEN put_items writes 4 batches concurrently inside retry_deadline THEN no batch is retried:
    4 requests, one StoreError naming the leftovers."""
    res = aws
    faults = FaultInjector(seed=1, rate=1.0, wire=False, broken_bodies=False)
    repo = repository(res, faults)
    client = StateDataClient(res.table, NS, repository=repo)
    counter = RequestCounter(repo.clients.dynamodb)

    with pytest.raises(StoreError) as caught, retry_deadline(FakeLambdaContext(remaining_ms=900)):
        client.put_items("rows", list(range(100)))

    assert caught.value.code == "UnprocessedItems"
    # one attempt per batch at most (a batch not yet started when another failed is dropped)
    assert counter["DynamoDB.BatchWriteItem"] <= 4


def test_without_a_deadline_the_same_batches_are_retried(aws: AwsResources) -> None:
    res = aws
    faults = FaultInjector(seed=1, rate=1.0, wire=False, broken_bodies=False)
    repo = repository(res, faults)
    client = StateDataClient(res.table, NS, repository=repo)
    counter = RequestCounter(repo.clients.dynamodb)

    with contextlib.suppress(StoreError):  # it may drain, or give up after 10 attempts
        client.put_items("rows", list(range(100)))

    assert counter["DynamoDB.BatchWriteItem"] > 4


@pytest.mark.parametrize(("remaining_ms", "attempts"), [(1_500, 1), (60_000, 6)])
def test_botocore_stops_retrying_created_clients_at_the_deadline(
    aws: AwsResources, backoff: list[float], remaining_ms: int, attempts: int
) -> None:
    """GIVEN clients sfn-offload creates and a DynamoDB that throttles every request
    WHEN 1.5 s are left THEN botocore's retries stop at once (its next backoff could take 1 s,
    leaving less than the 1 s margin): one attempt and a StoreError, not a Lambda timeout.
    With a minute left, all 6 attempts are made."""
    clients = AwsClients()
    faults = FaultInjector(seed=1, rate=1.0, transient=False, partial=False)
    faults.attach(clients.dynamodb)
    client = StateDataClient(
        aws.table,
        NS,
        repository=PayloadRepository(OffloadConfig(table=aws.table), clients=clients),
    )

    with (
        pytest.raises(StoreError) as caught,
        retry_deadline(FakeLambdaContext(remaining_ms=remaining_ms)),
    ):
        client.put_item("k", {"a": 1})

    assert faults.sent["dynamodb"] == attempts
    assert caught.value.code in {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "InternalServerError",
        "ConnectionClosedError",
        "EndpointConnectionError",
    }


def test_the_recommended_decorator_binding_bounds_its_retries(
    aws: AwsResources,
) -> None:
    """The lines proposed for ``_decorator.py`` wrap each invocation in
    ``with retry_deadline(context):``; doing the same around a decorated handler shows the
    binding reaches the offload's batch retries: with 0.5 s left nothing is retried."""
    res = aws
    faults = FaultInjector(seed=2, rate=1.0, wire=False, broken_bodies=False)
    repo = repository(res, faults)
    counter = RequestCounter(repo.clients.dynamodb)

    @state_offload(repository=repo)
    def handler(event: dict[str, Any], context: Any) -> Any:
        return {"rows": fan_out(list(range(60)))}

    context = FakeLambdaContext(remaining_ms=500)
    with pytest.raises(StoreError, match="unprocessed"), retry_deadline(context):
        handler({"sfn_execution_arn": EXECUTION_ARN}, context)
    assert counter["DynamoDB.BatchWriteItem"] <= 3


def test_botocore_retries_of_created_clients_stay_bounded_whatever_else_is_configured() -> None:
    """Created clients: standard mode, 6 attempts at most, 5 s / 30 s timeouts per attempt; a
    user's ``boto_config`` without ``retries`` keeps that bound."""
    from botocore.config import Config

    for clients in (AwsClients(), AwsClients(boto_config=Config(region_name="eu-west-1"))):
        config = clients.dynamodb.meta.config
        assert config.retries == {"mode": "standard", "total_max_attempts": 6}
        assert (config.connect_timeout, config.read_timeout) == (5, 30)
