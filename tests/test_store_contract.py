"""The store contract (sfn_offload.storage.base), held by every store: the built-in ones on moto,
the in-memory one, and the SQLite store of docs/architecture.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from tests.conftest import AwsResources

from examples.snippets.custom_store import SqliteStore
from sfn_offload.errors import NoItemFound
from sfn_offload.storage import Address, DynamoDBStore, MemoryStore, Record, S3Store

Factory = Callable[[AwsResources], Any]


def _dynamodb(aws: AwsResources) -> DynamoDBStore:
    client = boto3.client("dynamodb", region_name=aws.region)
    return DynamoDBStore(lambda: client)


def _s3(aws: AwsResources) -> S3Store:
    client = boto3.client("s3", region_name=aws.region)
    return S3Store(lambda: client)


PARTITION_STORES: dict[str, Factory] = {
    "dynamodb": _dynamodb,
    "memory": lambda aws: MemoryStore("dynamodb"),
    "sqlite": lambda aws: SqliteStore(),
}
PAYLOAD_STORES: dict[str, Factory] = {
    **PARTITION_STORES,
    "s3": _s3,
    "memory-s3": lambda aws: MemoryStore("s3"),
    "sqlite-s3": lambda aws: SqliteStore(backend="s3"),
}


@pytest.fixture
def where(moto_resources: AwsResources) -> AwsResources:
    return moto_resources


def _container(store: Any, aws: AwsResources) -> str:
    return aws.bucket if store.backend == "s3" else aws.table


def _record(body: bytes, expires_at: int = 4_102_444_800) -> Record:
    return Record(body, "json", "a" * 64, len(body), expires_at=expires_at)


@pytest.mark.parametrize("factory", PAYLOAD_STORES.values(), ids=PAYLOAD_STORES.keys())
def test_a_put_record_reads_back_with_its_digest_size_encoding_and_expiry(
    factory: Factory, where: AwsResources
) -> None:
    store = factory(where)
    address = Address(_container(store, where), "run-1:report", 0)
    store.put(address, _record(b'{"a":1}'))

    got = store.get(address)

    assert (got.body, got.encoding, got.sha256, got.size, got.expires_at) == (
        b'{"a":1}',
        "json",
        "a" * 64,
        7,
        4_102_444_800,
    )


@pytest.mark.parametrize("factory", PAYLOAD_STORES.values(), ids=PAYLOAD_STORES.keys())
def test_missing_records_raise_on_get_and_are_left_out_of_get_many(
    factory: Factory, where: AwsResources
) -> None:
    store = factory(where)
    here = Address(_container(store, where), "here", 0)
    gone = Address(_container(store, where), "never-written", 0)
    store.put_many([(here, _record(b"1"))])

    with pytest.raises(NoItemFound):
        store.get(gone)
    found = store.get_many([here, gone, here])  # duplicates allowed

    assert list(found) == [here]
    store.delete_many([gone])  # deleting what is not there is no error


@pytest.mark.parametrize("factory", PAYLOAD_STORES.values(), ids=PAYLOAD_STORES.keys())
def test_put_replaces_and_delete_removes(factory: Factory, where: AwsResources) -> None:
    store = factory(where)
    address = Address(_container(store, where), "k", 0)
    store.put(address, _record(b"1"))

    replaced = store.put(address, _record(b"22"))
    assert replaced is None or replaced.sha256 == "a" * 64  # returned when the store knows it
    assert store.get(address).body == b"22"
    store.delete_many([address])
    assert store.get_many([address]) == {}


@pytest.mark.parametrize("factory", PARTITION_STORES.values(), ids=PARTITION_STORES.keys())
def test_query_lists_a_partition_by_index_and_an_empty_one_as_nothing(
    factory: Factory, where: AwsResources
) -> None:
    store = factory(where)
    table = where.table
    overflow = Address(where.bucket, "workflow_state_data/t/p/1", 1)
    store.put_many(
        [
            (Address(table, "p", 2), _record(b'"c"')),
            (Address(table, "p", 0), _record(b'"a"')),
            (Address(table, "p", 1), Record(None, "json", "b" * 64, 9, overflow, 4_102_444_800)),
            (Address(table, "other", 0), _record(b'"x"')),
        ]
    )

    rows = store.query(table, "p", keys_only=True)

    assert [i for i, _ in rows] == [0, 1, 2]
    _, summary = rows[1]
    assert (summary.sha256, summary.size, summary.redirect, summary.expires_at) == (
        "b" * 64,
        9,
        overflow,
        4_102_444_800,
    )
    assert [r.body for _, r in store.query(table, "p")] == [b'"a"', None, b'"c"']
    assert store.query(table, "empty") == []


@pytest.mark.parametrize("factory", PARTITION_STORES.values(), ids=PARTITION_STORES.keys())
def test_list_elements_keep_their_tag_and_proof_pages_their_bytes(
    factory: Factory, where: AwsResources
) -> None:
    """The records of a list written element by element come back as stored: an element with
    its list's tag and no digest (in full and in a keys-only listing), a gzipped one with its
    encoding, and a proof page (binary, its own encoding)."""
    store = factory(where)
    table = where.table
    tag = "0123456789abcdef"
    element = Record(b'{"a":1}', tag=tag, expires_at=4_102_444_800)
    zipped = Record(b"\x1f\x8b\x08\x00", "json+gzip", tag=tag, expires_at=4_102_444_800)
    page = Record(bytes(range(256)), "sfn-offload-list-page", expires_at=4_102_444_800)
    store.put_many(
        [
            (Address(table, "rows", 0), element),
            (Address(table, "rows", 1), zipped),
            (Address(table, "sfn-offload#pages#rows", 0), page),
        ]
    )

    got = store.get_many(
        [
            Address(table, "rows", 0),
            Address(table, "rows", 1),
            Address(table, "sfn-offload#pages#rows", 0),
        ]
    )
    assert got[Address(table, "rows", 0)] == element
    assert got[Address(table, "rows", 1)] == zipped
    assert got[Address(table, "sfn-offload#pages#rows", 0)] == page
    listed = [(r.tag, r.encoding, r.sha256) for _, r in store.query(table, "rows", keys_only=True)]
    assert listed == [(tag, "json", None), (tag, "json+gzip", None)]
