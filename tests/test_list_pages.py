"""Lists stored one item per index keep py2sfn's item size: digests and proofs in proof pages.

An element stored inline carries py2sfn's attributes plus a 16-byte ``list_tag``; the digests
and proofs that tie the elements to the list's digest are in proof pages
(``sfn_offload.storage.pages``), in a partition of their own. Lists written by sfn-offload 0.1.0
(a digest and proof on every element) are still read and verified.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import AwsResources
from fakes import EXECUTION_ARN
from sfn_offload import OffloadConfig, StateDataClient, hydrate
from sfn_offload.errors import ConcurrentWriteError, IntegrityError
from sfn_offload.storage import DynamoDBStore, MemoryStore, PayloadRepository
from sfn_offload.storage.pages import PAGES_PREFIX, pages_key
from sfn_offload.testing import RequestCounter
from sfn_offload.wire import Pointer, merkle

NAMESPACE = "exec-7f3a"
#: py2sfn-task-tools' element item: these four attributes.
PY2SFN_ATTRIBUTES = {"partition_key", "sort_key", "expires_at", "data"}


def hundred_byte_elements(n: int) -> list[str]:
    """``n`` distinct elements whose JSON is 100 bytes, the same in both libraries."""
    values = [f"{i:06d}" + "x" * 92 for i in range(n)]
    assert all(len(json.dumps(v)) == 100 for v in values)
    return values


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values (numbers as written)."""
    total = 0
    for name, value in item.items():
        ((kind, data),) = value.items()
        size = len(data) if kind == "B" else len(str(data).encode("utf-8"))
        total += len(name.encode("utf-8")) + size
    return total


def partition(res: AwsResources, partition_key: str) -> list[dict[str, Any]]:
    """Every item of a partition as stored, in index order (read around both libraries)."""
    client = res.dynamodb()
    kwargs: dict[str, Any] = {
        "TableName": res.table,
        "KeyConditionExpression": "partition_key = :pk",
        "ExpressionAttributeValues": {":pk": {"S": partition_key}},
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        response = client.query(**kwargs)
        items += response["Items"]
        if "LastEvaluatedKey" not in response:
            return items
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@pytest.fixture
def legacy(moto_resources: AwsResources) -> Any:
    """py2sfn-task-tools' StateDataClient on moto (imported once moto is in place)."""
    from py2sfn_task_tools import state_data_client

    return state_data_client.StateDataClient(
        moto_resources.table, NAMESPACE, s3_bucket=moto_resources.bucket
    )


@pytest.fixture
def ours(moto_resources: AwsResources) -> Iterator[StateDataClient]:
    client = StateDataClient(moto_resources.table, NAMESPACE, s3_bucket=moto_resources.bucket)
    yield client
    client.repository.close()


def moto_repo(res: AwsResources, **config: Any) -> PayloadRepository:
    return PayloadRepository(OffloadConfig(table=res.table, bucket=res.bucket, **config))


def element_event(pointer: Pointer, index: int) -> dict[str, Any]:
    return {
        "e": {"sfn_offload_list": pointer.to_dict(), "sfn_offload_index": index},
        "sfn_execution_arn": EXECUTION_ARN,
    }


def list_event(pointer: Pointer) -> dict[str, Any]:
    return {"all": pointer.to_dict(), "sfn_execution_arn": EXECUTION_ARN}


# --------------------------------------------------------------------------------------------
# item bytes: py2sfn's + 16
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 1000, 5000])
def test_an_element_of_100_bytes_takes_at_most_16_bytes_more_than_py2sfns(
    n: int, legacy: Any, ours: StateDataClient, moto_resources: AwsResources
) -> None:
    """GIVEN the same list of 100-byte elements written by py2sfn-task-tools and by sfn-offload
    (keys of the same length) WHEN the items are measured as DynamoDB counts them THEN each of
    ours is at most 16 bytes larger: py2sfn's four attributes and a 16-byte list tag."""
    values = hundred_byte_elements(n)
    legacy.put_items("rows-a", values)
    ours.put_items("rows-b", values)

    theirs = partition(moto_resources, f"{NAMESPACE}:rows-a")
    mine = partition(moto_resources, f"{NAMESPACE}:rows-b")
    assert len(theirs) == len(mine) == n
    for their_item, my_item in zip(theirs, mine, strict=True):
        assert set(their_item) == PY2SFN_ATTRIBUTES
        assert set(my_item) == PY2SFN_ATTRIBUTES | {"list_tag"}
        assert my_item["data"] == their_item["data"]
        assert item_bytes(my_item) - item_bytes(their_item) <= 16
    assert sum(map(item_bytes, mine)) <= sum(map(item_bytes, theirs)) + 16 * n


def test_the_proof_pages_live_in_their_own_partition_with_the_elements_expiry(
    ours: StateDataClient, moto_resources: AwsResources
) -> None:
    values = hundred_byte_elements(130)
    result = ours.put_items("rows", values)

    elements = partition(moto_resources, result["partition_key"])
    pages = partition(moto_resources, pages_key(result["partition_key"]))
    assert len(elements) == 130  # nothing else in the list's partition (py2sfn reads it all)
    assert all("data" in item for item in elements)
    assert [int(p["sort_key"]["N"]) for p in pages] == [0, 1, 2]  # 64 elements a page
    assert pages_key(result["partition_key"]) != result["partition_key"]
    assert pages_key(result["partition_key"]).startswith(PAGES_PREFIX)
    assert {p["expires_at"]["N"] for p in pages} == {e["expires_at"]["N"] for e in elements}
    assert all(p["encoding"]["S"] == "sfn-offload-list-page" for p in pages)


def test_py2sfn_reads_a_list_of_several_pages_we_wrote(legacy: Any, ours: StateDataClient) -> None:
    values = [{"i": i, "name": "Zoë"} for i in range(150)]
    result = ours.put_items("rows", values)
    assert legacy.get_items("rows") == values
    event = {
        "items_result_table_name": result["table_name"],
        "items_result_partition_key": result["partition_key"],
        "items_result_key": result["key"],
        "context_index": 130,
        "context_value": 1,
    }
    assert legacy.get_item_for_map_iteration(event) == values[130]


# --------------------------------------------------------------------------------------------
# requests
# --------------------------------------------------------------------------------------------


def test_reading_one_element_is_one_batch_get_of_the_element_and_its_page(
    moto_resources: AwsResources,
) -> None:
    repo = moto_repo(moto_resources)
    values = [{"i": i} for i in range(300)]
    key = f"{NAMESPACE}:rows"
    root = repo.write_items(None, key, [repo.encode(v) for v in values])
    pointer = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=300)

    for index in (0, 63, 64, 200, 299):
        with RequestCounter(repo.clients.dynamodb, repo.clients.s3) as counter:
            assert hydrate(element_event(pointer, index), repo)["e"] == values[index]
        assert counter.for_service("DynamoDB") == {"BatchGetItem": 1}
        assert counter.for_service("S3") == {}


def test_a_whole_list_read_adds_a_pages_query_only_without_any_digest(
    moto_resources: AwsResources,
) -> None:
    repo = moto_repo(moto_resources)
    values = [{"i": i} for i in range(300)]
    key = f"{NAMESPACE}:rows"
    root = repo.write_items(None, key, [repo.encode(v) for v in values])

    with_root = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=300)
    with RequestCounter(repo.clients.dynamodb) as counter:
        assert hydrate(list_event(with_root), repo)["all"] == values
    assert counter.for_service("DynamoDB") == {"Query": 1}

    with RequestCounter(repo.clients.dynamodb) as counter:
        assert repo.read_partition(moto_resources.table, key) == values
    assert counter.for_service("DynamoDB") == {"Query": 2}  # the elements, then their pages


def test_writes_add_one_batch_per_25_pages_and_stale_pages_are_deleted(
    moto_resources: AwsResources,
) -> None:
    repo = moto_repo(moto_resources)
    key = f"{NAMESPACE}:rows"
    with RequestCounter(repo.clients.dynamodb) as counter:
        repo.write_items(None, key, [repo.encode(i) for i in range(2000)])  # 32 pages
    assert counter.for_service("DynamoDB") == {"Query": 1, "BatchWriteItem": 80 + 2}
    assert len(partition(moto_resources, pages_key(key))) == 32

    repo.write_items(None, key, [repo.encode(i) for i in range(100)])
    assert len(partition(moto_resources, key)) == 100
    assert [int(p["sort_key"]["N"]) for p in partition(moto_resources, pages_key(key))] == [0, 1]
    assert repo.read_partition(moto_resources.table, key) == list(range(100))


# --------------------------------------------------------------------------------------------
# integrity: tampered pages and elements
# --------------------------------------------------------------------------------------------


def _tamper_page(res: AwsResources, key: str, number: int, change: Any) -> None:
    client = res.dynamodb()
    page_key = {"partition_key": {"S": pages_key(key)}, "sort_key": {"N": str(number)}}
    item = client.get_item(TableName=res.table, Key=page_key, ConsistentRead=True)["Item"]
    page = merkle.Page.from_bytes(item["blob"]["B"])
    assert page is not None
    item["blob"] = {"B": change(page).to_bytes()}
    client.put_item(TableName=res.table, Item=item)


def _forged_digest(page: merkle.Page) -> merkle.Page:
    digests = list(page.digests)
    digests[5] = hashlib.sha256(b'{"i":"forged"}').digest()
    return dataclasses.replace(page, digests=tuple(digests))


def test_a_tampered_page_is_refused(moto_resources: AwsResources) -> None:
    """GIVEN page 1 of a list with a digest replaced (or its proof, or its recorded length)
    WHEN an element of that page is read THEN IntegrityError; elements of other pages, and the
    whole list, still read when the elements are intact."""
    repo = moto_repo(moto_resources)
    values = [{"i": i} for i in range(150)]
    key = f"{NAMESPACE}:rows"
    root = repo.write_items(None, key, [repo.encode(v) for v in values])
    pointer = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=150)
    changes = {
        "digest": _forged_digest,
        "proof": lambda page: dataclasses.replace(page, proof=page.proof[::-1]),
        "count": lambda page: dataclasses.replace(page, count=page.count + 1),
        "root": lambda page: dataclasses.replace(page, root="ab" * 32),
    }
    for name, change in changes.items():
        repo.write_items(None, key, [repo.encode(v) for v in values])  # the list as written
        _tamper_page(moto_resources, key, 1, change)
        with pytest.raises(IntegrityError, match="not element 69 of the list"):
            hydrate(element_event(pointer, 69), repo)
        assert hydrate(element_event(pointer, 3), repo)["e"] == values[3], name
        assert hydrate(list_event(pointer), repo)["all"] == values  # the root vouches for all
        if name in ("count", "root"):
            # A digest-less read of the whole list checks the elements against the root and
            # length the pages record (the elements themselves are intact: a changed digest or
            # proof in a page does not change what the list is).
            with pytest.raises(IntegrityError):
                repo.read_partition(moto_resources.table, key)
        else:
            assert repo.read_partition(moto_resources.table, key) == values


def test_a_tampered_element_is_refused_by_every_read(moto_resources: AwsResources) -> None:
    repo = moto_repo(moto_resources)
    values = [{"i": i} for i in range(150)]
    key = f"{NAMESPACE}:rows"
    root = repo.write_items(None, key, [repo.encode(v) for v in values])
    pointer = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=150)
    client = moto_resources.dynamodb()
    element_key = {"partition_key": {"S": key}, "sort_key": {"N": "70"}}
    item = client.get_item(TableName=moto_resources.table, Key=element_key)["Item"]
    item["data"] = {"S": '{"i":"forged"}'}
    client.put_item(TableName=moto_resources.table, Item=item)

    with pytest.raises(IntegrityError, match="not element 70 of the list"):
        hydrate(element_event(pointer, 70), repo)
    with pytest.raises(IntegrityError, match="do not hash to the list's digest"):
        hydrate(list_event(pointer), repo)
    with pytest.raises(IntegrityError, match="an element was replaced"):
        repo.read_partition(moto_resources.table, key)


def test_a_page_of_another_list_is_refused(moto_resources: AwsResources) -> None:
    repo = moto_repo(moto_resources)
    key, other = f"{NAMESPACE}:rows", f"{NAMESPACE}:other"
    root = repo.write_items(None, key, [repo.encode(i) for i in range(100)])
    repo.write_items(None, other, [repo.encode(-i) for i in range(100)])
    client = moto_resources.dynamodb()
    theirs = {"partition_key": {"S": pages_key(other)}, "sort_key": {"N": "0"}}
    page = client.get_item(TableName=moto_resources.table, Key=theirs)["Item"]
    client.put_item(
        TableName=moto_resources.table, Item={**page, "partition_key": {"S": pages_key(key)}}
    )
    pointer = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=100)

    with pytest.raises(IntegrityError, match="not element 2 of the list"):
        hydrate(element_event(pointer, 2), repo)
    with pytest.raises(ConcurrentWriteError):
        repo.read_partition(moto_resources.table, key)


def test_a_mix_of_two_writes_is_refused(moto_resources: AwsResources) -> None:
    repo = moto_repo(moto_resources)
    key = f"{NAMESPACE}:rows"
    repo.write_items(None, key, [repo.encode(f"a{i}") for i in range(100)])
    client = moto_resources.dynamodb()
    first = client.get_item(
        TableName=moto_resources.table,
        Key={"partition_key": {"S": key}, "sort_key": {"N": "80"}},
    )["Item"]
    repo.write_items(None, key, [repo.encode(f"b{i}") for i in range(100)])
    client.put_item(TableName=moto_resources.table, Item=first)

    with pytest.raises(ConcurrentWriteError):
        repo.read_partition(moto_resources.table, key)


def test_compressed_elements_keep_their_encoding_and_are_verified(
    moto_resources: AwsResources,
) -> None:
    repo = moto_repo(moto_resources, compression="gzip", compress_min_bytes=0)
    values = [{"i": i, "text": "abc" * 50} for i in range(70)]
    key = f"{NAMESPACE}:rows"
    root = repo.write_items(None, key, [repo.encode(v) for v in values])
    items = partition(moto_resources, key)
    assert all(
        set(i) == {*PY2SFN_ATTRIBUTES - {"data"}, "blob", "encoding", "list_tag"} for i in items
    )
    pointer = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=70)
    assert hydrate(list_event(pointer), repo)["all"] == values
    assert hydrate(element_event(pointer, 66), repo)["e"] == values[66]
    assert repo.read_partition(moto_resources.table, key) == values


# --------------------------------------------------------------------------------------------
# MemoryStore and DynamoDBStore alike
# --------------------------------------------------------------------------------------------


def test_memory_and_dynamodb_stores_hold_the_same_records(moto_resources: AwsResources) -> None:
    values = [{"i": i} for i in range(70)] + [{"big": "x" * 2000}]
    config = {"item_budget_bytes": 1000}
    memory = PayloadRepository(
        OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket, **config),
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
        clock=lambda: 1_800_000_000.0,
    )
    aws = PayloadRepository(
        OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket, **config),
        clock=lambda: 1_800_000_000.0,
    )
    key = f"{NAMESPACE}:rows"
    assert memory.write_items(None, key, [memory.encode(v) for v in values]) == aws.write_items(
        None, key, [aws.encode(v) for v in values]
    )
    assert isinstance(memory.dynamodb, MemoryStore)
    assert isinstance(aws.dynamodb, DynamoDBStore)
    stored = memory.dynamodb.data
    assert {a.key for a in stored} == {key, pages_key(key)}
    read = aws.dynamodb.get_many(list(stored))
    for address, record in stored.items():
        expected = record
        if record.redirect is not None:  # the overflow object's key is unique per write
            assert read[address].redirect is not None
            expected = dataclasses.replace(record, redirect=read[address].redirect)
        assert read[address] == expected, address
    assert memory.read_partition(moto_resources.table, key) == values
    assert aws.read_partition(moto_resources.table, key) == values


# --------------------------------------------------------------------------------------------
# lists written by sfn-offload 0.1.0 (a digest and proof on every element)
# --------------------------------------------------------------------------------------------


def write_0_1_0_list(res: AwsResources, partition_key: str, values: list[Any]) -> str:
    """Items as sfn-offload 0.1.0's write_items stored them; returns the list's digest."""
    bodies = [json.dumps(v, separators=(",", ":")).encode() for v in values]
    digests = [hashlib.sha256(b).hexdigest() for b in bodies]
    root, proofs = merkle.tree(digests)
    client = res.dynamodb()
    for index, (body, digest, proof) in enumerate(zip(bodies, digests, proofs, strict=True)):
        client.put_item(
            TableName=res.table,
            Item={
                "partition_key": {"S": partition_key},
                "sort_key": {"N": str(index)},
                "expires_at": {"N": "4102444800"},
                "data": {"S": body.decode()},
                "sha256": {"S": digest},
                "encoding": {"S": "json"},
                "size": {"N": str(len(body))},
                "list_sha256": {"S": root},
                "list_count": {"N": str(len(values))},
                "list_proof": {"S": proof},
            },
        )
    return root


def test_a_0_1_0_list_is_read_and_verified(moto_resources: AwsResources) -> None:
    repo = moto_repo(moto_resources)
    values = [{"i": i} for i in range(70)]
    key = f"{NAMESPACE}:rows"
    root = write_0_1_0_list(moto_resources, key, values)
    pointer = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=70)

    assert repo.read_partition(moto_resources.table, key) == values
    assert hydrate(list_event(pointer), repo)["all"] == values
    with RequestCounter(repo.clients.dynamodb) as counter:
        assert hydrate(element_event(pointer, 66), repo)["e"] == values[66]
    assert counter.for_service("DynamoDB") == {"BatchGetItem": 1}


def test_a_tampered_0_1_0_element_is_refused(moto_resources: AwsResources) -> None:
    repo = moto_repo(moto_resources)
    values = [{"i": i} for i in range(10)]
    key = f"{NAMESPACE}:rows"
    root = write_0_1_0_list(moto_resources, key, values)
    forged = json.dumps({"i": "forged"}, separators=(",", ":")).encode()
    client = moto_resources.dynamodb()
    element_key = {"partition_key": {"S": key}, "sort_key": {"N": "4"}}
    item = client.get_item(TableName=moto_resources.table, Key=element_key)["Item"]
    item["data"] = {"S": forged.decode()}
    item["sha256"] = {"S": hashlib.sha256(forged).hexdigest()}
    item["size"] = {"N": str(len(forged))}
    client.put_item(TableName=moto_resources.table, Item=item)
    pointer = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=10)

    with pytest.raises(IntegrityError, match="not element 4 of the list"):
        hydrate(element_event(pointer, 4), repo)
    with pytest.raises(IntegrityError, match="do not hash to the list's digest"):
        hydrate(list_event(pointer), repo)
    with pytest.raises(ConcurrentWriteError):
        repo.read_partition(moto_resources.table, key)


def test_a_mix_of_two_0_1_0_writes_is_refused(moto_resources: AwsResources) -> None:
    repo = moto_repo(moto_resources)
    key = f"{NAMESPACE}:rows"
    write_0_1_0_list(moto_resources, key, ["a", "b", "c"])
    client = moto_resources.dynamodb()
    first = client.get_item(
        TableName=moto_resources.table,
        Key={"partition_key": {"S": key}, "sort_key": {"N": "0"}},
    )["Item"]
    write_0_1_0_list(moto_resources, key, ["x", "y", "z"])
    client.put_item(TableName=moto_resources.table, Item=first)

    with pytest.raises(ConcurrentWriteError):
        repo.read_partition(moto_resources.table, key)


def test_a_0_1_0_list_named_by_its_digest_is_verified_from_another_namespace(
    moto_resources: AwsResources,
) -> None:
    """An element reference without the list's digest, to a fan-out list of 0.1.0 (its key ends
    in the list's flat digest): the digests its elements record are checked against the key."""
    repo = moto_repo(moto_resources)
    values = [{"shard": i} for i in range(5)]
    bodies = [json.dumps(v, separators=(",", ":")).encode() for v in values]
    flat = merkle.flat_digest([hashlib.sha256(b).hexdigest() for b in bodies])
    key = f"other-run:shards:list-{flat[:20]}"
    write_0_1_0_list(moto_resources, key, values)
    pointer = Pointer("dynamodb", moto_resources.table, key, count=5)

    assert hydrate(element_event(pointer, 3), repo)["e"] == values[3]
    assert hydrate(list_event(pointer), repo)["all"] == values


def test_a_0_1_0_list_rewritten_by_this_version_takes_the_new_layout(
    moto_resources: AwsResources,
) -> None:
    repo = moto_repo(moto_resources)
    key = f"{NAMESPACE}:rows"
    values = [{"i": i} for i in range(10)]
    write_0_1_0_list(moto_resources, key, values)
    root = repo.write_items(None, key, [repo.encode(v) for v in values])

    items = partition(moto_resources, key)
    assert all(set(item) == PY2SFN_ATTRIBUTES | {"list_tag"} for item in items)
    pointer = Pointer("dynamodb", moto_resources.table, key, sha256=root, count=10)
    assert hydrate(element_event(pointer, 9), repo)["e"] == values[9]
    assert repo.read_partition(moto_resources.table, key) == values


def test_a_new_list_named_by_its_digest_reads_its_pages_once(
    moto_resources: AwsResources,
) -> None:
    """A fan-out element read without the list's digest in its reference: one Query of the
    list's pages (checked against the key's digest), then one BatchGetItem."""
    repo = moto_repo(moto_resources)
    values = [{"shard": i} for i in range(150)]
    encoded = [repo.encode(v) for v in values]
    flat = merkle.flat_digest([e.sha256 for e in encoded])
    key = f"other-run:shards:list-{flat[:20]}"
    repo.write_items(None, key, encoded)
    pointer = Pointer("dynamodb", moto_resources.table, key, count=150)

    with RequestCounter(repo.clients.dynamodb) as counter:
        assert hydrate(element_event(pointer, 140), repo)["e"] == values[140]
    assert counter.for_service("DynamoDB") == {"Query": 1, "BatchGetItem": 1}

    _tamper_page(moto_resources, key, 2, _forged_digest)
    with pytest.raises(IntegrityError, match="digest the list's key carries"):
        hydrate(element_event(pointer, 140), repo)


# --------------------------------------------------------------------------------------------
# reads without the list's digest: an element is still the one its page records
# --------------------------------------------------------------------------------------------


def _tamper_element(res: AwsResources, key: str, index: int) -> None:
    client = res.dynamodb()
    element_key = {"partition_key": {"S": key}, "sort_key": {"N": str(index)}}
    item = client.get_item(TableName=res.table, Key=element_key)["Item"]
    client.put_item(TableName=res.table, Item={**item, "data": {"S": '{"i":"forged"}'}})


def test_a_map_iteration_of_our_list_is_one_batch_get_and_refuses_a_changed_element(
    ours: StateDataClient, moto_resources: AwsResources
) -> None:
    values = [{"i": i} for i in range(100)]
    result = ours.put_items("rows", values)
    event = {
        "items_result_table_name": result["table_name"],
        "items_result_partition_key": result["partition_key"],
        "items_result_key": result["key"],
        "context_index": 70,
        "context_value": 1,
    }
    with RequestCounter(ours.repository.clients.dynamodb) as counter:
        assert ours.get_item_for_map_iteration(event) == values[70]
        assert ours.get_global_item_for_map_iteration(event) == values[70]
    assert counter.for_service("DynamoDB") == {"BatchGetItem": 2}  # one each
    repo = moto_repo(moto_resources, cross_execution_reads=True)
    with RequestCounter(repo.clients.dynamodb) as counter:
        assert hydrate(event, repo, py2sfn_namespace=NAMESPACE)["context_value"] == values[70]
    assert counter.for_service("DynamoDB") == {"BatchGetItem": 1}

    _tamper_element(moto_resources, result["partition_key"], 70)
    with pytest.raises(IntegrityError, match="not element 70 of the list"):
        ours.get_item_for_map_iteration(event)
    with pytest.raises(IntegrityError, match="not element 70 of the list"):
        hydrate(event, repo, py2sfn_namespace=NAMESPACE)


def test_get_item_of_a_changed_element_is_refused(
    ours: StateDataClient, moto_resources: AwsResources
) -> None:
    """A plain get_item of an index does not say it reads a list element: the element is found
    to be one, and its page read in a second request."""
    values = [{"i": i} for i in range(100)]
    result = ours.put_items("rows", values)
    with RequestCounter(ours.repository.clients.dynamodb) as counter:
        assert ours.get_item("rows", 70) == values[70]
    assert counter.for_service("DynamoDB") == {"BatchGetItem": 2}

    _tamper_element(moto_resources, result["partition_key"], 70)
    with pytest.raises(IntegrityError, match="not element 70 of the list"):
        ours.get_item("rows", 70)
    assert ours.get_item("rows", 69) == values[69]


def test_an_element_reference_without_the_lists_digest_refuses_a_changed_element(
    moto_resources: AwsResources,
) -> None:
    repo = moto_repo(moto_resources, cross_execution_reads=True)
    values = [{"i": i} for i in range(100)]
    key = f"{NAMESPACE}:rows"
    repo.write_items(None, key, [repo.encode(v) for v in values])
    plain = Pointer("dynamodb", moto_resources.table, key, count=100)
    with RequestCounter(repo.clients.dynamodb) as counter:
        assert hydrate(element_event(plain, 70), repo)["e"] == values[70]
    assert counter.for_service("DynamoDB") == {"BatchGetItem": 1}

    _tamper_element(moto_resources, key, 70)
    with pytest.raises(IntegrityError, match="not element 70 of the list"):
        hydrate(element_event(plain, 70), repo)
