"""Issue #14, outcome 2: a pointer reads only its own execution's data, or data its digest vouches
for; list elements and manifests are verified; messages are no oracle.

The reader is execution ``run-42`` of state machine ``orders`` (``EXECUTION_ARN``); the victim is
``run-7`` of the same state machine, whose data sits in the same allowed table.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from fakes import BUCKET, EXECUTION_ARN, TABLE, FakeLambdaContext, memory_repo, requests
from sfn_offload import StateDataClient, fan_out, hydrate, state_offload
from sfn_offload._identity import resolve_identity
from sfn_offload.distributed import read_result_writer
from sfn_offload.errors import (
    ConcurrentWriteError,
    ForeignDataError,
    IntegrityError,
    NoItemFound,
    PayloadEncodingError,
    PointerNotAllowedError,
    SfnOffloadError,
)
from sfn_offload.storage import Address, PayloadRepository, Record
from sfn_offload.wire import Pointer
from sfn_offload.wire.codec import digest
from sfn_offload.wire.references import MapRun

VICTIM_ARN = "arn:aws:states:us-east-1:123456789012:execution:orders:run-7"
READER = resolve_identity({"sfn_execution_arn": EXECUTION_ARN}, None)
VICTIM = resolve_identity({"sfn_execution_arn": VICTIM_ARN}, None)
SECRET = [{"card": "4111-1111"}, {"card": "5500-0000"}]


def reader_event(**fields: Any) -> dict[str, Any]:
    return {**fields, "sfn_execution_arn": EXECUTION_ARN}


def handler_on(repo: PayloadRepository) -> Any:
    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return {"seen": event}

    return handler


def victim_list(repo: PayloadRepository, key: str = "rows") -> tuple[str, str]:
    """The victim's list (written with put_items) and its digest."""
    partition_key = f"{VICTIM.namespace}:{key}"
    root = repo.write_items(None, partition_key, [repo.encode(v) for v in SECRET])
    return partition_key, root


# --------------------------------------------------------------------------------------------
# references without a digest: bound to the reading execution
# --------------------------------------------------------------------------------------------


def _undigested_references(partition_key: str) -> dict[str, dict[str, Any]]:
    plain_list = Pointer("dynamodb", TABLE, partition_key, count=2).to_dict()
    return {
        "list": reader_event(rows=plain_list),
        "element": reader_event(row={"sfn_offload_list": plain_list, "sfn_offload_index": 1}),
        "py2sfn-map": reader_event(
            items_result_table_name=TABLE,
            items_result_partition_key=partition_key,
            items_result_key="rows",
            context_index=1,
            context_value=1,
        ),
    }


@pytest.mark.parametrize("kind", ["list", "element", "py2sfn-map"])
def test_a_reference_without_digest_to_another_executions_data_is_refused(kind: str) -> None:
    """GIVEN another execution's list in the same allowed table, and an event naming it without a
    digest (a list pointer, an element reference, a py2sfn Map event)
    WHEN a decorated handler of this execution is invoked
    THEN ForeignDataError before any request, and the handler never sees the data."""
    repo = memory_repo()
    partition_key, _ = victim_list(repo)
    before = requests(repo)
    event = _undigested_references(partition_key)[kind]

    with pytest.raises(ForeignDataError, match="outside the namespace of the reading") as caught:
        handler_on(repo)(event, FakeLambdaContext())
    assert requests(repo) == before
    assert "4111" not in str(caught.value)


@pytest.mark.parametrize("kind", ["list", "element", "py2sfn-map"])
def test_cross_execution_reads_are_an_explicit_opt_in(kind: str) -> None:
    repo = memory_repo(cross_execution_reads=True)
    partition_key, _ = victim_list(repo)
    out = handler_on(repo)(_undigested_references(partition_key)[kind], FakeLambdaContext())
    seen = out["seen"]
    got = {"list": seen.get("rows"), "element": seen.get("row"), "py2sfn-map": None}[kind]
    if kind == "py2sfn-map":
        got = seen["context_value"]
    assert got == (SECRET if kind == "list" else SECRET[1])


def test_the_same_references_in_the_readers_own_namespace_are_read() -> None:
    repo = memory_repo()
    key = f"{READER.namespace}:rows"
    repo.write_items(None, key, [repo.encode(v) for v in SECRET])
    events = _undigested_references(key)
    handler = handler_on(repo)
    assert handler(events["list"], FakeLambdaContext())["seen"]["rows"] == SECRET
    assert handler(events["element"], FakeLambdaContext())["seen"]["row"] == SECRET[1]
    assert handler(events["py2sfn-map"], FakeLambdaContext())["seen"]["context_value"] == SECRET[1]


def test_a_local_py2sfn_map_event_never_reaches_another_execution() -> None:
    """A local Map event (no partition key) is keyed by the reader's own namespace, then
    py2sfn-task-tools' (the bare execution name): never the victim's."""
    repo = memory_repo()
    victim_list(repo)
    event = reader_event(items_result_key="rows", context_index=0, context_value=1)
    with pytest.raises(NoItemFound):
        handler_on(repo)(event, FakeLambdaContext())


def test_the_results_of_another_executions_map_run_are_refused() -> None:
    repo = memory_repo()
    run = MapRun(VICTIM_ARN, "Price", "2026-01-01T00:00:00.000Z")
    repo.write_item(None, run.partition_key, 0, repo.encode({"secret": 1}))
    reference = {
        "sfn_offload_results": {
            "execution": VICTIM_ARN,
            "state": "Price",
            "entered": "2026-01-01T00:00:00.000Z",
            "count": 1,
        }
    }
    with pytest.raises(ForeignDataError):
        handler_on(repo)(reader_event(priced=reference), FakeLambdaContext())


def test_a_map_iteration_cannot_store_into_another_executions_run() -> None:
    """GIVEN an iteration input whose sfn_offload_map names another execution's Map run
    WHEN the decorated task returns THEN ForeignDataError, and nothing is written."""
    repo = memory_repo()
    event = reader_event(
        sfn_offload_map={
            "execution": VICTIM_ARN,
            "state": "Price",
            "entered": "2026-01-01T00:00:00.000Z",
            "index": 0,
        }
    )

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return {"overwrites": "the victim's result"}

    with pytest.raises(ForeignDataError, match="another execution"):
        handler(event, FakeLambdaContext())
    assert repo.dynamodb.data == {}  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# references with a digest: readable anywhere, verified
# --------------------------------------------------------------------------------------------


def test_a_list_pointer_carrying_its_digest_is_read_wherever_it_lives() -> None:
    repo = memory_repo()
    partition_key, root = victim_list(repo)
    digested = Pointer("dynamodb", TABLE, partition_key, sha256=root, count=2).to_dict()
    event = reader_event(rows=digested, row={"sfn_offload_list": digested, "sfn_offload_index": 0})
    seen = handler_on(repo)(event, FakeLambdaContext())["seen"]
    assert (seen["rows"], seen["row"]) == (SECRET, SECRET[0])


def test_a_fan_out_list_named_by_its_digest_is_verified_from_another_namespace() -> None:
    """GIVEN a list a decorated producer fanned out without an execution ARN (its key ends in
    the list's digest, its pointer carries none yet)
    WHEN an iteration of another function reads an element, and a task reads the whole list
    THEN both are verified against the key's digest; a replaced element is refused."""
    repo = memory_repo()

    @state_offload(repository=repo)
    def producer(event: Any, context: Any) -> Any:
        return {"shards": fan_out([{"shard": i} for i in range(5)])}

    ref = producer({}, FakeLambdaContext("producer"))["shards"]["ref"]
    consumer = handler_on(repo)
    element = {"item": {"sfn_offload_list": ref, "sfn_offload_index": 3}}
    assert consumer(element, FakeLambdaContext("consumer"))["seen"]["item"] == {"shard": 3}
    assert consumer({"all": ref}, FakeLambdaContext("consumer"))["seen"]["all"][4] == {"shard": 4}

    address = Address(TABLE, ref["key"], 3)
    forged = repo.encode({"shard": "forged"})
    stored = repo.dynamodb.data[address]  # type: ignore[attr-defined]
    repo.dynamodb.data[address] = dataclasses.replace(  # type: ignore[attr-defined]
        stored, body=forged.body, sha256=forged.sha256, size=forged.size
    )
    # (checked against the key's digest, or the list's digest once the pointer carries it)
    vouched = r"digest the list's key carries|not element 3 of the list|do not hash to the list"
    with pytest.raises(IntegrityError, match=vouched):
        consumer(element, FakeLambdaContext("consumer"))
    with pytest.raises(IntegrityError, match=vouched):
        consumer({"all": ref}, FakeLambdaContext("consumer"))


# --------------------------------------------------------------------------------------------
# list elements tied to their list
# --------------------------------------------------------------------------------------------


def _digested_list(repo: PayloadRepository, key: str, values: list[Any]) -> dict[str, Any]:
    root = repo.write_items(None, key, [repo.encode(v) for v in values])
    return Pointer("dynamodb", TABLE, key, sha256=root, count=len(values)).to_dict()


def test_an_element_replaced_by_a_self_consistent_one_is_refused() -> None:
    """GIVEN element 1 replaced by another value with its own matching digest and size (and the
    list's recorded digest copied over)
    WHEN read through an element reference, or as part of the whole list
    THEN IntegrityError: the element's digest does not lead to the list's."""
    repo = memory_repo()
    key = f"{READER.namespace}:rows"
    pointer = _digested_list(repo, key, ["a", "b", "c"])
    address = Address(TABLE, key, 1)
    forged = repo.encode("B")
    stored = repo.dynamodb.data[address]  # type: ignore[attr-defined]
    repo.dynamodb.data[address] = dataclasses.replace(  # type: ignore[attr-defined]
        stored, body=forged.body, sha256=forged.sha256, size=forged.size
    )

    with pytest.raises(IntegrityError, match="not element 1 of the list"):
        hydrate(reader_event(e={"sfn_offload_list": pointer, "sfn_offload_index": 1}), repo)
    with pytest.raises(IntegrityError, match="do not hash to the list's digest"):
        hydrate(reader_event(all=pointer), repo)


def test_an_element_planted_from_another_list_is_refused() -> None:
    repo = memory_repo()
    key = f"{READER.namespace}:rows"
    pointer = _digested_list(repo, key, ["a", "b", "c"])
    _digested_list(repo, f"{READER.namespace}:other", ["x", "y", "z"])
    other = repo.dynamodb.data[Address(TABLE, f"{READER.namespace}:other", 1)]  # type: ignore[attr-defined]
    repo.dynamodb.data[Address(TABLE, key, 1)] = other  # type: ignore[attr-defined]

    with pytest.raises(IntegrityError, match="not element 1 of the list"):
        hydrate(reader_event(e={"sfn_offload_list": pointer, "sfn_offload_index": 1}), repo)
    with pytest.raises(IntegrityError):
        hydrate(reader_event(all=pointer), repo)


def test_a_list_of_two_writes_is_refused_without_a_digest_in_the_pointer() -> None:
    """Two put_items of one key interleaved (their elements mixed) read back as an error."""
    repo = memory_repo()
    key = f"{READER.namespace}:rows"
    repo.write_items(None, key, [repo.encode(v) for v in ["a1", "a2", "a3"]])
    first = dict(repo.dynamodb.data)  # type: ignore[attr-defined]
    repo.write_items(None, key, [repo.encode(v) for v in ["b1", "b2", "b3"]])
    repo.dynamodb.data[Address(TABLE, key, 0)] = first[Address(TABLE, key, 0)]  # type: ignore[attr-defined]

    plain = Pointer("dynamodb", TABLE, key, count=3).to_dict()
    with pytest.raises(ConcurrentWriteError):
        hydrate(reader_event(all=plain), repo)
    with pytest.raises(ConcurrentWriteError):
        StateDataClient(TABLE, READER.namespace, repository=repo).get_items("rows")


def test_lists_py2sfn_wrote_without_digests_are_still_read() -> None:
    """py2sfn-task-tools' put_items results carry no digest, its items record none: read as
    before, in the execution's (py2sfn) namespace."""
    repo = memory_repo()
    for i, value in enumerate(["p", "q"]):
        repo.dynamodb.put(Address(TABLE, "run-42:rows", i), Record(json.dumps(value).encode()))  # type: ignore[attr-defined]
    event = reader_event(
        items_result_table_name=TABLE,
        items_result_partition_key="run-42:rows",
        items_result_key="rows",
        context_index=1,
        context_value=1,
    )
    assert handler_on(repo)(event, FakeLambdaContext())["seen"]["context_value"] == "q"
    assert StateDataClient(TABLE, "run-42", repository=repo).get_items("rows") == ["p", "q"]


# --------------------------------------------------------------------------------------------
# S3 keys and ResultWriter manifests
# --------------------------------------------------------------------------------------------


def test_an_s3_pointer_outside_the_librarys_prefix_is_refused_before_any_request() -> None:
    repo = memory_repo()
    repo.s3.put(Address(BUCKET, "secrets/config.json"), Record(b'{"password":"x"}'))
    pointer = Pointer("s3", BUCKET, "secrets/config.json", 0, 16, "0" * 64).to_dict()
    before = requests(repo)
    with pytest.raises(PointerNotAllowedError, match="outside the prefixes"):
        hydrate(reader_event(cfg=pointer), repo)
    assert requests(repo) == before


def test_an_item_redirecting_outside_the_librarys_prefixes_is_refused() -> None:
    repo = memory_repo()
    body = b'{"password":"x"}'
    repo.s3.put(Address(BUCKET, "secrets/config.json"), Record(body))
    item = Record(
        None,
        "json",
        digest(body),
        len(body),
        redirect=Address(BUCKET, "secrets/config.json"),
    )
    repo.dynamodb.put(Address(TABLE, f"{READER.namespace}:cfg"), item)
    pointer = Pointer(
        "dynamodb", TABLE, f"{READER.namespace}:cfg", 0, len(body), digest(body)
    ).to_dict()
    with pytest.raises(PointerNotAllowedError, match="outside the prefixes"):
        hydrate(reader_event(cfg=pointer), repo)


RUN_ARN = "arn:aws:states:us-east-1:123456789012:mapRun:orders/Each:r1"


def _manifest(repo: PayloadRepository, manifest: dict[str, Any], key: str) -> dict[str, Any]:
    repo.s3.put(Address(BUCKET, key), Record(json.dumps(manifest).encode()))
    return {"MapRunArn": RUN_ARN, "ResultWriterDetails": {"Bucket": BUCKET, "Key": key}}


def _files(*keys: str) -> dict[str, Any]:
    return {"SUCCEEDED": [{"Key": k, "Size": 10} for k in keys], "FAILED": [], "PENDING": []}


@pytest.mark.parametrize(
    ("manifest", "key", "error", "match"),
    [
        (
            {"MapRunArn": RUN_ARN, "ResultFiles": _files("secrets/config.json")},
            "results/r1/manifest.json",
            PointerNotAllowedError,
            "does not lie beside the manifest",
        ),
        (
            {"MapRunArn": RUN_ARN, "ResultFiles": _files("results/r1/../../secrets/x.json")},
            "results/r1/manifest.json",
            PointerNotAllowedError,
            "does not lie beside the manifest",
        ),
        (
            {"MapRunArn": RUN_ARN, "ResultFiles": _files("results/r1/SUCCEEDED_0.json")},
            "secrets/manifest.json",
            PointerNotAllowedError,
            "not the one Step Functions writes",
        ),
        (
            {"MapRunArn": RUN_ARN + "x", "ResultFiles": _files()},
            "results/r1/manifest.json",
            PointerNotAllowedError,
            "not the one of Map Run",
        ),
        (
            {"MapRunArn": RUN_ARN, "DestinationBucket": [BUCKET], "ResultFiles": _files()},
            "results/r1/manifest.json",
            PayloadEncodingError,
            "DestinationBucket",
        ),
        (
            {"MapRunArn": RUN_ARN, "ResultFiles": {"SUCCEEDED": [{"Key": 5}]}},
            "results/r1/manifest.json",
            PayloadEncodingError,
            "malformed SUCCEEDED",
        ),
    ],
    ids=[
        "file-elsewhere",
        "file-escaping",
        "manifest-elsewhere",
        "other-run",
        "bucket-list",
        "key",
    ],
)
def test_a_manifest_may_only_list_its_own_map_runs_files(
    manifest: dict[str, Any], key: str, error: type[SfnOffloadError], match: str
) -> None:
    repo = memory_repo()
    output = _manifest(repo, manifest, key)
    with pytest.raises(error, match=match):
        handler_on(repo)(reader_event(results=output), FakeLambdaContext())
    gets = repo.s3.requests.get("get_many", 0)  # type: ignore[attr-defined]
    assert gets <= 1  # the manifest at most: no result file was read


def test_a_map_run_of_another_state_machine_is_refused() -> None:
    repo = memory_repo()
    other_run = "arn:aws:states:us-east-1:123456789012:mapRun:payroll/Each:r1"
    manifest = {"MapRunArn": other_run, "ResultFiles": _files()}
    repo.s3.put(Address(BUCKET, "results/r1/manifest.json"), Record(json.dumps(manifest).encode()))
    output = {
        "MapRunArn": other_run,
        "ResultWriterDetails": {"Bucket": BUCKET, "Key": "results/r1/manifest.json"},
    }
    with pytest.raises(ForeignDataError, match="does not belong to the state machine"):
        handler_on(repo)(reader_event(results=output), FakeLambdaContext())
    with pytest.raises(ForeignDataError, match="no execution ARN"):
        handler_on(repo)({"results": output}, FakeLambdaContext())
    # the explicit reader, for code that knows what it reads, is not bound
    assert read_result_writer(output, repo).succeeded == []


# --------------------------------------------------------------------------------------------
# messages are no oracle
# --------------------------------------------------------------------------------------------


def test_refused_reads_tell_neither_the_stored_size_nor_the_stored_digest() -> None:
    """GIVEN pointers whose size or digest do not match what is stored (a guess at another
    payload) WHEN read THEN the IntegrityError names what the pointer said, never what is
    stored."""
    repo = memory_repo(item_budget_bytes=100)
    secret = repo.encode({"api_key": "k" * 300})
    item_pointer = repo.write_value(f"{READER.namespace}:s", 0, secret).to_dict()
    messages = []
    for field, value in (("size", 7), ("sha256", "0" * 64)):
        for pointer in (item_pointer,):
            guess = {**pointer, field: value}
            with pytest.raises(IntegrityError) as caught:
                hydrate(reader_event(p=guess), repo)
            messages.append(str(caught.value))
    for message in messages:
        # (the pointer's own key ends in a digest prefix: the caller already has that)
        told = message.replace(item_pointer["key"], "<key>")
        assert str(secret.size) not in told
        assert secret.sha256[:8] not in told
