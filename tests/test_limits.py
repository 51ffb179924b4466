"""Issue #14, outcome 1: every resource is bounded before it is spent.

Each input of the issue (a list count of 2**31 - 1, an S3 object far larger than its pointer, a
gzip bomb, a result nested 1,000 deep, ResultWriter output over the cap) must give a library
error before the work grows with it: no more requests than its bounds and no more memory than
its cap (work, not wall time, so a loaded machine cannot fail them). Memory is measured
around the call only (``tracemalloc`` sees every Python allocation, the bodies botocore and
zlib hand back included).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from conftest import AwsResources
from fakes import BUCKET, EXECUTION_ARN, TABLE, FakeLambdaContext, memory_repo, requests
from sfn_offload import (
    OffloadConfig,
    PayloadTooLargeError,
    SfnOffloadError,
    hydrate,
    state_offload,
)
from sfn_offload._limits import (
    DEFAULT_MAX_HYDRATE_BYTES,
    MAX_MANIFEST_BYTES,
    hydrate_cap,
    memory_mb,
)
from sfn_offload.cli.report import parse_reference
from sfn_offload.distributed import read_result_writer
from sfn_offload.errors import IntegrityError, PayloadEncodingError, PointerNotAllowedError
from sfn_offload.storage import Address, AwsClients, PayloadRepository, Record
from sfn_offload.testing import RequestCounter
from sfn_offload.wire import Pointer
from sfn_offload.wire.codec import MAX_DEPTH, digest, dumps
from sfn_offload.wire.references import find_references

MIB = 1024 * 1024
HUGE_COUNT = 2**31 - 1
#: EXECUTION_ARN's namespace: data there is the execution's own.
NAMESPACE = "run-42.6eec097a"


@dataclass
class Spent:
    """What a block took: the peak of Python allocations (work, not time: no timed asserts)."""

    peak_bytes: int = 0


@contextmanager
def measured() -> Iterator[Spent]:
    spent = Spent()
    tracemalloc.start()
    try:
        yield spent
    finally:
        spent.peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def list_pointer(count: int, *, table: str = TABLE, key: str = "x:list") -> dict[str, Any]:
    return Pointer("dynamodb", table, key, count=count).to_dict()


# --------------------------------------------------------------------------------------------
# the caps, and where their defaults come from
# --------------------------------------------------------------------------------------------


class Ctx:
    def __init__(self, memory: object) -> None:
        self.memory_limit_in_mb = memory


@pytest.mark.parametrize(
    ("memory", "expected"),
    [
        (128, 32 * MIB),
        ("1024", 256 * MIB),  # the Python runtime sets a string
        (10_240, 2560 * MIB),
        (None, DEFAULT_MAX_HYDRATE_BYTES),
        ("lots", DEFAULT_MAX_HYDRATE_BYTES),
        (64, DEFAULT_MAX_HYDRATE_BYTES),  # outside Lambda's range: not trusted
        (True, DEFAULT_MAX_HYDRATE_BYTES),
    ],
)
def test_the_hydration_cap_is_a_quarter_of_the_functions_memory(
    memory: object, expected: int
) -> None:
    assert hydrate_cap(Ctx(memory)) == expected


def test_the_memory_is_read_from_the_runtime_environment_when_the_context_lacks_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    assert memory_mb(object()) == 512
    assert hydrate_cap(None) == 128 * MIB


def test_a_decorated_handler_hydrates_under_the_cap_its_memory_gives() -> None:
    """GIVEN a 128 MB function (a 32 MiB cap) and a pointer to 40 MB of JSON
    WHEN the decorated handler is invoked THEN PayloadTooLargeError, before the payload is read."""
    repo = memory_repo()
    pointer = repo.write_value("run:big", 0, repo.encode("x" * (40 * MIB))).to_dict()
    before = requests(repo)

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return "handled"

    context = FakeLambdaContext()
    context.memory_limit_in_mb = 128
    with pytest.raises(PayloadTooLargeError, match=f"{32 * MIB}-byte hydration cap"):
        handler({"big": pointer, "sfn_execution_arn": EXECUTION_ARN}, context)
    assert requests(repo) == before  # refused on the size the pointer records


# --------------------------------------------------------------------------------------------
# a list count of 2**31 - 1
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed-table", "foreign-table"])
def test_a_list_pointer_counting_two_billion_is_refused_before_any_request(allowed: bool) -> None:
    """GIVEN a 200-byte event whose list pointer says count 2**31 - 1
    WHEN a decorated handler is invoked
    THEN a library error (PayloadTooLargeError, or PointerNotAllowedError for a foreign table)
    with no request and no per-element work."""
    repo = memory_repo()
    table = TABLE if allowed else "other-table"
    event = {
        "rows": list_pointer(HUGE_COUNT, table=table, key=f"{NAMESPACE}:rows"),
        "sfn_execution_arn": EXECUTION_ARN,
    }

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return "handled"

    expected = PayloadTooLargeError if allowed else PointerNotAllowedError
    with measured() as spent, pytest.raises(expected):
        handler(event, FakeLambdaContext())
    assert spent.peak_bytes < 5 * MIB
    assert requests(repo) == {}


def test_a_list_pointer_counting_three_million_costs_what_the_partition_holds() -> None:
    """GIVEN a count of 3,000,000 under the cap, naming an empty partition of the execution
    WHEN hydrated THEN NoItemFound saying how many are missing, from one Query, in little memory
    (the missing indices are not listed one by one)."""
    repo = memory_repo()
    event = {
        "rows": list_pointer(3_000_000, key=f"{NAMESPACE}:rows"),
        "sfn_execution_arn": EXECUTION_ARN,
    }
    with measured() as spent, pytest.raises(SfnOffloadError, match="3000000 missing"):
        hydrate(event, repo)
    assert spent.peak_bytes < 5 * MIB
    assert requests(repo) == {"dynamodb.query": 1}


def test_references_of_a_huge_list_expand_to_nothing() -> None:
    """``show``/``inspect`` read references with ``loads()``: a list is read with Query, so its
    count never becomes a list of per-element pointers."""
    (ref,) = find_references({"rows": list_pointer(HUGE_COUNT)})
    with measured() as spent:
        assert ref.loads() == []
    assert spent.peak_bytes < 1 * MIB


def test_the_cli_refuses_to_show_a_list_counting_two_billion(
    moto_resources: AwsResources,
) -> None:
    from click.testing import CliRunner

    from sfn_offload.cli.app import EXIT_DATA, cli

    pointer = json.dumps(list_pointer(HUGE_COUNT, table=moto_resources.table))
    with measured() as spent:
        result = CliRunner().invoke(cli, ["show", pointer, "--table", moto_resources.table])
    assert result.exit_code == EXIT_DATA, result.output
    assert "hydration cap" in result.stderr
    assert spent.peak_bytes < 50 * MIB  # not 2**31 placeholders


def test_the_cli_parses_a_huge_list_reference_without_expanding_it() -> None:
    ref = parse_reference(list_pointer(HUGE_COUNT))
    assert ref is not None
    assert ref.pointer.count == HUGE_COUNT
    assert ref.loads() == []


# --------------------------------------------------------------------------------------------
# an S3 object far larger than its pointer says
# --------------------------------------------------------------------------------------------


class LazyBody:
    """A GetObject body of ``size`` bytes that are only made when read; counts what is read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0
        self.closed = False

    def read(self, amt: int | None = None) -> bytes:
        n = self.size - self.read_bytes if amt is None else min(amt, self.size - self.read_bytes)
        self.read_bytes += n
        return b"x" * n

    def close(self) -> None:
        self.closed = True


class HugeObjectS3:
    """An S3 client whose one object holds ``size`` bytes (S3 reports its ContentLength)."""

    def __init__(self, size: int, *, content_length: bool = True) -> None:
        self.body = LazyBody(size)
        self.content_length = content_length

    def get_object(self, **_: Any) -> dict[str, Any]:
        response: dict[str, Any] = {"Body": self.body, "Metadata": {"encoding": "json"}}
        if self.content_length:
            response["ContentLength"] = self.body.size
        return response


@pytest.mark.parametrize("content_length", [True, False], ids=["content-length", "no-length"])
def test_an_s3_object_larger_than_its_pointer_is_not_read(content_length: bool) -> None:
    """GIVEN a pointer saying size 10 whose S3 object holds 150 MB
    WHEN hydrated THEN IntegrityError: with ContentLength the body is not read
    at all, without it no more than one byte past the 10."""
    s3 = HugeObjectS3(150 * MIB, content_length=content_length)
    repo = PayloadRepository(
        OffloadConfig(table=TABLE, bucket=BUCKET),
        clients=AwsClients(s3_client=s3),  # type: ignore[arg-type]
    )
    key = f"sfn-offload/{NAMESPACE}:report:0123/0"
    pointer = Pointer("s3", BUCKET, key, 0, 10, "0" * 64).to_dict()

    with measured() as spent, pytest.raises(IntegrityError, match="it was not read") as caught:
        hydrate({"report": pointer, "sfn_execution_arn": EXECUTION_ARN}, repo)
    assert spent.peak_bytes < 2 * MIB
    assert s3.body.read_bytes == (0 if content_length else 11)
    assert s3.body.closed
    assert str(150 * MIB) not in str(caught.value)  # the real size is no oracle


def test_on_moto_the_content_length_check_reads_no_body(moto_resources: AwsResources) -> None:
    """The same through botocore and moto: the StreamingBody GetObject returned is closed
    unread."""
    s3 = moto_resources.s3()
    key = f"sfn-offload/{NAMESPACE}:report:0123/0"
    s3.put_object(Bucket=moto_resources.bucket, Key=key, Body=b"x" * MIB)
    bodies: list[Any] = []
    s3.meta.events.register(
        "after-call.s3.GetObject", lambda parsed, **_: bodies.append(parsed["Body"])
    )
    repo = PayloadRepository(
        OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket),
        clients=AwsClients(s3_client=s3, dynamodb_client=moto_resources.dynamodb()),
    )
    pointer = Pointer("s3", moto_resources.bucket, key, 0, 10, "0" * 64).to_dict()
    with pytest.raises(IntegrityError, match="it was not read"):
        hydrate({"report": pointer, "sfn_execution_arn": EXECUTION_ARN}, repo)
    (body,) = bodies
    assert body._amount_read == 0


def test_hydrating_an_object_does_not_keep_its_bytes_while_the_value_is_built(
    moto_resources: AwsResources,
) -> None:
    """GIVEN a ~4 MB payload in S3 WHEN hydrated THEN the peak of Python allocations is within
    a fifth of the payload of the floor's, ``json.loads(get_object(...)["Body"].read())``: the
    object's bytes are freed once decoded to text, as they are there. (Holding them while the
    value is built cost the whole payload once more: 7.3x its size instead of 6.3x for 50 MB
    of records in ``make bench``.)"""
    repo = PayloadRepository(
        OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket),
        clients=AwsClients(
            s3_client=moto_resources.s3(), dynamodb_client=moto_resources.dynamodb()
        ),
    )
    rows = [f"row {i:07d} " + "x" * 80 for i in range(40_000)]
    raw = dumps({"rows": rows})
    key = f"sfn-offload/{NAMESPACE}:report:0123/0"
    moto_resources.s3().put_object(Bucket=moto_resources.bucket, Key=key, Body=raw)
    pointer = Pointer("s3", moto_resources.bucket, key, 0, len(raw), digest(raw)).to_dict()
    event = {"report": pointer, "sfn_execution_arn": EXECUTION_ARN}
    s3 = moto_resources.s3()
    for _ in range(2):  # warm both paths: clients, models, pools
        assert hydrate(event, repo)["report"] == {"rows": rows}
        s3.get_object(Bucket=moto_resources.bucket, Key=key)["Body"].read()
    with measured() as floor:
        json.loads(s3.get_object(Bucket=moto_resources.bucket, Key=key)["Body"].read())
    with measured() as ours:
        hydrate(event, repo)
    assert ours.peak_bytes - floor.peak_bytes < len(raw) // 5, (ours, floor, len(raw))


def test_an_object_longer_than_its_item_records_is_not_read() -> None:
    """GIVEN an item whose payload overflowed to S3, and that object replaced by a larger one
    WHEN read through the item THEN IntegrityError without reading the body (the item records
    the size)."""
    repo = memory_repo(item_budget_bytes=100)
    pointer = repo.write_item(None, "run:k", 0, repo.encode("y" * 500))
    (address,) = list(repo.s3.data)  # type: ignore[attr-defined]
    repo.s3.data[address] = Record(b"z" * (20 * MIB), "json")  # type: ignore[attr-defined]
    with pytest.raises(IntegrityError, match="it was not read"):
        repo.read_many([pointer])


# --------------------------------------------------------------------------------------------
# gzip bombs
# --------------------------------------------------------------------------------------------


def _bomb(megabytes: int) -> bytes:
    return gzip.compress(b"[" + b"0," * (megabytes * MIB // 2) + b"0]", mtime=0)


@pytest.mark.parametrize(
    ("inflated_mb", "context", "cap"),
    [
        (400, FakeLambdaContext(), 64 * MIB),  # a 256 MB function
        (2_048, None, DEFAULT_MAX_HYDRATE_BYTES),  # no context: the fixed default
    ],
    ids=["400MB-in-a-256MB-function", "2GB-without-a-context"],
)
def test_a_gzip_bomb_stops_at_the_default_cap(inflated_mb: int, context: Any, cap: int) -> None:
    """GIVEN a json+gzip payload inflating to 400 MB (2 GB), with every digest right
    WHEN a decorated handler hydrates it with default settings
    THEN PayloadTooLargeError once the inflated bytes pass the cap, and never
    more memory than the cap."""
    body = _bomb(inflated_mb)
    repo = memory_repo()
    address = Address(BUCKET, "sfn-offload/run-42.6eec097a:bomb:0/0")
    repo.s3.put(address, Record(body, "json+gzip", digest(body), len(body)))
    pointer = Pointer("s3", BUCKET, address.key, 0, len(body), digest(body), "json+gzip").to_dict()

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return "handled"

    event = {"bomb": pointer, "sfn_execution_arn": EXECUTION_ARN}
    with measured() as spent, pytest.raises(PayloadTooLargeError, match="inflates past"):
        handler(event, context)
    # the cap, one megabyte piece past it, and what is left of the compressed input
    assert spent.peak_bytes < cap + 2 * MIB + 2 * len(body)


# --------------------------------------------------------------------------------------------
# results nested deeply
# --------------------------------------------------------------------------------------------


def _nested(depth: int, container: Callable[[Any], Any]) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = container(value)
    return value


def _deep_stack(frames: int, call: Callable[[], Any]) -> Any:
    return call() if frames == 0 else _deep_stack(frames - 1, call)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 5_000])
@pytest.mark.parametrize(
    "container",
    [lambda v: [v], lambda v: {"k": v}, lambda v: (v,)],
    ids=["list", "dict", "tuple"],
)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_result_nested_too_deeply_is_a_typed_error_whatever_the_stack(
    depth: int, container: Callable[[Any], Any], kind: str
) -> None:
    """GIVEN a handler returning a value nested past MAX_DEPTH (top level or under a key), called
    from 300 frames deep WHEN decorated THEN PayloadEncodingError saying so, not RecursionError."""
    value = _nested(depth, container)

    if kind == "sync":

        @state_offload(repository=memory_repo(), max_inline_bytes=1_000)
        def handler(event: Any, context: Any) -> Any:
            return {"deep": value, "pad": "p" * 5_000}

    else:

        @state_offload(repository=memory_repo(), max_inline_bytes=1_000)
        async def handler(event: Any, context: Any) -> Any:
            await asyncio.sleep(0)
            return {"deep": value, "pad": "p" * 5_000}

    with pytest.raises(PayloadEncodingError, match="nested too deeply"):
        _deep_stack(300, lambda: handler({}, None))


def test_a_result_just_inside_the_depth_limit_goes_through() -> None:
    value = _nested(MAX_DEPTH - 2, lambda v: [v])
    handler_repo = memory_repo()

    @state_offload(repository=handler_repo, max_inline_bytes=1_000)
    def handler(event: Any, context: Any) -> Any:
        return {"deep": value, "pad": "p" * 5_000}

    out = _deep_stack(100, lambda: handler({}, None))
    assert hydrate(out, handler_repo) == {"deep": value, "pad": "p" * 5_000}
    assert dumps(value).count(b"[") == MAX_DEPTH - 2


# --------------------------------------------------------------------------------------------
# Distributed Map ResultWriter output
# --------------------------------------------------------------------------------------------

RUN_ARN = "arn:aws:states:us-east-1:123456789012:mapRun:orders/Each:r1"


def _result_writer(
    repo: PayloadRepository, file_bytes: int, *, listed_size: int | None = None
) -> dict[str, Any]:
    body = json.dumps([{"ExecutionArn": "a", "Output": json.dumps("o" * file_bytes)}]).encode()
    repo.s3.put(Address(BUCKET, "results/r1/SUCCEEDED_0.json"), Record(body))
    size = len(body) if listed_size is None else listed_size
    manifest = {
        "DestinationBucket": BUCKET,
        "MapRunArn": RUN_ARN,
        "ResultFiles": {
            "SUCCEEDED": [{"Key": "results/r1/SUCCEEDED_0.json", "Size": size}],
            "FAILED": [],
            "PENDING": [],
        },
    }
    repo.s3.put(Address(BUCKET, "results/r1/manifest.json"), Record(json.dumps(manifest).encode()))
    return {
        "MapRunArn": RUN_ARN,
        "ResultWriterDetails": {"Bucket": BUCKET, "Key": "results/r1/manifest.json"},
    }


@pytest.mark.parametrize("honest", [True, False], ids=["sizes-listed", "sizes-understated"])
def test_result_writer_output_counts_against_the_hydration_cap(honest: bool) -> None:
    """GIVEN a ResultWriter output whose result file holds 5 MB, and a 100 KB cap
    WHEN hydrated THEN PayloadTooLargeError: refused on the manifest's sizes, or, when the
    manifest understates them, without reading more than the cap of the file."""
    repo = memory_repo()
    output = _result_writer(repo, 5 * MIB, listed_size=None if honest else 10)

    @state_offload(repository=repo, max_hydrate_bytes=100_000)
    def handler(event: Any, context: Any) -> Any:
        return "handled"

    with measured() as spent, pytest.raises(PayloadTooLargeError, match="100000-byte"):
        handler({"results": output, "sfn_execution_arn": EXECUTION_ARN}, None)
    assert spent.peak_bytes < 2 * MIB  # the 5 MB body came back unread


def test_a_manifest_over_its_cap_is_not_read() -> None:
    repo = memory_repo()
    output = _result_writer(repo, 10)
    big = Record(b" " * (MAX_MANIFEST_BYTES + 1) + b"{}")
    repo.s3.put(Address(BUCKET, "results/r1/manifest.json"), big)
    with pytest.raises(PayloadTooLargeError, match="manifest is over"):
        read_result_writer(output, repo)


# --------------------------------------------------------------------------------------------
# a partition holding more than the cap
# --------------------------------------------------------------------------------------------


def test_reading_a_large_partition_stops_at_the_cap(moto_resources: AwsResources) -> None:
    """GIVEN a list of 30 elements of 100 KB (3 MB) and a 1 MB cap
    WHEN the whole list is hydrated THEN PayloadTooLargeError after about a megabyte of Query
    pages, not the whole partition."""
    ddb = moto_resources.dynamodb()
    repo = PayloadRepository(
        OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket),
        clients=AwsClients(dynamodb_client=ddb, s3_client=moto_resources.s3()),
    )
    key = "run-42.6eec097a:rows"
    root = repo.write_items(None, key, [repo.encode("r" * 100_000) for _ in range(30)])
    pointer = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=30).to_dict()
    with RequestCounter(ddb) as counter, pytest.raises(PayloadTooLargeError):
        hydrate({"rows": pointer, "sfn_execution_arn": EXECUTION_ARN}, repo, max_bytes=MIB)
    assert counter["DynamoDB.Query"] <= 2


def test_the_query_reads_no_index_past_the_lists_count() -> None:
    """The list's count goes into the key condition: items past it are not read at all."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    from botocore.stub import Stubber

    from sfn_offload.storage import DynamoDBStore

    store = DynamoDBStore(lambda: client)
    with Stubber(client) as stub:
        stub.add_response(
            "query",
            {"Items": []},
            {
                "TableName": "t",
                "KeyConditionExpression": "partition_key = :pk AND sort_key < :below",
                "ExpressionAttributeValues": {":pk": {"S": "k"}, ":below": {"N": "3"}},
                "ConsistentRead": True,
            },
        )
        assert store.query("t", "k", below=3) == []
