"""Concurrency: many writers and readers on one key, and retried (even overlapping) tasks.

Functional tests: they take the ``aws`` fixture (moto, and a real account with
``SFN_OFFLOAD_TEST_REAL_AWS=1``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from conftest import AwsResources
from fakes import EXECUTION_ARN, FakeLambdaContext
from sfn_offload import OffloadConfig, StateDataClient, fan_out, hydrate, offload, state_offload
from sfn_offload.storage import PayloadRepository
from sfn_offload.wire import is_pointer

WRITERS = 500
READERS = 40
NS = "exec-conc"


def element(i: int) -> dict[str, Any]:
    """Element ``i``; every 25th is over the item budget, so it lives in S3."""
    return {"i": i, "text": ("Ω" * 800) if i % 25 == 0 else f"v{i}"}


def inventory(res: AwsResources) -> tuple[set[tuple[str, int]], set[str]]:
    items: set[tuple[str, int]] = set()
    for page in (
        res.dynamodb()
        .get_paginator("scan")
        .paginate(TableName=res.table, ProjectionExpression="partition_key, sort_key")
    ):
        items |= {(i["partition_key"]["S"], int(i["sort_key"]["N"])) for i in page["Items"]}
    objects: set[str] = set()
    for page in res.s3().get_paginator("list_objects_v2").paginate(Bucket=res.bucket):
        objects |= {o["Key"] for o in page.get("Contents", [])}
    return items, objects


def client(res: AwsResources) -> StateDataClient:
    """A client whose boto3 clients sfn-offload creates (as in a Lambda), shared by all threads."""
    config = OffloadConfig(table=res.table, bucket=res.bucket, item_budget_bytes=1_000)
    return StateDataClient(res.table, NS, config=config)


@pytest.mark.parametrize("method", ["put_global_item", "put_item"])
def test_500_concurrent_writers_of_distinct_indices_and_concurrent_readers(
    aws: AwsResources, method: str
) -> None:
    """GIVEN 500 threads released together, each writing its own index of one key (some
    elements overflowing to S3), and 40 reader threads each reading back an index as soon as
    its write returned WHEN they all run THEN every reader saw exactly what was written, and
    afterwards the whole list and every single index read back complete and correct."""
    shared = client(aws)
    partition_key = f"{NS}:rows"
    write: Callable[[int], Any] = (
        (lambda i: shared.put_global_item(aws.table, partition_key, element(i), i))
        if method == "put_global_item"
        else (lambda i: shared.put_item("rows", element(i), i))
    )
    start = threading.Barrier(WRITERS + READERS)
    written: queue.Queue[int | None] = queue.Queue()
    seen: list[int] = []
    wrong: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def writer(i: int) -> None:
        start.wait()
        result = write(i)
        assert result["partition_key"] == partition_key
        written.put(i)

    def reader() -> None:
        start.wait()
        while (i := written.get()) is not None:
            value = shared.get_global_item(aws.table, partition_key, i)
            with lock:
                seen.append(i)
                if value != element(i):
                    wrong.append((i, value))

    with ThreadPoolExecutor(max_workers=WRITERS + READERS) as pool:
        readers = [pool.submit(reader) for _ in range(READERS)]
        writers = [pool.submit(writer, i) for i in range(WRITERS)]
        for future in writers:
            future.result()
        for _ in range(READERS):
            written.put(None)
        for future in readers:
            future.result()

    assert wrong == []
    assert sorted(seen) == list(range(WRITERS))
    expected = [element(i) for i in range(WRITERS)]
    assert shared.get_global_items(aws.table, partition_key) == expected
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        reads = list(
            pool.map(lambda i: shared.get_global_item(aws.table, partition_key, i), range(WRITERS))
        )
    assert reads == expected
    items, objects = inventory(aws)
    assert len([k for k in items if k[0] == partition_key]) == WRITERS
    assert len(objects) == WRITERS // 25  # one overflow object per large element, no more


# --------------------------------------------------------------------------------------------
# a retried task: same keys, no orphans
# --------------------------------------------------------------------------------------------


def _task(repo: PayloadRepository) -> Callable[[dict[str, Any], Any], Any]:
    @state_offload(repository=repo, keep_inline=["status"], max_inline_bytes=4_000)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        orders = event["orders"]
        context.state_data_client.put_items("audit", [o["id"] for o in orders[:30]])
        return {
            "status": "ok",
            "report": {"lines": [f"{o['id']}:{o['qty'] * 3}" + "." * 40 for o in orders]},
            "big": "Ж" * 3_000,  # over the item budget: an S3 object
            "shards": fan_out([orders[i : i + 10] for i in range(0, len(orders), 10)]),
        }

    return handler


def _event(repo: PayloadRepository) -> dict[str, Any]:
    orders = [{"id": f"o-{i}", "qty": i % 7} for i in range(200)]
    return {
        "sfn_execution_arn": EXECUTION_ARN,
        "orders": offload(orders, repo, namespace="producer", budget=1_000),
    }


def test_rerunning_the_same_task_writes_the_same_keys_and_leaves_no_orphans(
    aws: AwsResources,
) -> None:
    """GIVEN a decorated task that hydrates its input, writes through the explicit client and
    offloads items, an S3 object and a fan-out WHEN Step Functions runs it again with the same
    input THEN the output is identical and the table and bucket hold exactly the same keys."""
    repo = PayloadRepository(
        OffloadConfig(table=aws.table, bucket=aws.bucket, item_budget_bytes=2_000)
    )
    event = _event(repo)
    assert is_pointer(event["orders"])
    before = inventory(aws)

    first = _task(repo)(event, FakeLambdaContext())
    after_first = inventory(aws)
    second = _task(repo)(event, FakeLambdaContext())
    after_second = inventory(aws)

    assert second == first
    assert after_second == after_first
    assert after_first[0] > before[0]
    assert after_first[1] > before[1]
    report = hydrate(second, repo)
    assert report["status"] == "ok"
    assert len(report["shards"]) == 20


@pytest.fixture
def moto_serialized(aws: AwsResources, monkeypatch: pytest.MonkeyPatch) -> AwsResources:
    """On moto, one request at a time: moto's S3 closes the buffer of an object that a
    concurrent PutObject of the same key replaces while the first response is still being built
    ("I/O operation on closed file"), a moto bug; real S3 takes concurrent writes of one key
    (last writer wins). The library's threads still run concurrently."""
    if aws.mode == "moto":
        from moto.core.botocore_stubber import BotocoreStubber

        lock = threading.RLock()
        original = BotocoreStubber.__call__

        def serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(self, *args, **kwargs)

        monkeypatch.setattr(BotocoreStubber, "__call__", serialized)
    return aws


def test_overlapping_attempts_of_the_same_task_converge(moto_serialized: AwsResources) -> None:
    """GIVEN four attempts of the same task running at once (a Lambda timed out and Step
    Functions retried while it was still running) WHEN they all finish THEN they returned the
    same output, which loads completely, and they left what a single attempt leaves."""
    aws = moto_serialized
    repo = PayloadRepository(
        OffloadConfig(table=aws.table, bucket=aws.bucket, item_budget_bytes=2_000)
    )
    event = _event(repo)
    single = PayloadRepository(repo.config)
    reference = _task(single)(event, FakeLambdaContext())
    reference_inventory = inventory(aws)

    start = threading.Barrier(4)

    def attempt(_: int) -> Any:
        start.wait()
        return _task(PayloadRepository(repo.config))(event, FakeLambdaContext())

    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(attempt, range(4)))

    assert all(out == reference for out in outputs)
    assert inventory(aws) == reference_inventory
    assert hydrate(outputs[0], repo)["big"] == "Ж" * 3_000
