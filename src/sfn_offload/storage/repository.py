"""Tiering and integrity over the stores: where each payload goes, and loading it back verified.

Two write layouts:

- **item layout** (:meth:`PayloadRepository.write_item`, :meth:`~PayloadRepository.write_items`;
  used by ``StateDataClient``): always a DynamoDB item; a payload over the item budget goes to S3
  at py2sfn's key ``workflow_state_data/{table}/{partition_key}/{index}`` and the item records
  ``s3_key``/``s3_bucket``. py2sfn-task-tools can read both.
- **value layout** (what the decorator writes; :meth:`PayloadRepository.write_value` writes one
  payload in it): a DynamoDB item when the payload fits the budget, else one S3 object at
  ``{s3_prefix}{partition_key}/{index}`` (one read instead of two). A bucket-only setup writes
  everything to S3.

Invariants:

- **Write before pointer.** A pointer is only built after every write it depends on returned; S3
  payloads are written before the items that point at them.
- **Deterministic keys.** Addresses derive from (namespace, key, index), so a retried task
  overwrites its own earlier attempt instead of leaving orphans; replaced S3 overflow objects that
  are no longer referenced are deleted. One case is left to expiry: in value layout, a payload
  that moves between tiers at the same address (written large to S3, then rewritten small into
  an item, or the reverse) leaves the earlier copy unreferenced, because finding it would cost a
  request on every write. The decorator's keys end in the payload's digest, so a retry with the
  same result writes the same bytes to the same place and never hits this; the stale copy is
  never read (pointers name exactly what was written with them) and expires with the TTL (items)
  and the bucket's lifecycle rule (objects).
- **Verified loads.** Every load checks size and SHA-256 against the pointer (and the item's own
  record of them), then decodes. Items and S3 objects past their recorded expiry are refused
  (:class:`~sfn_offload.NoItemFound`) even while DynamoDB TTL or the lifecycle rule has not
  deleted them yet.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .._aws import AwsClients
from .._config import OffloadConfig
from .._retry import RetryPolicy
from ..errors import (
    ConfigurationError,
    IntegrityError,
    NoItemFound,
    PayloadTooLargeError,
    PointerNotAllowedError,
    SfnOffloadError,
)
from ..storage.base import Address, PayloadStore, Record
from ..storage.dynamodb import DynamoDBStore
from ..storage.s3 import S3Store
from ..wire.codec import Encoded, encode, inflate, loads, verify
from ..wire.pointer import Pointer

__all__ = ["LEGACY_S3_PREFIX", "PayloadRepository", "ReadStats"]

#: Where py2sfn-task-tools put overflowing payloads; kept so both libraries read each other's.
LEGACY_S3_PREFIX = "workflow_state_data"
_DAY = 86_400


@dataclass
class ReadStats:
    """What one batch load did (for logs and metrics; never holds payloads)."""

    pointers: int = 0
    dynamodb_items: int = 0
    s3_objects: int = 0
    stored_bytes: int = 0
    json_bytes: int = 0


class PayloadRepository:
    """Encodes, places, writes, reads and verifies payloads for one configuration.

    >>> from sfn_offload.storage.memory import MemoryStore
    >>> repo = PayloadRepository(
    ...     OffloadConfig(table="state"), dynamodb=MemoryStore("dynamodb"), s3=MemoryStore("s3")
    ... )
    >>> pointer = repo.write_value("run-1:report", 0, repo.encode({"rows": [1, 2, 3]}))
    >>> pointer.backend, pointer.container, pointer.key
    ('dynamodb', 'state', 'run-1:report')
    >>> repo.read_many([pointer])
    [{'rows': [1, 2, 3]}]
    """

    def __init__(
        self,
        config: OffloadConfig,
        *,
        clients: AwsClients | None = None,
        dynamodb: PayloadStore | None = None,
        s3: PayloadStore | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clients = clients or AwsClients(
            endpoint_urls=config.endpoint_urls, max_pool_connections=config.max_workers
        )
        self._executor: Executor | None = None
        self._executor_lock = threading.Lock()
        self.dynamodb: PayloadStore = dynamodb or DynamoDBStore(
            lambda: self.clients.dynamodb, retry=retry, executor=self._get_executor
        )
        self.s3: PayloadStore = s3 or S3Store(
            lambda: self.clients.s3,
            kms_key_id=config.kms_key_id,
            expected_bucket_owner=config.expected_bucket_owner,
            executor=self._get_executor,
            retry=retry,
        )
        self._clock = clock

    @classmethod
    def from_env(cls, **overrides: Any) -> PayloadRepository:
        """A repository on :meth:`OffloadConfig.from_env` (keyword arguments override).

        Nothing is read or created until called; clients are created on first use.
        """
        return cls(OffloadConfig.from_env(**overrides))

    def _get_executor(self) -> Executor:
        # Threads are created on first concurrent transfer, not at import or construction.
        if self._executor is None:
            with self._executor_lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.config.max_workers, thread_name_prefix="sfn-offload"
                    )
        return self._executor

    # ----------------------------------------------------------------------------------
    # encoding and placement
    # ----------------------------------------------------------------------------------

    def encode(self, value: Any, *, where: str = "value") -> Encoded:
        """Serialize ``value`` once, compressing as configured."""
        return encode(
            value,
            compression=self.config.compression,
            compress_min_bytes=self.config.compress_min_bytes,
            where=where,
        )

    def expires_at(self) -> int:
        """The TTL value for items and objects written now."""
        return int(self._clock()) + self.config.ttl_days * _DAY

    def _require_table(self, table: str | None) -> str:
        table = table or self.config.table
        if not table:
            raise ConfigurationError(
                "no DynamoDB table configured: pass a table name or set SFN_OFFLOAD_TABLE"
            )
        return table

    def _too_large(self, encoded: Encoded, where: str) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"payload for {where} is {encoded.size} bytes, over the "
            f"{self.config.item_budget_bytes}-byte DynamoDB item budget (DynamoDB items are "
            "limited to 400 KB), and no S3 bucket is configured for larger payloads: set "
            "SFN_OFFLOAD_BUCKET (or s3_bucket=)"
        )

    def _item_record(
        self, table: str, partition_key: str, index: int, encoded: Encoded, expires_at: int
    ) -> tuple[Record, tuple[Address, Record] | None]:
        """The item for one payload in item layout, plus the S3 write it needs, if any."""
        if encoded.size <= self.config.item_budget_bytes:
            return Record(
                encoded.body, encoded.encoding, encoded.sha256, encoded.size, expires_at=expires_at
            ), None
        bucket = self.config.bucket
        if not bucket:
            where = f"dynamodb table {table!r} partition_key {partition_key!r} index {index}"
            raise self._too_large(encoded, where)
        s3_address = Address(bucket, f"{LEGACY_S3_PREFIX}/{table}/{partition_key}/{index}", index)
        s3_record = Record(
            encoded.body, encoded.encoding, encoded.sha256, encoded.size, expires_at=expires_at
        )
        item = Record(
            None,
            encoded.encoding,
            encoded.sha256,
            encoded.size,
            redirect=s3_address,
            expires_at=expires_at,
        )
        return item, (s3_address, s3_record)

    # ----------------------------------------------------------------------------------
    # writes
    # ----------------------------------------------------------------------------------

    def write_item(
        self, table: str | None, partition_key: str, index: int, encoded: Encoded
    ) -> Pointer:
        """Write one payload in item layout (py2sfn ``put_item``); returns its pointer."""
        table = self._require_table(table)
        item, s3_write = self._item_record(table, partition_key, index, encoded, self.expires_at())
        if s3_write is not None:
            self.s3.put(*s3_write)
        with self._undo_on_failure(table, partition_key, [s3_write] if s3_write else []):
            old = self.dynamodb.put(Address(table, partition_key, index), item)
        self._delete_replaced_overflow({index: old} if old else {}, {index: item})
        return self._pointer("dynamodb", table, partition_key, index, encoded)

    def write_items(
        self, table: str | None, partition_key: str, encoded: Sequence[Encoded]
    ) -> None:
        """Write a list element by element at indices ``0..n-1`` (py2sfn ``put_items``).

        Items at higher indices left by an earlier, longer list are deleted, so reading the
        partition afterwards returns exactly this list. Elements an earlier attempt already
        wrote identically (same digest, fresh TTL) are not written again, so a retried task
        costs little.
        """
        table = self._require_table(table)
        expires_at = self.expires_at()
        planned = [
            self._item_record(table, partition_key, i, enc, expires_at)
            for i, enc in enumerate(encoded)
        ]  # validates every element (sizes) before the first write
        existing = dict(self._query(table, partition_key, keys_only=True))
        fresh_enough = int(self._clock()) + self.config.ttl_days * _DAY // 2
        items: list[tuple[Address, Record]] = []
        s3_writes: list[tuple[Address, Record]] = []
        for index, (item, s3_write) in enumerate(planned):
            old = existing.get(index)
            if (
                old is not None
                and old.sha256 == item.sha256
                and old.encoding == item.encoding
                and old.redirect == item.redirect
                and (old.expires_at or 0) >= fresh_enough
            ):
                continue
            items.append((Address(table, partition_key, index), item))
            if s3_write is not None:
                s3_writes.append(s3_write)
        if s3_writes:
            self.s3.put_many(s3_writes)
        if items:
            with self._undo_on_failure(table, partition_key, s3_writes):
                self.dynamodb.put_many(items)
        stale = [Address(table, partition_key, i) for i in existing if i >= len(encoded)]
        if stale:
            self.dynamodb.delete_many(stale)
        new_items = {a.index: r for a, r in items}
        self._delete_replaced_overflow(
            {i: r for i, r in existing.items() if i >= len(encoded) or i in new_items}, new_items
        )

    def write_value(
        self, partition_key: str, index: int, encoded: Encoded, *, table: str | None = None
    ) -> Pointer:
        """Write one payload in value layout: an item if it fits the budget, else an S3 object.

        Deterministic: the same ``partition_key``/``index`` and payload always land at the same
        place. See the module docstring for the one case left to expiry (a payload at the same
        address changing tier between two writes).
        """
        table = table or self.config.table
        expires_at = self.expires_at()
        if table and encoded.size <= self.config.item_budget_bytes:
            record = Record(
                encoded.body, encoded.encoding, encoded.sha256, encoded.size, expires_at=expires_at
            )
            old = self.dynamodb.put(Address(table, partition_key, index), record)
            self._delete_replaced_overflow({index: old} if old else {}, {index: record})
            return self._pointer("dynamodb", table, partition_key, index, encoded)
        bucket = self.config.bucket
        if not bucket:
            if not table:
                raise ConfigurationError(
                    "no table or bucket configured: set SFN_OFFLOAD_TABLE and/or SFN_OFFLOAD_BUCKET"
                )
            raise self._too_large(
                encoded, f"dynamodb table {table!r} partition_key {partition_key!r} index {index}"
            )
        key = f"{self.config.s3_prefix}{partition_key}/{index}"
        self.s3.put(
            Address(bucket, key, index),
            Record(
                encoded.body, encoded.encoding, encoded.sha256, encoded.size, expires_at=expires_at
            ),
        )
        return self._pointer("s3", bucket, key, index, encoded)

    @contextlib.contextmanager
    def _undo_on_failure(
        self, table: str, partition_key: str, s3_writes: Sequence[tuple[Address, Record]]
    ) -> Iterator[None]:
        """If the item write fails, delete the overflow objects no committed item refers to.

        Without this, a failed item write would leave S3 objects no item refers to (py2sfn's
        orphan bug). But a failed write may still have committed some items: the other batches
        of a ``put_items``, or a request whose response was lost after DynamoDB applied it. Those
        items need their objects (and a retry skips elements already written identically), so
        the items are read back first and only objects whose item does not hold the new record
        are deleted. If that read fails too, nothing is deleted: the retry overwrites the objects
        (same keys) or the lifecycle rule expires them, while deleting could leave an item
        pointing at nothing. Best effort: the item error is what the caller sees either way.
        """
        try:
            yield
        except BaseException:
            if s3_writes:
                with contextlib.suppress(SfnOffloadError):
                    committed = self.dynamodb.get_many(
                        [Address(table, partition_key, a.index) for a, _ in s3_writes]
                    )
                    unreferenced = []
                    for address, record in s3_writes:
                        item = committed.get(Address(table, partition_key, address.index))
                        if item is None or (item.redirect, item.sha256) != (address, record.sha256):
                            unreferenced.append(address)
                    if unreferenced:
                        self.s3.delete_many(unreferenced)
            raise

    @staticmethod
    def _pointer(backend: str, container: str, key: str, index: int, enc: Encoded) -> Pointer:
        return Pointer(backend, container, key, index, enc.size, enc.sha256, enc.encoding)  # type: ignore[arg-type]

    def _delete_replaced_overflow(self, old: dict[int, Record], new: dict[int, Record]) -> None:
        """Delete S3 overflow objects that replaced/removed items no longer reference."""
        orphans = []
        for index, record in old.items():
            if record.redirect is None:
                continue
            replacement = new.get(index)
            if (
                replacement is not None
                and replacement.redirect is not None
                and (replacement.redirect.key == record.redirect.key)
            ):
                continue  # overwritten in place
            bucket = record.redirect.container or self.config.bucket
            if bucket:
                orphans.append(Address(bucket, record.redirect.key, index))
        if orphans:
            self.s3.delete_many(orphans)

    def _query(
        self, table: str, partition_key: str, *, keys_only: bool
    ) -> list[tuple[int, Record]]:
        query = getattr(self.dynamodb, "query", None)
        if query is None:
            raise ConfigurationError("this DynamoDB store cannot list a partition (no query())")
        rows: list[tuple[int, Record]] = query(table, partition_key, keys_only=keys_only)
        return rows

    # ----------------------------------------------------------------------------------
    # reads
    # ----------------------------------------------------------------------------------

    def check_allowed(self, pointer: Pointer, where: str) -> None:
        """Refuse a pointer (from untrusted input) naming a table/bucket not on the allow-list."""
        if pointer.backend == "dynamodb":
            allowed, kind, env = self.config.allowed_tables, "table", "SFN_OFFLOAD_ALLOWED_TABLES"
        else:
            allowed, kind, env = (
                self.config.allowed_buckets,
                "bucket",
                "SFN_OFFLOAD_ALLOWED_BUCKETS",
            )
        if pointer.container not in allowed:
            raise PointerNotAllowedError(
                f"{where}: pointer names {kind} {pointer.container!r}, which is not allowed "
                f"(allowed: {sorted(allowed) or 'none configured'}); add it to {env} if this "
                "function should read it"
            )

    def read_many(
        self,
        pointers: Sequence[Pointer],
        *,
        trusted: bool = True,
        max_bytes: int | None = None,
        stats: ReadStats | None = None,
        wheres: Sequence[str] | None = None,
        prefetched: dict[Address, Record] | None = None,
    ) -> list[Any]:
        """Load many value pointers with the fewest requests; result order matches input.

        DynamoDB pointers are fetched with BatchGetItem (100 keys a request, consistent reads),
        S3 objects concurrently. ``trusted=False`` (pointers from an event) enforces the
        allow-lists before any request. ``max_bytes`` caps the total JSON bytes loaded.
        """
        stats = stats if stats is not None else ReadStats()
        wheres = wheres or [p.describe() for p in pointers]
        if not trusted:
            for pointer, where in zip(pointers, wheres, strict=True):
                self.check_allowed(pointer, where)
        if max_bytes is not None:
            known = sum(p.size or 0 for p in pointers)
            if known > max_bytes:
                raise PayloadTooLargeError(
                    f"{len(pointers)} pointer(s) refer to {known} stored bytes, over the "
                    f"{max_bytes}-byte hydration cap"
                )
        stats.pointers += len(pointers)
        ddb_addresses = [
            Address(p.container, p.key, p.index) for p in pointers if p.backend == "dynamodb"
        ]
        if prefetched is not None:
            items = prefetched
        else:
            items = self.dynamodb.get_many(ddb_addresses) if ddb_addresses else {}
        stats.dynamodb_items += len(items)
        # Second hop: direct S3 pointers and items that overflowed to S3, fetched together.
        sources: list[tuple[Record | None, Address | None]] = []
        s3_addresses: list[Address] = []
        for pointer, where in zip(pointers, wheres, strict=True):
            if pointer.backend == "s3":
                direct = Address(pointer.container, pointer.key, pointer.index)
                sources.append((None, direct))
                s3_addresses.append(direct)
                continue
            item = items.get(Address(pointer.container, pointer.key, pointer.index))
            if item is None:
                raise NoItemFound(
                    f"{where}: no such item (never written, or expired and deleted by TTL)"
                )
            self._check_fresh(item, where)
            if item.redirect is not None:
                overflow = self._overflow_address(item.redirect, where, trusted=trusted)
                sources.append((item, overflow))
                s3_addresses.append(overflow)
            else:
                sources.append((item, None))
        objects = self.s3.get_many(s3_addresses) if s3_addresses else {}
        stats.s3_objects += len(objects)
        # Release each object's bytes once its last pointer is decoded: hydrating a 50 MB
        # payload should not hold the body and the parsed value longer than needed.
        uses = Counter(s3_addresses)
        values = []
        total = 0
        for pointer, where, (item, address) in zip(pointers, wheres, sources, strict=True):
            if address is not None:
                uses[address] -= 1
                found = objects.get(address) if uses[address] else objects.pop(address, None)
                if found is None:
                    raise NoItemFound(
                        f"{where}: no S3 object at bucket {address.container!r} key "
                        f"{address.key!r} (never written, or expired by the bucket's lifecycle)"
                    )
                record, found = found, None
                self._check_fresh(record, where, what="S3 object")
            else:
                assert item is not None
                record = item
            stats.stored_bytes += len(record.body or b"")
            value, size = self._decode(pointer, item, record, where, max_bytes, total)
            del record
            total += size
            values.append(value)
        stats.json_bytes += total
        return values

    def _check_fresh(self, item: Record, where: str, *, what: str = "item") -> None:
        # DynamoDB deletes expired items up to days late, and S3 lifecycle rules run once a day;
        # until then reads still return them. Expired data is refused the same way in both.
        if item.expires_at is not None and item.expires_at < self._clock():
            cleaner = "TTL" if what == "item" else "the bucket's lifecycle rule"
            raise NoItemFound(
                f"{where}: the {what} expired at {item.expires_at} (epoch seconds; TTL "
                f"{self.config.ttl_days} days) and is awaiting deletion by {cleaner}"
            )

    def _overflow_address(self, redirect: Address, where: str, *, trusted: bool) -> Address:
        bucket = redirect.container or self.config.bucket
        if not bucket:
            raise ConfigurationError(
                f"{where}: the item's payload is in S3 at key {redirect.key!r} but the item does "
                "not name its bucket (written by py2sfn-task-tools) and no bucket is configured: "
                "set SFN_OFFLOAD_BUCKET or SFN_DATA_S3_BUCKET"
            )
        if not trusted and redirect.container and bucket not in self.config.allowed_buckets:
            raise PointerNotAllowedError(
                f"{where}: the item's payload is in bucket {bucket!r}, which is not allowed "
                f"(allowed: {sorted(self.config.allowed_buckets) or 'none configured'})"
            )
        return Address(bucket, redirect.key, redirect.index)

    def _decode(
        self,
        pointer: Pointer,
        item: Record | None,
        record: Record,
        where: str,
        max_bytes: int | None,
        total: int,
    ) -> tuple[Any, int]:
        body = record.body
        if body is None:
            raise NoItemFound(f"{where}: the stored record has no payload")
        # The pointer's size/digest are authoritative; an item also records its own (which is
        # all py2sfn-written pointers can be checked against, when present).
        verify(body, size=pointer.size, sha256=pointer.sha256, where=where)
        recorded = item if item is not None else record
        if (recorded.sha256, recorded.size) != (pointer.sha256, pointer.size):
            # Hash again only when the item records something the pointer did not vouch for.
            verify(body, size=recorded.size, sha256=recorded.sha256, where=where)
        encoding = recorded.encoding if pointer.sha256 is None else pointer.encoding
        if (
            pointer.sha256 is not None
            and recorded.sha256 is not None
            and (recorded.encoding != pointer.encoding)
        ):
            raise IntegrityError(
                f"{where}: stored encoding {recorded.encoding!r} differs from the pointer's "
                f"{pointer.encoding!r}"
            )
        remaining = None if max_bytes is None else max_bytes - total
        legacy = pointer.sha256 is None and recorded.sha256 is None
        raw = inflate(body, encoding, where=where, max_bytes=remaining)
        return loads(raw, where=where, allow_constants=legacy), len(raw)

    def read_partition(self, table: str, partition_key: str) -> list[Any]:
        """Every element of a list written by :meth:`write_items` (py2sfn ``get_items``).

        Reads consistently and refuses gaps (a missing index means a lost element, which
        py2sfn-task-tools silently skipped).
        """
        rows = self._query(table, partition_key, keys_only=False)
        indices = [i for i, _ in rows]
        if indices != list(range(len(indices))):
            missing = sorted(set(range(max(indices, default=-1) + 1)) - set(indices))
            raise NoItemFound(
                f"dynamodb table {table!r} partition_key {partition_key!r}: indices "
                f"{_ranges(missing)} are missing from a list of {max(indices) + 1}; refusing to "
                "return a list with silent gaps"
            )
        pointers = []
        wheres = []
        for index, record in rows:
            where = f"dynamodb table {table!r} partition_key {partition_key!r} index {index}"
            self._check_fresh(record, where)
            pointers.append(Pointer("dynamodb", table, partition_key, index))
            wheres.append(where)
        # The query already returned the items; only overflowed payloads still need S3.
        prefetched = {Address(table, partition_key, i): r for i, r in rows}
        return self.read_many(pointers, wheres=wheres, prefetched=prefetched)

    def close(self) -> None:
        """Release the worker threads (they are recreated on demand)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None


def _ranges(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return f"[{shown}{', ...' if len(numbers) > 10 else ''}] ({len(numbers)} missing)"
