"""Issue #14, outcome 4: no write destroys data a surviving pointer names; data outlives every
execution that can still read it; py2sfn namespaces do not collide; concurrent writers of one
key never produce a mixed read."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import AwsResources
from fakes import EXECUTION_ARN, TABLE, FakeLambdaContext, memory_repo
from sfn_offload import NoItemFound, OffloadConfig, StateDataClient, fan_out, state_offload
from sfn_offload._config import DEFAULT_TTL_DAYS
from sfn_offload.distributed import write_item_file
from sfn_offload.errors import ConcurrentWriteError, StoreError
from sfn_offload.storage import Address, AwsClients, MemoryStore, PayloadRepository, Record
from sfn_offload.storage.pages import PAGES_PREFIX
from sfn_offload.storage.setup import ensure_bucket, expiring_prefixes

DAY = 86_400
NOW = 1_700_000_000


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------------------------
# a failed overwrite keeps the first write whole
# --------------------------------------------------------------------------------------------


def _fail_second_put_item(client: Any) -> None:
    """The second PutItem the client sends fails (after S3 took the new object)."""
    calls = {"n": 0}

    def maybe_fail(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "PutItem"
            )

    client.meta.events.register("before-call.dynamodb.PutItem", maybe_fail)


@pytest.mark.parametrize("second", ["large", "small"])
def test_an_overwrite_that_fails_leaves_the_first_value_readable(
    moto_resources: AwsResources, second: str
) -> None:
    """GIVEN put_item v1 (overflowing to S3), then put_item v2 of the same key failing at
    PutItem (v2's object already uploaded)
    WHEN get_item THEN v1, whole: v2's clean-up deleted only its own object."""
    ddb = moto_resources.dynamodb()
    _fail_second_put_item(ddb)
    client = StateDataClient(
        moto_resources.table,
        "run-1",
        s3_bucket=moto_resources.bucket,
        config=OffloadConfig(item_budget_bytes=1_000),
        dynamodb_client=ddb,
        s3_client=moto_resources.s3(),
    )
    v1 = {"v": 1, "pad": "a" * 5_000}
    v2 = {"v": 2, "pad": "b" * (5_000 if second == "large" else 10)}
    client.put_item("report", v1)
    with pytest.raises(StoreError):
        client.put_item("report", v2)

    assert client.get_item("report") == v1
    keys = [
        o["Key"]
        for o in moto_resources.s3()
        .list_objects_v2(Bucket=moto_resources.bucket)
        .get("Contents", [])
    ]
    assert len(keys) == 1  # v1's object only: v2's was cleaned up


def test_writers_of_one_address_never_leave_an_item_naming_a_deleted_object() -> None:
    """GIVEN eight threads rewriting one address with different large payloads
    WHEN they are done THEN the item names an object that exists and reads back, and exactly
    one object is left."""
    repo = memory_repo(item_budget_bytes=100)
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        for round_ in range(20):
            repo.write_item(None, "run:k", 0, repo.encode(f"{n}-{round_}-" + "x" * 300))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    item = repo.dynamodb.get(Address(TABLE, "run:k", 0))
    assert item.redirect is not None
    assert StateDataClient(TABLE, "run", repository=repo).get_item("k").endswith("x" * 300)
    assert len(repo.s3.data) == 1  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# concurrent put_items of one key
# --------------------------------------------------------------------------------------------


class Interleaving(MemoryStore):
    """A DynamoDB stand-in that lets writer B run whole between writer A's first and second
    batch (what two tasks writing 60 and 20 elements can do)."""

    def __init__(self) -> None:
        super().__init__("dynamodb")
        self.a_paused = threading.Event()
        self.b_done = threading.Event()

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        first = entries[0][1].body or b""
        if first.startswith(b'"A') and not self.a_paused.is_set():
            super().put_many(entries[:25])
            self.a_paused.set()
            self.b_done.wait(5)
            super().put_many(entries[25:])
            return
        super().put_many(entries)


def test_two_concurrent_put_items_never_read_back_as_a_mix() -> None:
    """GIVEN put_items of 60 A's and of 20 B's on one key, B landing inside A's write
    WHEN the list is read THEN ConcurrentWriteError, not 60 elements of A and B mixed."""
    ddb = Interleaving()
    repo = PayloadRepository(OffloadConfig(table=TABLE), dynamodb=ddb, s3=MemoryStore("s3"))
    client = StateDataClient(TABLE, "run", repository=repo)
    a = threading.Thread(target=client.put_items, args=("k", [f"A{i}" for i in range(60)]))
    a.start()
    assert ddb.a_paused.wait(5)
    client.put_items("k", [f"B{i}" for i in range(20)])
    ddb.b_done.set()
    a.join()

    with pytest.raises(ConcurrentWriteError, match="different writes"):
        client.get_items("k")
    client.put_items("k", ["C"])  # writing the list again repairs it
    assert client.get_items("k") == ["C"]


def test_concurrent_put_items_on_moto_read_back_whole_or_refused(
    moto_resources: AwsResources,
) -> None:
    lists = {name: [f"{name}{i}" for i in range(n)] for name, n in (("A", 60), ("B", 20))}
    for _ in range(5):
        clients = [
            StateDataClient(
                moto_resources.table,
                "run",
                dynamodb_client=boto3.client("dynamodb", region_name=moto_resources.region),
            )
            for _ in lists
        ]
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=_write_together, args=(barrier, c, v))
            for c, v in zip(clients, lists.values(), strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with contextlib.suppress(ConcurrentWriteError):  # refused: never a mix
            assert clients[0].get_items("k") in list(lists.values())


def _write_together(barrier: threading.Barrier, client: StateDataClient, values: list[str]) -> None:
    barrier.wait()
    client.put_items("k", values)


# --------------------------------------------------------------------------------------------
# py2sfn-style namespaces
# --------------------------------------------------------------------------------------------


def test_same_named_executions_of_two_state_machines_do_not_share_keys() -> None:
    """GIVEN executions named run-1 of state machines orders and payroll
    WHEN each stores a list with context.state_data_client.put_items("rows", ...)
    THEN each reads back its own list: the shorter did not delete the longer's elements."""
    repo = memory_repo()

    @state_offload(repository=repo)
    def task(event: Any, context: Any) -> Any:
        context.state_data_client.put_items("rows", event["rows"])
        return context.state_data_client.get_items("rows")

    orders = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1"
    payroll = "arn:aws:states:us-east-1:123456789012:execution:payroll:run-1"
    assert task({"sfn_execution_arn": orders, "rows": [1, 2, 3, 4, 5]}, None) == [1, 2, 3, 4, 5]
    assert task({"sfn_execution_arn": payroll, "rows": ["x"]}, None) == ["x"]
    assert task({"sfn_execution_arn": orders, "rows": [1, 2, 3, 4, 5]}, None) == [1, 2, 3, 4, 5]
    keys = {a.key for a in repo.dynamodb.data if not a.key.startswith(PAGES_PREFIX)}  # type: ignore[attr-defined]
    assert len(keys) == 2
    assert not any(k.startswith("run-1:") for k in keys)


def test_data_py2sfn_wrote_under_the_execution_name_is_still_read() -> None:
    """GIVEN a list and an item py2sfn-task-tools wrote under the bare execution name
    WHEN the execution's decorated task reads them (client, and a local Map event)
    THEN they are found there."""
    repo = memory_repo()
    legacy = StateDataClient(TABLE, "run-42", repository=repo)  # py2sfn's namespace
    legacy.put_items("rows", ["a", "b"])
    legacy.put_item("config", {"mode": "x"})

    @state_offload(repository=repo)
    def task(event: Any, context: Any) -> Any:
        client = context.state_data_client
        return [client.get_items("rows"), client.get_item("config"), event["context_value"]]

    event = {
        "sfn_execution_arn": EXECUTION_ARN,
        "items_result_key": "rows",
        "context_index": 1,
        "context_value": 1,
    }
    assert task(event, FakeLambdaContext()) == [["a", "b"], {"mode": "x"}, "b"]


# --------------------------------------------------------------------------------------------
# lifetime
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("later", "readable"),
    [
        (8 * DAY, True),  # a callback task waited 8 days
        (365 * DAY, True),  # a Standard execution at its longest
        ((365 + 14) * DAY, True),  # redriven on the last day it can be
        (DEFAULT_TTL_DAYS * DAY + 1, False),
    ],
    ids=["8-days", "one-year", "year-and-redrive", "past-the-lifetime"],
)
def test_data_outlives_every_execution_that_can_still_read_it(later: int, readable: bool) -> None:
    """GIVEN a task that offloads its result (an item, an S3 object, a fan-out list) with the
    default configuration WHEN the next task reads it `later` THEN it is there, until the
    documented lifetime has passed (then NoItemFound says it expired)."""
    clock = Clock()
    repo = PayloadRepository(
        OffloadConfig(table=TABLE, bucket="state-bucket", item_budget_bytes=1_000),
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
        clock=clock,
    )

    @state_offload(repository=repo, max_inline_bytes=2_000)
    def produce(event: Any, context: Any) -> Any:
        return {"small": "s" * 1_500, "large": "l" * 5_000, "rows": fan_out(list(range(3)))}

    @state_offload(repository=repo)
    def consume(event: Any, context: Any) -> Any:
        return [len(event["state"]["small"]), len(event["state"]["large"]), event["state"]["rows"]]

    state = produce({"sfn_execution_arn": EXECUTION_ARN}, None)
    clock.now += later
    event = {"state": state, "sfn_execution_arn": EXECUTION_ARN}
    if readable:
        assert consume(event, None) == [1_500, 5_000, [0, 1, 2]]
    else:
        with pytest.raises(NoItemFound, match="expired"):
            consume(event, None)


def test_the_lifecycle_rules_cover_every_prefix_the_library_writes(
    moto_resources: AwsResources,
) -> None:
    """GIVEN a bucket set up for s3_prefix team-a/ WHEN the library writes every kind of object
    (value payloads, item overflow, list elements, item files) THEN each key lies under a prefix
    the bucket's lifecycle rules expire, after the configured TTL."""
    s3 = moto_resources.s3()
    bucket = "team-a-payloads"
    config = OffloadConfig(
        table=moto_resources.table, bucket=bucket, s3_prefix="team-a/", item_budget_bytes=1_000
    )
    result = ensure_bucket(s3, bucket, ttl_days=config.ttl_days, s3_prefix="team-a/")
    assert [c.ok for c in result.checks if c.name.startswith("lifecycle")] == [True, True]
    repo = PayloadRepository(
        config, clients=AwsClients(dynamodb_client=moto_resources.dynamodb(), s3_client=s3)
    )
    big = "b" * 5_000
    repo.write_value("ns:v", 0, repo.encode(big))
    repo.write_item(None, "ns:item", 0, repo.encode(big))
    repo.write_items(None, "ns:list", [repo.encode(big), repo.encode(1)])
    write_item_file([big], repo, namespace="ns")

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    expiring = {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in rules}
    assert set(expiring) == set(expiring_prefixes("team-a/"))
    assert set(expiring.values()) == {DEFAULT_TTL_DAYS}
    assert len(keys) == 4
    for key in keys:
        assert any(key.startswith(prefix) for prefix in expiring), key
