"""Verified reads: the fewest requests, allow-lists before any of them, every byte checked.

Every load checks size and SHA-256 against the pointer (and the item's own record of them),
then decodes. Items and S3 objects past their recorded expiry are refused
(:class:`~sfn_offload.NoItemFound`) even while DynamoDB TTL or the lifecycle rule has not
deleted them yet: both delete late (TTL within about two days, lifecycle once a day).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._config import OffloadConfig
from ..errors import (
    ConfigurationError,
    IntegrityError,
    NoItemFound,
    PayloadTooLargeError,
    PointerNotAllowedError,
)
from ..wire.codec import inflate, loads, verify
from ..wire.pointer import Pointer
from .base import Address, PartitionStore, PayloadStore, Record

__all__ = ["Loaded", "ReadStats", "Reads"]


@dataclass
class ReadStats:
    """What one batch load did (for logs and metrics; never holds payloads)."""

    pointers: int = 0
    dynamodb_items: int = 0
    s3_objects: int = 0
    stored_bytes: int = 0
    json_bytes: int = 0

    def __str__(self) -> str:
        return (
            f"hydrated {self.pointers} reference(s): {self.dynamodb_items} DynamoDB item(s), "
            f"{self.s3_objects} S3 object(s), {self.stored_bytes} stored bytes, "
            f"{self.json_bytes} JSON bytes"
        )

    def metrics(self) -> list[tuple[str, str, int]]:
        """``(name, unit, value)`` of what is worth a metric; empty when nothing was loaded."""
        if not self.pointers:
            return []
        return [
            ("HydratedPointers", "Count", self.pointers),
            ("HydratedBytes", "Bytes", self.json_bytes),
        ]

    def add(self, other: ReadStats) -> None:
        """Add another load's counts to these."""
        self.pointers += other.pointers
        self.dynamodb_items += other.dynamodb_items
        self.s3_objects += other.s3_objects
        self.stored_bytes += other.stored_bytes
        self.json_bytes += other.json_bytes


@dataclass
class Loaded:
    """The values of one batch load, in pointer order, their JSON sizes, and its stats."""

    values: list[Any]
    json_sizes: list[int]
    stats: ReadStats = field(default_factory=ReadStats)


class Reads:
    """Verified reads, mixed into :class:`~sfn_offload.storage.PayloadRepository`."""

    config: OffloadConfig
    dynamodb: PartitionStore
    s3: PayloadStore
    clock: Callable[[], float]

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

    def load_many(
        self,
        pointers: Sequence[Pointer],
        *,
        trusted: bool = True,
        max_bytes: int | None = None,
        wheres: Sequence[str] | None = None,
        prefetched: dict[Address, Record] | None = None,
    ) -> Loaded:
        """Load value pointers with the fewest requests; values come back in pointer order.

        DynamoDB pointers are fetched with BatchGetItem (100 keys a request, consistent reads), S3
        objects concurrently, direct S3 pointers and overflowed items in one second hop.
        ``trusted=False`` (pointers from an event) enforces the allow-lists before any request.
        ``max_bytes`` caps the total JSON bytes loaded.
        """
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
        loaded = Loaded([], [], ReadStats(pointers=len(pointers)))
        if prefetched is None:
            ddb = [
                Address(p.container, p.key, p.index) for p in pointers if p.backend == "dynamodb"
            ]
            prefetched = self.dynamodb.get_many(ddb) if ddb else {}
        loaded.stats.dynamodb_items = len(prefetched)
        sources = self._sources(pointers, wheres, prefetched, trusted=trusted)
        s3_addresses = [address for _, address in sources if address is not None]
        objects = self.s3.get_many(s3_addresses) if s3_addresses else {}
        loaded.stats.s3_objects = len(objects)
        # Release each object's bytes after its last use: hydrating a 50 MB payload should not
        # hold the body and the parsed value longer than needed.
        uses = Counter(s3_addresses)
        for pointer, where, (item, address) in zip(pointers, wheres, sources, strict=True):
            if address is not None:
                uses[address] -= 1
                found = objects.get(address) if uses[address] else objects.pop(address, None)
                if found is None:
                    raise NoItemFound(
                        f"{where}: no S3 object at bucket {address.container!r} key "
                        f"{address.key!r} (never written, or expired by the bucket's lifecycle)"
                    )
                self.check_fresh(found, where, what="S3 object")
                record = found
            else:
                assert item is not None
                record = item
            loaded.stats.stored_bytes += len(record.body or b"")
            remaining = None if max_bytes is None else max_bytes - loaded.stats.json_bytes
            value, size = self._decode(pointer, item, record, where, remaining)
            loaded.stats.json_bytes += size
            loaded.values.append(value)
            loaded.json_sizes.append(size)
        return loaded

    def read_many(
        self, pointers: Sequence[Pointer], *, trusted: bool = True, max_bytes: int | None = None
    ) -> list[Any]:
        """The values of ``pointers``, in order (see :meth:`load_many`)."""
        return self.load_many(pointers, trusted=trusted, max_bytes=max_bytes).values

    def _sources(
        self,
        pointers: Sequence[Pointer],
        wheres: Sequence[str],
        items: dict[Address, Record],
        *,
        trusted: bool,
    ) -> list[tuple[Record | None, Address | None]]:
        """For each pointer, its item (DynamoDB) and the S3 object still to read, if any."""
        sources: list[tuple[Record | None, Address | None]] = []
        for pointer, where in zip(pointers, wheres, strict=True):
            if pointer.backend == "s3":
                sources.append((None, Address(pointer.container, pointer.key, pointer.index)))
                continue
            item = items.get(Address(pointer.container, pointer.key, pointer.index))
            if item is None:
                raise NoItemFound(
                    f"{where}: no such item (never written, or expired and deleted by TTL)"
                )
            self.check_fresh(item, where)
            overflow = None
            if item.redirect is not None:
                overflow = self._overflow_address(item.redirect, where, trusted=trusted)
            sources.append((item, overflow))
        return sources

    def check_fresh(self, record: Record, where: str, *, what: str = "item") -> None:
        """Refuse a record past its recorded expiry (deletion by TTL or lifecycle runs late)."""
        if record.expires_at is not None and record.expires_at < self.clock():
            cleaner = "TTL" if what == "item" else "the bucket's lifecycle rule"
            raise NoItemFound(
                f"{where}: the {what} expired at {record.expires_at} (epoch seconds; TTL "
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

    @staticmethod
    def _decode(
        pointer: Pointer, item: Record | None, record: Record, where: str, remaining: int | None
    ) -> tuple[Any, int]:
        body = record.body
        if body is None:
            raise NoItemFound(f"{where}: the stored record has no payload")
        # The pointer's size/digest are authoritative; an item also records its own (which is all
        # py2sfn-written pointers can be checked against, when present).
        verify(body, size=pointer.size, sha256=pointer.sha256, where=where)
        recorded = item if item is not None else record
        if (recorded.sha256, recorded.size) != (pointer.sha256, pointer.size):
            # Hash again only when the item records something the pointer did not vouch for.
            verify(body, size=recorded.size, sha256=recorded.sha256, where=where)
        encoding = recorded.encoding if pointer.sha256 is None else pointer.encoding
        if (
            pointer.sha256 is not None
            and recorded.sha256 is not None
            and recorded.encoding != pointer.encoding
        ):
            raise IntegrityError(
                f"{where}: stored encoding {recorded.encoding!r} differs from the pointer's "
                f"{pointer.encoding!r}"
            )
        legacy = pointer.sha256 is None and recorded.sha256 is None
        raw = inflate(body, encoding, where=where, max_bytes=remaining)
        return loads(raw, where=where, allow_constants=legacy), len(raw)

    def read_partition(self, table: str, partition_key: str) -> list[Any]:
        """Every element of a list written in item layout (py2sfn ``get_items``)."""
        return self.load_partition(table, partition_key).values

    def load_partition(
        self,
        table: str,
        partition_key: str,
        *,
        count: int | None = None,
        trusted: bool = True,
        max_bytes: int | None = None,
        where: str | None = None,
    ) -> Loaded:
        """A list stored one item per index, read with Query: one request per MB of items.

        Reads consistently and refuses gaps (a missing index means a lost element, which
        py2sfn-task-tools silently skipped). With ``count``, indices ``0..count-1`` must all be
        there and others are not part of the list.
        """
        where = where or f"dynamodb table {table!r} partition_key {partition_key!r}"
        rows = self.dynamodb.query(table, partition_key, keys_only=False)
        if count is not None:
            rows = [(i, r) for i, r in rows if i < count]
        expected = count if count is not None else max((i for i, _ in rows), default=-1) + 1
        if len(rows) != expected:
            missing = sorted(set(range(expected)) - {i for i, _ in rows})
            raise NoItemFound(
                f"{where}: indices {_ranges(missing)} are missing from a list of {expected}; "
                "refusing to return a list with silent gaps"
            )
        pointers = []
        wheres = []
        for index, record in rows:
            self.check_fresh(record, f"{where} index {index}")
            pointers.append(Pointer("dynamodb", table, partition_key, index))
            wheres.append(f"{where} index {index}")
        # The query already returned the items; only overflowed payloads still need S3.
        prefetched = {Address(table, partition_key, i): r for i, r in rows}
        return self.load_many(
            pointers, trusted=trusted, max_bytes=max_bytes, wheres=wheres, prefetched=prefetched
        )


def _ranges(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return f"[{shown}{', ...' if len(numbers) > 10 else ''}] ({len(numbers)} missing)"
