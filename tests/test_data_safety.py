"""Edge cases of writing and reading that decide whether data can be lost or stale data read.

- A failed item write only deletes overflow objects that no committed item refers to (a batch
  that partly committed, or a request applied by DynamoDB whose response was lost, keeps them).
- Expired data is refused the same way in DynamoDB and S3.
- A damaged item at an address does not block overwriting it.
- An S3 body that breaks off mid-read is fetched again, within bounds.
- Value layout moving a payload between tiers leaves the old copy to expiry, never to be read.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from conftest import AwsResources
from sfn_offload import NoItemFound, OffloadConfig, StateDataClient
from sfn_offload.errors import StoreError, translate_aws_errors
from sfn_offload.storage import (
    Address,
    AwsClients,
    MemoryStore,
    PayloadRepository,
    Record,
    RetryPolicy,
)
from sfn_offload.storage.pages import PAGES_PREFIX
from sfn_offload.wire import Pointer

NOW = 1_700_000_000
DAY = 86_400
BUDGET = 1_000
PK = "run-1:rows"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class PartlyCommitting(MemoryStore):
    """A DynamoDB stand-in whose batch write commits the first ``commit`` items, then fails
    (other batches went in; or, with ``commit`` = all, the response was lost)."""

    def __init__(self, commit: int, *, reads_fail: bool = False) -> None:
        super().__init__("dynamodb")
        self.commit = commit
        self.reads_fail = reads_fail
        self.failing = True

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        # (A list's proof pages, written before its elements, go in.)
        if not self.failing or all(a.key.startswith(PAGES_PREFIX) for a, _ in entries):
            return super().put_many(entries)
        super().put_many(entries[: self.commit])
        raise StoreError("DynamoDB.BatchWriteItem failed: InternalServerError", code="500")

    def put(self, address: Address, record: Record) -> Record | None:
        if self.commit:
            super().put(address, record)
        raise StoreError("DynamoDB.PutItem failed: connection reset", code="ConnectionClosed")

    def get_many(self, addresses: Sequence[Address]) -> dict[Address, Record]:
        if self.reads_fail:
            raise StoreError("DynamoDB.BatchGetItem failed: throttled", code="Throttling")
        return super().get_many(addresses)


def make(ddb: MemoryStore, clock: Clock | None = None) -> tuple[PayloadRepository, MemoryStore]:
    s3 = MemoryStore("s3")
    repo = PayloadRepository(
        OffloadConfig(table="state", bucket="bucket", item_budget_bytes=BUDGET),
        dynamodb=ddb,
        s3=s3,
        clock=clock or Clock(),
    )
    return repo, s3


def big(i: int) -> str:
    return f"{i}:" + "x" * (BUDGET + 10)


# --------------------------------------------------------------------------------------------
# a failed item write never deletes an object a committed item refers to
# --------------------------------------------------------------------------------------------


def test_a_partly_committed_batch_keeps_the_objects_of_the_committed_items() -> None:
    """GIVEN 6 large elements whose item write commits 4 and then fails WHEN the write is
    retried THEN the retry skips the 4 committed elements (same digests), so their objects
    must still be there: only the objects of the 2 uncommitted elements were deleted."""
    ddb = PartlyCommitting(commit=4)
    repo, s3 = make(ddb)
    values = [big(i) for i in range(6)]

    with pytest.raises(StoreError):
        repo.write_items(None, PK, [repo.encode(v) for v in values])

    assert sorted(a.index for a in s3.data) == [0, 1, 2, 3]
    ddb.failing = False  # Step Functions retries the task; this time the writes go through
    repo.write_items(None, PK, [repo.encode(v) for v in values])
    assert repo.read_partition("state", PK) == values


def test_an_item_write_applied_but_unanswered_keeps_its_object() -> None:
    """GIVEN a PutItem that DynamoDB applied but whose response was lost WHEN put_item fails
    THEN the overflow object stays: the committed item refers to it and must stay readable."""
    repo, s3 = make(PartlyCommitting(commit=1))
    encoded = repo.encode(big(0))

    with pytest.raises(StoreError):
        repo.write_item(None, PK, 0, encoded)

    assert len(s3.data) == 1
    pointer = Pointer("dynamodb", "state", PK, 0, encoded.size, encoded.sha256, encoded.encoding)
    assert repo.read_many([pointer]) == [big(0)]


def test_when_the_committed_items_cannot_be_checked_nothing_is_deleted() -> None:
    """Deleting blind could leave an item pointing at nothing; an orphan object is only cost
    (the retry overwrites it, the lifecycle rule expires it)."""
    repo, s3 = make(PartlyCommitting(commit=0, reads_fail=True))

    with pytest.raises(StoreError, match="BatchWriteItem"):
        repo.write_items(None, PK, [repo.encode(big(i)) for i in range(3)])

    assert len(s3.data) == 3


def test_a_failed_write_with_nothing_committed_still_deletes_its_objects() -> None:
    repo, s3 = make(PartlyCommitting(commit=0))

    with pytest.raises(StoreError):
        repo.write_items(None, PK, [repo.encode(big(i)) for i in range(3)])

    assert s3.data == {}


# --------------------------------------------------------------------------------------------
# expiry: DynamoDB and S3 alike
# --------------------------------------------------------------------------------------------


def _repo(res: AwsResources, clock: Clock, **config: Any) -> PayloadRepository:
    settings: dict[str, Any] = {"table": res.table, "bucket": res.bucket, "ttl_days": 1, **config}
    return PayloadRepository(
        OffloadConfig(**settings),
        clients=AwsClients(dynamodb_client=res.dynamodb(), s3_client=res.s3()),
        clock=clock,
    )


@pytest.mark.parametrize("layout", ["value", "overflow"])
def test_an_expired_s3_object_is_refused_like_an_expired_item(
    aws: AwsResources, layout: str
) -> None:
    """GIVEN a payload in S3 with a 1-day TTL (written directly, or as an item's overflow)
    WHEN it is read a second after the TTL THEN NoItemFound says it expired; a second before,
    it is returned."""
    clock = Clock(NOW)
    repo = _repo(aws, clock, item_budget_bytes=BUDGET)
    value = big(1)
    if layout == "value":
        pointer = repo.write_value("exec:big", 0, repo.encode(value))
        assert pointer.backend == "s3"
    else:
        pointer = repo.write_item(None, "exec:big", 0, repo.encode(value))
        # the item says it expired too: make only the object's expiry decide
        key = {"partition_key": {"S": "exec:big"}, "sort_key": {"N": "0"}}
        aws.dynamodb().update_item(
            TableName=aws.table,
            Key=key,
            UpdateExpression="REMOVE expires_at",
        )
    clock.now = NOW + DAY - 1
    assert repo.read_many([pointer]) == [value]

    clock.now = NOW + DAY + 1
    with pytest.raises(NoItemFound, match="S3 object expired") as caught:
        repo.read_many([pointer])
    assert "lifecycle" in str(caught.value)


def test_s3_objects_without_an_expiry_are_read_as_before(aws: AwsResources) -> None:
    """py2sfn-task-tools wrote overflow objects without the metadata: they never 'expire'."""
    aws.s3().put_object(Bucket=aws.bucket, Key="workflow_state_data/t/k/0", Body=b'"old"')
    repo = _repo(aws, Clock(NOW + 10 * 365 * DAY))
    record = repo.s3.get(Address(aws.bucket, "workflow_state_data/t/k/0"))
    assert record.expires_at is None
    assert record.body == b'"old"'


# --------------------------------------------------------------------------------------------
# a damaged item does not block its own replacement
# --------------------------------------------------------------------------------------------


def test_a_damaged_item_at_the_address_is_overwritten(aws: AwsResources) -> None:
    aws.dynamodb().put_item(
        TableName=aws.table,
        Item={
            "partition_key": {"S": "exec:k"},
            "sort_key": {"N": "0"},
            "s3_key": {"N": "12"},  # not a string: unreadable
        },
    )
    client = StateDataClient(
        aws.table,
        "exec",
        dynamodb_client=aws.dynamodb(),
        s3_client=aws.s3(),
        s3_bucket=aws.bucket,
    )

    client.put_item("k", {"fixed": True})
    client.put_items("k", [1, 2])

    assert client.get_item("k") == 1
    assert client.get_items("k") == [1, 2]


# --------------------------------------------------------------------------------------------
# S3 bodies that break off are read again, within bounds
# --------------------------------------------------------------------------------------------


class BreakingBodies:
    """``after-call`` hook: the first ``times`` GetObject bodies end halfway."""

    def __init__(self, client: Any, times: int) -> None:
        self.times = times
        self.calls = 0
        client.meta.events.register("after-call.s3.GetObject", self)

    def __call__(self, parsed: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        if self.calls > self.times:
            return
        data = parsed["Body"].read()
        parsed["Body"] = StreamingBody(io.BytesIO(data[: len(data) // 2]), len(data))


@pytest.mark.parametrize(("breaks", "reads"), [(2, 3), (100, 4)])
def test_a_body_that_breaks_off_is_read_again_a_bounded_number_of_times(
    aws: AwsResources, breaks: int, reads: int
) -> None:
    s3 = aws.s3()
    bodies = BreakingBodies(s3, breaks)
    repo = PayloadRepository(
        OffloadConfig(table=aws.table, bucket=aws.bucket, item_budget_bytes=BUDGET),
        clients=AwsClients(dynamodb_client=aws.dynamodb(), s3_client=s3),
        retry=RetryPolicy(max_attempts=4, sleep=lambda s: None),
    )
    bodies.times = 0
    pointer = repo.write_value("exec:big", 0, repo.encode(big(2)))
    bodies.times, bodies.calls = breaks, 0

    if breaks < reads:
        assert repo.read_many([pointer]) == [big(2)]
    else:
        with pytest.raises(StoreError) as caught:
            repo.read_many([pointer])
        assert caught.value.code == "IncompleteReadError"
    assert bodies.calls == reads


# --------------------------------------------------------------------------------------------
# value layout: a payload changing tier at the same address
# --------------------------------------------------------------------------------------------


def test_a_payload_moving_to_an_item_leaves_the_old_object_to_expiry_never_to_a_reader() -> None:
    """Documented decision (docs/RELIABILITY.md): write_value does not look for a copy of an
    earlier write in the other tier (that would cost a request on every write). The old copy
    is unreferenced, carries its expiry, and no pointer returned afterwards names it."""
    clock = Clock()
    repo, s3 = make(MemoryStore("dynamodb"), clock)
    large = repo.write_value("exec:out", 0, repo.encode(big(3)))
    small = repo.write_value("exec:out", 0, repo.encode({"small": True}))

    assert (large.backend, small.backend) == ("s3", "dynamodb")
    assert repo.read_many([small]) == [{"small": True}]
    (stale,) = s3.data.values()
    # removed by the lifecycle rule (380 days, the default lifetime), refused if read late
    assert stale.expires_at == NOW + 380 * DAY
    clock.now = NOW + 381 * DAY
    with pytest.raises(NoItemFound, match="expired"):
        repo.read_many([large])


# --------------------------------------------------------------------------------------------
# error messages
# --------------------------------------------------------------------------------------------


def test_access_denied_on_get_object_hints_at_a_missing_object() -> None:
    error = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject"
    )
    with pytest.raises(StoreError) as caught, translate_aws_errors("S3.GetObject", "bucket 'b'"):
        raise error
    assert caught.value.code == "AccessDenied"
    assert "s3:ListBucket" in str(caught.value)
    with pytest.raises(StoreError) as other, translate_aws_errors("S3.PutObject", "bucket 'b'"):
        raise error
    assert "ListBucket" not in str(other.value)
