"""PayloadRepository on in-memory stores: tiering, layouts, cleanup, retries, verified reads."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import pytest

from sfn_offload import ConfigurationError, NoItemFound, OffloadConfig, PayloadTooLargeError
from sfn_offload.errors import (
    IntegrityError,
    PayloadEncodingError,
    PointerNotAllowedError,
    StoreError,
)
from sfn_offload.storage import Address, MemoryStore, PayloadRepository, Record
from sfn_offload.storage.pages import pages_key
from sfn_offload.wire import Pointer
from sfn_offload.wire.codec import digest
from sfn_offload.wire.merkle import Page

NOW = 1_700_000_000
DAY = 86_400
BUDGET = 1000
PK = "run-1:rows"


class Clock:
    """An injectable clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FailingStore(MemoryStore):
    """A DynamoDB stand-in whose writes fail (throttled past all retries)."""

    def put(self, address: Address, record: Record) -> Record | None:
        raise StoreError("DynamoDB.PutItem failed: ThrottlingException", code="Throttling")

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        raise StoreError("DynamoDB.BatchWriteItem failed: ThrottlingException", code="Throttling")


def make(
    *,
    table: str | None = "state",
    bucket: str | None = "bucket",
    dynamodb: MemoryStore | None = None,
    clock: Clock | None = None,
    **settings: Any,
) -> tuple[PayloadRepository, MemoryStore, MemoryStore]:
    ddb = dynamodb or MemoryStore("dynamodb")
    s3 = MemoryStore("s3")
    settings.setdefault("item_budget_bytes", BUDGET)
    config = OffloadConfig(table=table, bucket=bucket, **settings)
    repo = PayloadRepository(config, dynamodb=ddb, s3=s3, clock=clock or Clock())
    return repo, ddb, s3


def sized(n: int) -> str:
    """A value whose JSON is exactly ``n`` bytes."""
    return "x" * (n - 2)


def overflow_prefix(index: int, pk: str = PK, table: str = "state") -> str:
    """Where py2sfn put element ``index``'s overflow object; ours add ``/<digest>-<nonce>``."""
    return f"workflow_state_data/{table}/{pk}/{index}/"


def overflow_of(s3: MemoryStore, index: int, pk: str = PK) -> Address:
    """The one overflow object of element ``index`` (fails if there is not exactly one)."""
    (found,) = [a for a in s3.data if a.key.startswith(overflow_prefix(index, pk))]
    return found


def overflowing(s3: MemoryStore) -> list[int]:
    """The indices that have an overflow object, one entry per object."""
    return sorted(a.index for a in s3.data)


def requests(*stores: MemoryStore) -> list[dict[str, int]]:
    return [dict(store.requests) for store in stores]


# --------------------------------------------------------------------------------------------
# tiering
# --------------------------------------------------------------------------------------------


def test_given_a_payload_exactly_at_the_item_budget_then_it_stays_in_the_item() -> None:
    repo, ddb, s3 = make()
    enc = repo.encode(sized(BUDGET))
    assert enc.size == BUDGET
    pointer = repo.write_item(None, PK, 0, enc)
    record = ddb.data[Address("state", PK, 0)]
    assert record.body == enc.body
    assert record.redirect is None
    assert s3.data == {}
    assert repo.read_many([pointer]) == [sized(BUDGET)]


def test_given_a_payload_one_byte_over_the_budget_then_item_layout_overflows_to_s3() -> None:
    repo, ddb, s3 = make()
    enc = repo.encode(sized(BUDGET + 1))
    pointer = repo.write_item(None, PK, 2, enc)
    item = ddb.data[Address("state", PK, 2)]
    assert item.body is None
    # py2sfn's key workflow_state_data/{table}/{pk}/{i}, then the digest and a per-write nonce
    assert item.redirect == overflow_of(s3, 2)
    assert item.redirect.key.startswith(overflow_prefix(2) + enc.sha256[:20] + "-")
    assert item.sha256 == enc.sha256
    assert s3.data[overflow_of(s3, 2)].body == enc.body
    assert pointer.backend == "dynamodb"
    assert repo.read_many([pointer]) == [sized(BUDGET + 1)]


def test_given_value_layout_then_small_goes_to_an_item_and_large_directly_to_s3() -> None:
    repo, ddb, s3 = make()
    small = repo.write_value("run-1:result", 0, repo.encode(sized(BUDGET)))
    large = repo.write_value("run-1:result.rows", 3, repo.encode(sized(BUDGET + 1)))
    assert (small.backend, small.container, small.key) == ("dynamodb", "state", "run-1:result")
    key = f"sfn-offload/run-1:result.rows/3/{digest(large_body(repo))[:20]}"
    assert (large.backend, large.container, large.key) == ("s3", "bucket", key)
    assert Address("bucket", key, 3) in s3.data
    assert Address("state", "run-1:result.rows", 3) not in ddb.data  # one read, not two
    assert repo.read_many([small, large]) == [sized(BUDGET), sized(BUDGET + 1)]


def large_body(repo: PayloadRepository) -> bytes:
    return repo.encode(sized(BUDGET + 1)).body


def test_given_a_custom_s3_prefix_then_value_layout_uses_it() -> None:
    repo, _, s3 = make(s3_prefix="team-a/payloads/")
    enc = repo.encode(sized(BUDGET + 5))
    pointer = repo.write_value("exec:out", 0, enc)
    assert pointer.key == f"team-a/payloads/exec:out/0/{enc.sha256[:20]}"
    assert list(s3.data) == [Address("bucket", pointer.key, 0)]


def test_given_value_layout_keys_that_end_in_the_digest_then_none_is_appended() -> None:
    # GIVEN the decorator's partition keys, which already end in the payload's digest
    repo, _, _ = make()
    enc = repo.encode(sized(BUDGET + 5))
    # WHEN written THEN the object key is unchanged: equal keys always mean equal bytes
    pointer = repo.write_value(f"exec:out:{enc.sha256[:20]}", 0, enc)
    assert pointer.key == f"sfn-offload/exec:out:{enc.sha256[:20]}/0"


def test_given_a_bucket_only_setup_then_value_layout_writes_everything_to_s3() -> None:
    repo, ddb, s3 = make(table=None)
    pointer = repo.write_value("exec:small", 0, repo.encode({"ok": True}))
    assert pointer.backend == "s3"
    assert ddb.requests == {}
    assert repo.read_many([pointer]) == [{"ok": True}]
    assert len(s3.data) == 1


def test_given_a_bucket_only_setup_then_item_layout_asks_for_a_table() -> None:
    repo, _, _ = make(table=None)
    with pytest.raises(ConfigurationError, match="SFN_OFFLOAD_TABLE"):
        repo.write_item(None, PK, 0, repo.encode(1))


def test_given_neither_table_nor_bucket_then_value_layout_is_a_configuration_error() -> None:
    repo, _, _ = make(table=None, bucket=None)
    with pytest.raises(ConfigurationError, match="no table or bucket"):
        repo.write_value("exec:x", 0, repo.encode(1))


@pytest.mark.parametrize("layout", ["item", "value"])
def test_given_a_table_only_setup_and_an_oversize_payload_then_too_large_with_bucket_hint(
    layout: str,
) -> None:
    repo, ddb, s3 = make(bucket=None)
    enc = repo.encode(sized(BUDGET + 1))

    def write() -> Pointer:
        if layout == "item":
            return repo.write_item(None, PK, 0, enc)
        return repo.write_value(PK, 0, enc)

    with pytest.raises(PayloadTooLargeError) as info:
        write()
    message = str(info.value)
    assert f"{BUDGET + 1} bytes" in message
    assert f"{BUDGET}-byte" in message
    assert "SFN_OFFLOAD_BUCKET" in message
    assert PK in message
    assert ddb.data == {}
    assert s3.data == {}


def test_given_compression_configured_then_items_store_gzip_and_read_back() -> None:
    repo, ddb, _ = make(compression="gzip", compress_min_bytes=100)
    value = {"rows": [{"id": i, "name": "same"} for i in range(100)]}
    enc = repo.encode(value)
    assert enc.encoding == "json+gzip"
    pointer = repo.write_item(None, PK, 0, enc)
    assert ddb.data[Address("state", PK, 0)].encoding == "json+gzip"
    assert pointer.encoding == "json+gzip"
    assert repo.read_many([pointer]) == [value]


def test_given_a_write_then_records_expire_ttl_days_from_now() -> None:
    repo, ddb, s3 = make(ttl_days=3)
    repo.write_item(None, PK, 0, repo.encode(sized(BUDGET + 1)))
    assert ddb.data[Address("state", PK, 0)].expires_at == NOW + 3 * DAY
    assert s3.data[overflow_of(s3, 0)].expires_at == NOW + 3 * DAY


# --------------------------------------------------------------------------------------------
# write_items: validation, stale indices, orphans, retries
# --------------------------------------------------------------------------------------------


def test_given_one_oversize_element_and_no_bucket_then_nothing_is_written() -> None:
    repo, ddb, s3 = make(bucket=None)
    repo.write_items(None, PK, [repo.encode("old-0"), repo.encode("old-1")])
    before = dict(ddb.data)
    calls = requests(ddb, s3)
    elements = [repo.encode("a"), repo.encode("b"), repo.encode(sized(BUDGET + 1))]
    with pytest.raises(PayloadTooLargeError, match="index 2"):
        repo.write_items(None, PK, elements)
    assert ddb.data == before
    assert s3.data == {}
    assert requests(ddb, s3) == calls  # refused before any store call


def test_given_a_shorter_list_then_higher_stale_indices_are_removed() -> None:
    repo, ddb, _ = make()
    repo.write_items(None, PK, [repo.encode(i) for i in range(5)])
    repo.write_items(None, PK, [repo.encode("a"), repo.encode("b")])
    assert sorted(a.index for a in ddb.data if a.key == PK) == [0, 1]
    assert sorted(a.index for a in ddb.data if a.key == pages_key(PK)) == [0]
    assert repo.read_partition("state", PK) == ["a", "b"]


def test_given_a_shorter_list_then_s3_overflow_of_removed_indices_is_deleted() -> None:
    repo, _, s3 = make()
    big = sized(BUDGET + 1)
    repo.write_items(None, PK, [repo.encode(x) for x in ["s", big, "s", big, big]])
    assert overflowing(s3) == [1, 3, 4]
    repo.write_items(None, PK, [repo.encode("a"), repo.encode(big)])
    assert overflowing(s3) == [1]  # one object: index 1's, rewritten (the list changed)
    assert repo.read_partition("state", PK) == ["a", big]


def test_given_an_empty_list_then_the_whole_old_list_and_its_overflow_are_removed() -> None:
    repo, ddb, s3 = make()
    repo.write_items(None, PK, [repo.encode(sized(BUDGET + 1)), repo.encode(1)])
    repo.write_items(None, PK, [])
    assert ddb.data == {}
    assert s3.data == {}
    assert repo.read_partition("state", PK) == []


def test_given_a_small_item_overwriting_a_large_one_then_the_orphan_object_is_deleted() -> None:
    repo, ddb, s3 = make()
    repo.write_item(None, PK, 0, repo.encode(sized(BUDGET + 1)))
    assert overflowing(s3) == [0]
    pointer = repo.write_item(None, PK, 0, repo.encode("small"))
    assert s3.data == {}
    assert ddb.data[Address("state", PK, 0)].redirect is None
    assert repo.read_many([pointer]) == ["small"]


def test_given_a_small_element_overwriting_a_large_one_in_a_list_then_the_orphan_is_deleted() -> (
    None
):
    repo, _, s3 = make()
    repo.write_items(None, PK, [repo.encode("a"), repo.encode(sized(BUDGET + 1))])
    repo.write_items(None, PK, [repo.encode("a"), repo.encode("b")])
    assert s3.data == {}
    assert repo.read_partition("state", PK) == ["a", "b"]


def test_given_a_large_item_overwriting_a_large_one_then_the_old_object_is_deleted() -> None:
    repo, ddb, s3 = make()
    repo.write_item(None, PK, 0, repo.encode(sized(BUDGET + 1)))
    first = overflow_of(s3, 0)
    pointer = repo.write_item(None, PK, 0, repo.encode(sized(BUDGET + 7)))
    assert list(s3.data) == [ddb.data[Address("state", PK, 0)].redirect]
    assert first not in s3.data  # a new object per write; the replaced one is deleted
    assert repo.read_many([pointer]) == [sized(BUDGET + 7)]


def test_given_a_retried_write_items_with_identical_data_then_nothing_new_is_written() -> None:
    repo, ddb, s3 = make()
    values = ["a", sized(BUDGET + 1), {"b": [1, 2]}, sized(BUDGET + 2)]
    repo.write_items(None, PK, [repo.encode(v) for v in values])
    ddb_calls, s3_calls = requests(ddb, s3)
    repo.write_items(None, PK, [repo.encode(v) for v in values])
    ddb_after, s3_after = requests(ddb, s3)
    assert s3_after == s3_calls
    assert {k: v for k, v in ddb_after.items() if k != "query"} == {
        k: v for k, v in ddb_calls.items() if k != "query"
    }
    assert ddb_after["query"] == ddb_calls["query"] + 1  # one listing, no writes or deletes
    assert repo.read_partition("state", PK) == values


def test_given_a_list_with_one_changed_element_then_every_element_records_the_new_list() -> None:
    # GIVEN a list written once
    repo, ddb, _ = make()
    first = repo.write_items(None, PK, [repo.encode(v) for v in ["a", "b", "c"]])
    # WHEN one element changes THEN the list's digest changes, and every element records it
    # (reading the list checks they all belong to one write)
    second = repo.write_items(None, PK, [repo.encode(v) for v in ["a", "CHANGED", "c"]])
    assert first != second
    tags = {ddb.data[Address("state", PK, i)].tag for i in range(3)}
    assert tags == {second[:16]}
    page = Page.from_bytes(ddb.data[Address("state", pages_key(PK), 0)].body or b"")
    assert page is not None
    assert (page.root, page.count) == (second, 3)
    assert repo.read_partition("state", PK) == ["a", "CHANGED", "c"]


def test_given_a_retry_after_half_the_ttl_then_identical_elements_are_refreshed() -> None:
    clock = Clock()
    repo, ddb, _ = make(clock=clock, ttl_days=7)
    repo.write_items(None, PK, [repo.encode("a")])
    clock.now += 4 * DAY
    repo.write_items(None, PK, [repo.encode("a")])
    assert ddb.data[Address("state", PK, 0)].expires_at == NOW + 4 * DAY + 7 * DAY


def test_given_items_written_by_py2sfn_then_a_retry_rewrites_them_with_digests() -> None:
    repo, ddb, _ = make()
    ddb.data[Address("state", PK, 0)] = Record(b'"a"', expires_at=NOW + DAY)  # no sha256/size
    root = repo.write_items(None, PK, [repo.encode("a")])
    # rewritten as an element of the list (its digest is in the list's proof page)
    assert ddb.data[Address("state", PK, 0)].tag == root[:16]
    page = Page.from_bytes(ddb.data[Address("state", pages_key(PK), 0)].body or b"")
    assert page is not None
    assert page.digests == (bytes.fromhex(digest(b'"a"')),)


def test_given_the_item_write_fails_then_no_overflow_object_is_left_behind() -> None:
    # py2sfn bug 4: the S3 object was orphaned when the DynamoDB write failed.
    repo, _, s3 = make(dynamodb=FailingStore("dynamodb"))
    with pytest.raises(StoreError):
        repo.write_item(None, PK, 0, repo.encode(sized(BUDGET + 1)))
    assert s3.data == {}


class FailingSecondPut(MemoryStore):
    """A DynamoDB stand-in whose single writes succeed once, then fail."""

    def put(self, address: Address, record: Record) -> Record | None:
        if self.requests.get("put"):
            raise StoreError("DynamoDB.PutItem failed: ThrottlingException", code="Throttling")
        return super().put(address, record)


def test_given_a_failed_overwrite_then_what_the_first_write_stored_is_still_read() -> None:
    # GIVEN put_item v1 (overflowing to S3), then a put_item v2 of the same address that fails
    repo, _, s3 = make(dynamodb=FailingSecondPut("dynamodb"))
    first = repo.write_item(None, PK, 0, repo.encode(sized(BUDGET + 1)))
    with pytest.raises(StoreError):
        repo.write_item(None, PK, 0, repo.encode(sized(BUDGET + 9)))
    # THEN the failed write cleaned up only its own object: v1 reads back whole
    assert repo.read_many([first]) == [sized(BUDGET + 1)]
    assert overflowing(s3) == [0]


def test_given_the_batch_write_fails_then_no_overflow_objects_are_left_behind() -> None:
    repo, _, s3 = make(dynamodb=FailingStore("dynamodb"))
    with pytest.raises(StoreError):
        repo.write_items(None, PK, [repo.encode(sized(BUDGET + 1)), repo.encode("a")])
    assert s3.data == {}


# --------------------------------------------------------------------------------------------
# reads
# --------------------------------------------------------------------------------------------


def test_given_mixed_pointers_then_read_many_keeps_input_order_with_one_batch_per_store() -> None:
    repo, ddb, s3 = make()
    values = ["item-0", sized(BUDGET + 1), {"v": 2}, sized(BUDGET + 3), [4]]
    pointers = [
        repo.write_item(None, "p:a", 0, repo.encode(values[0])),
        repo.write_item(None, "p:a", 1, repo.encode(values[1])),  # overflow
        repo.write_value("p:b", 0, repo.encode(values[2])),
        repo.write_value("p:c", 0, repo.encode(values[3])),  # direct S3
        repo.write_item(None, "p:d", 5, repo.encode(values[4])),
    ]
    order = [3, 0, 4, 1, 2, 0]
    ddb_gets = ddb.requests.get("get_many", 0)
    s3_gets = s3.requests.get("get_many", 0)
    assert repo.read_many([pointers[i] for i in order]) == [values[i] for i in order]
    assert ddb.requests["get_many"] == ddb_gets + 1
    assert s3.requests["get_many"] == s3_gets + 1


def test_given_untrusted_pointers_off_the_allow_list_then_refused_before_any_store_call() -> None:
    repo, ddb, s3 = make()
    good = repo.write_item(None, PK, 0, repo.encode("mine"))
    calls = requests(ddb, s3)
    other_table = Pointer("dynamodb", "payroll", "emp:all", 0, 3, digest(b'"x"'))
    other_bucket = Pointer("s3", "secrets", "keys/0", 0, 3, digest(b'"x"'))
    for bad in (other_table, other_bucket):
        with pytest.raises(PointerNotAllowedError) as info:
            repo.read_many([good, bad], trusted=False)
        assert bad.container in str(info.value)
        assert "SFN_OFFLOAD_ALLOWED_" in str(info.value)
    assert requests(ddb, s3) == calls


def test_given_trusted_pointers_then_the_allow_list_is_not_applied() -> None:
    repo, _, _ = make()
    stranger = Pointer("dynamodb", "payroll", "emp:all", 0, 3, digest(b'"x"'))
    with pytest.raises(NoItemFound):  # looked up, not refused
        repo.read_many([stranger], trusted=True)


def test_given_an_explicit_allow_list_then_untrusted_pointers_to_it_are_read() -> None:
    repo, ddb, _ = make(allowed_tables=frozenset({"state", "shared"}))
    ddb.data[Address("shared", "x:y", 0)] = Record(b"[1]", sha256=digest(b"[1]"), size=3)
    pointer = Pointer("dynamodb", "shared", "x:y", 0, 3, digest(b"[1]"))
    assert repo.read_many([pointer], trusted=False) == [[1]]


def test_given_an_untrusted_item_redirecting_to_a_foreign_bucket_then_refused() -> None:
    repo, ddb, s3 = make()
    body = b'"secret"'
    ddb.data[Address("state", PK, 0)] = Record(
        None, sha256=digest(body), size=len(body), redirect=Address("other-bucket", "k", 0)
    )
    s3.data[Address("other-bucket", "k", 0)] = Record(body)
    with pytest.raises(PointerNotAllowedError, match="other-bucket"):
        repo.read_many(
            [Pointer("dynamodb", "state", PK, 0, len(body), digest(body))], trusted=False
        )
    assert "get_many" not in s3.requests


def test_given_an_item_past_its_expiry_then_no_item_found_says_expired() -> None:
    clock = Clock()
    repo, _, _ = make(clock=clock, ttl_days=1)
    pointer = repo.write_item(None, PK, 0, repo.encode("v"))
    clock.now += DAY - 1
    assert repo.read_many([pointer]) == ["v"]
    clock.now += 2
    with pytest.raises(NoItemFound, match="expired"):
        repo.read_many([pointer])
    with pytest.raises(NoItemFound, match="expired"):
        repo.read_partition("state", PK)


def test_given_a_missing_item_then_no_item_found_names_where() -> None:
    repo, _, _ = make()
    pointer = Pointer("dynamodb", "state", "gone:k", 4, 3, digest(b'"x"'))
    with pytest.raises(NoItemFound, match="partition_key 'gone:k' index 4"):
        repo.read_many([pointer])


def test_given_a_missing_overflow_object_then_no_item_found_names_the_object() -> None:
    repo, _, s3 = make()
    pointer = repo.write_item(None, PK, 0, repo.encode(sized(BUDGET + 1)))
    s3.data.clear()
    with pytest.raises(NoItemFound, match="workflow_state_data/state/run-1:rows/0"):
        repo.read_many([pointer])


def test_given_a_tampered_item_body_then_integrity_error() -> None:
    repo, ddb, _ = make()
    pointer = repo.write_item(None, PK, 0, repo.encode({"amount": 100}))
    address = Address("state", PK, 0)
    ddb.data[address] = dataclasses.replace(ddb.data[address], body=b'{"amount":900}')
    with pytest.raises(IntegrityError, match="SHA-256"):
        repo.read_many([pointer])


def test_given_a_tampered_item_then_even_a_digest_less_read_is_checked_against_the_item() -> None:
    repo, ddb, _ = make()
    repo.write_items(None, PK, [repo.encode({"amount": 100})])
    address = Address("state", PK, 0)
    ddb.data[address] = dataclasses.replace(ddb.data[address], body=b'{"amount":9000}')
    # (checked against the list's proof pages: the element records no size or digest of its own)
    with pytest.raises(IntegrityError, match="an element was replaced") as caught:
        repo.read_partition("state", PK)
    # neither the stored size nor the item's record of it (the input did not say it)
    assert "15" not in str(caught.value)
    assert "14" not in str(caught.value)


@pytest.mark.parametrize("layout", ["overflow", "direct"])
def test_given_a_tampered_s3_object_then_integrity_error(layout: str) -> None:
    repo, _, s3 = make()
    enc = repo.encode(sized(BUDGET + 1))
    if layout == "overflow":
        pointer = repo.write_item(None, PK, 0, enc)
    else:
        pointer = repo.write_value(PK, 0, enc)
    (address,) = s3.data
    s3.data[address] = dataclasses.replace(s3.data[address], body=enc.body[:-2] + b'y"')
    with pytest.raises(IntegrityError):
        repo.read_many([pointer])


def test_given_a_max_bytes_cap_then_loads_over_it_are_refused() -> None:
    repo, _, _ = make()
    first = repo.write_item(None, PK, 0, repo.encode(sized(600)))
    second = repo.write_item(None, PK, 1, repo.encode(sized(600)))
    assert repo.read_many([first], max_bytes=600) == [sized(600)]
    with pytest.raises(PayloadTooLargeError, match="1000-byte hydration cap"):
        repo.read_many([first, second], max_bytes=1000)


def test_given_a_compressed_payload_then_the_cap_applies_to_inflated_bytes() -> None:
    repo, _, _ = make(compression="gzip", compress_min_bytes=0)
    enc = repo.encode(sized(900))
    assert enc.size < 100  # tiny on disk, 900 bytes of JSON
    pointer = repo.write_item(None, PK, 0, enc)
    with pytest.raises(PayloadTooLargeError):
        repo.read_many([pointer], max_bytes=500)


def test_given_a_list_with_missing_indices_then_read_partition_names_them() -> None:
    repo, ddb, _ = make()
    repo.write_items(None, PK, [repo.encode(i) for i in range(6)])
    del ddb.data[Address("state", PK, 1)]
    del ddb.data[Address("state", PK, 3)]
    with pytest.raises(NoItemFound) as info:
        repo.read_partition("state", PK)
    assert "[1, 3]" in str(info.value)
    assert "2 missing" in str(info.value)
    assert PK in str(info.value)


def test_given_a_list_missing_index_zero_then_read_partition_refuses() -> None:
    repo, ddb, _ = make()
    repo.write_items(None, PK, [repo.encode(i) for i in range(3)])
    del ddb.data[Address("state", PK, 0)]
    with pytest.raises(NoItemFound, match=r"\[0\]"):
        repo.read_partition("state", PK)


def test_given_a_legacy_py2sfn_item_with_nan_then_it_is_still_readable() -> None:
    repo, ddb, _ = make()
    ddb.data[Address("state", PK, 0)] = Record(b'{"score": NaN}', expires_at=NOW + DAY)
    (value,) = repo.read_partition("state", PK)
    assert math.isnan(value["score"])


def test_given_an_sfn_offload_item_with_nan_then_it_is_refused() -> None:
    repo, ddb, _ = make()
    body = b'{"score":NaN}'
    ddb.data[Address("state", PK, 0)] = Record(body, sha256=digest(body), size=len(body))
    with pytest.raises(PayloadEncodingError):
        repo.read_partition("state", PK)


def test_given_a_legacy_overflow_item_without_bucket_then_the_configured_bucket_is_read() -> None:
    repo, ddb, s3 = make()
    key = f"workflow_state_data/state/{PK}/0"
    ddb.data[Address("state", PK, 0)] = Record(None, redirect=Address("", key, 0))
    s3.data[Address("bucket", key, 0)] = Record(b'{"legacy": true}')
    assert repo.read_partition("state", PK) == [{"legacy": True}]
