"""Verified reads: the fewest requests, every check before the request it guards, every byte
checked.

- **Before any request:** pointers from an event name only allowed tables and buckets, and S3
  keys only inside the prefixes sfn-offload writes (:meth:`Reads.check_allowed`); sizes a pointer
  records, and list lengths, are checked against the hydration cap.
- **Before reading a body:** an S3 object longer than its pointer (or its item) records, or than
  the cap left, is not read (its ``ContentLength`` says so); a partition is read only up to the
  list's length, and no further than the cap.
- **While decoding:** gzip inflates no further than the cap.
- **After:** size and SHA-256 against the pointer and the item's own record; list elements
  against the list's digest (:mod:`sfn_offload.wire.merkle`); a list mixing two writes is refused.

Items and S3 objects past their recorded expiry are refused (:class:`~sfn_offload.NoItemFound`)
even while DynamoDB TTL or the lifecycle rule has not deleted them yet: both delete late (TTL
within about two days, lifecycle once a day). Messages name what the *pointer* says, never the
size or digest of what is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._config import OffloadConfig
from ..errors import (
    ConcurrentWriteError,
    ConfigurationError,
    IntegrityError,
    NoItemFound,
    PayloadTooLargeError,
    PointerNotAllowedError,
)
from ..wire import merkle
from ..wire.codec import inflate, loads, verify
from ..wire.pointer import Pointer
from .base import Address, PartitionStore, PayloadStore, Record
from .tiering import LEGACY_S3_PREFIX

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
        """Refuse a pointer (from untrusted input) naming a table/bucket not on the allow-list,
        or an S3 key outside the prefix sfn-offload writes (``s3_prefix``)."""
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
        if pointer.backend == "s3":
            self.check_key(pointer.key, where, prefixes=(self.config.s3_prefix,))

    def check_key(self, key: str, where: str, *, prefixes: Sequence[str]) -> None:
        """Refuse an S3 key outside ``prefixes`` (an empty prefix admits every key)."""
        if not any(key.startswith(prefix) for prefix in prefixes):
            shown = ", ".join(repr(p) for p in prefixes)
            raise PointerNotAllowedError(
                f"{where}: S3 key {_short(key)} is outside the prefixes sfn-offload writes "
                f"({shown}); a pointer may only name objects the library wrote"
            )

    def load_many(
        self,
        pointers: Sequence[Pointer],
        *,
        trusted: bool = True,
        max_bytes: int | None = None,
        wheres: Sequence[str] | None = None,
        prefetched: dict[Address, Record] | None = None,
        lists: Sequence[Pointer | None] | None = None,
    ) -> Loaded:
        """Load value pointers with the fewest requests; values come back in pointer order.

        DynamoDB pointers are fetched with BatchGetItem (100 keys a request, consistent reads), S3
        objects concurrently, direct S3 pointers and overflowed items in one second hop.
        ``trusted=False`` (pointers from an event) enforces the allow-lists before any request.
        ``max_bytes`` caps the total JSON bytes loaded (and what any one object may hold).
        ``lists`` gives, for an element of a list, the list pointer: when it carries the list's
        digest, the element must prove it belongs to that list.
        """
        wheres = wheres or [p.describe() for p in pointers]
        lists = lists or [None] * len(pointers)
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
        limits: dict[Address, int] = {}
        for pointer, (item, address) in zip(pointers, sources, strict=True):
            if address is not None:
                limit = _recorded_size(pointer, item)
                if limit is None:
                    limit = max_bytes
                if limit is not None:
                    limits[address] = min(limits.get(address, limit), limit)
        s3_addresses = [address for _, address in sources if address is not None]
        objects = self.s3.get_many(s3_addresses, max_bytes=limits) if s3_addresses else {}
        loaded.stats.s3_objects = len(objects)
        # Release each object's bytes after its last use: hydrating a 50 MB payload should not
        # hold the body and the parsed value longer than needed.
        uses = Counter(s3_addresses)
        for pointer, where, parent, (item, address) in zip(
            pointers, wheres, lists, sources, strict=True
        ):
            if address is not None:
                uses[address] -= 1
                found = objects.get(address) if uses[address] else objects.pop(address, None)
                if found is None:
                    raise NoItemFound(
                        f"{where}: no S3 object at bucket {address.container!r} key "
                        f"{address.key!r} (never written, or expired by the bucket's lifecycle)"
                    )
                self.check_fresh(found, where, what="S3 object")
                if found.body is None:
                    raise _unread(pointer, item, where, max_bytes)
                record = found
            else:
                assert item is not None
                record = item
            if parent is not None and parent.sha256 is not None:
                _check_member(item or record, pointer.index, parent, where)
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
                f"{where}: the {what} expired (TTL {self.config.ttl_days} days) and is awaiting "
                f"deletion by {cleaner}"
            )

    def _overflow_address(self, redirect: Address, where: str, *, trusted: bool) -> Address:
        bucket = redirect.container or self.config.bucket
        if not bucket:
            raise ConfigurationError(
                f"{where}: the item's payload is in S3 at key {redirect.key!r} but the item does "
                "not name its bucket (written by py2sfn-task-tools) and no bucket is configured: "
                "set SFN_OFFLOAD_BUCKET or SFN_DATA_S3_BUCKET"
            )
        if not trusted:
            if redirect.container and bucket not in self.config.allowed_buckets:
                raise PointerNotAllowedError(
                    f"{where}: the item's payload is in bucket {bucket!r}, which is not allowed "
                    f"(allowed: {sorted(self.config.allowed_buckets) or 'none configured'})"
                )
            self.check_key(
                redirect.key, where, prefixes=(f"{LEGACY_S3_PREFIX}/", self.config.s3_prefix)
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
            verify(body, size=recorded.size, sha256=recorded.sha256, where=where, from_input=False)
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
        root: str | None = None,
    ) -> Loaded:
        """A list stored one item per index, read with Query: one request per MB of items.

        Reads consistently and refuses gaps (a missing index means a lost element, which
        py2sfn-task-tools silently skipped). With ``count``, indices ``0..count-1`` must all be
        there and no others are read. With ``root`` (the list pointer's digest) the elements
        must hash to it, and a partition key ending in a list digest (``:list-<20 hex>``, the
        decorator's fan-out lists) must be that of its elements; elements that record their list
        (every list sfn-offload writes) must all record the same one, complete: a mix of two
        writes raises :class:`~sfn_offload.errors.ConcurrentWriteError`. ``max_bytes`` bounds
        what is read: a ``count`` over it is refused before any request, and the Query stops
        once past it.
        """
        where = where or f"dynamodb table {table!r} partition_key {partition_key!r}"
        if max_bytes is not None and count is not None and count > max_bytes:
            # Each element takes at least one JSON byte: refused before anything is read.
            raise PayloadTooLargeError(
                f"{where}: a list of {count} elements is over the {max_bytes}-byte hydration cap"
            )
        rows = self.dynamodb.query(table, partition_key, below=count, max_bytes=max_bytes)
        if count is not None:
            rows = [(i, r) for i, r in rows if i < count]
        expected = count if count is not None else max((i for i, _ in rows), default=-1) + 1
        _check_one_write(rows, where)  # before gaps: a concurrent writer may have made them
        if len(rows) != expected:
            raise NoItemFound(
                f"{where}: indices {_missing(rows, expected)} are missing from a list of "
                f"{expected}; refusing to return a list with silent gaps"
            )
        # What a digest vouches for first (a replaced element is an integrity error), then the
        # elements' own record of their list (a mix of two writes).
        _check_key_digest(rows, partition_key, where)
        _check_list(rows, root, where)
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

    def element_by_key_digest(self, element: Pointer, count: int, where: str) -> Pointer:
        """The pointer to element ``element.index`` of the list ``count`` long whose partition
        key ends in its digest, with the element's size and SHA-256 from the list: one keys-only
        Query of the list's digests, checked against the key.

        What a Map iteration reads when its element reference carries no list digest but names
        a list by its digest: the element is then verified against the list, wherever it lives.
        """
        suffix = merkle.key_digest(element.key)
        if suffix is None:
            raise IntegrityError(f"{where}: the list's key carries no digest")
        rows = self.dynamodb.query(element.container, element.key, keys_only=True, below=count)
        if len(rows) != count or [i for i, _ in rows] != list(range(count)):
            raise NoItemFound(f"{where}: elements are missing from the list of {count}")
        _check_key_digest(rows, element.key, where)
        record = rows[element.index][1]
        return Pointer(
            "dynamodb",
            element.container,
            element.key,
            element.index,
            record.size,
            record.sha256,
            record.encoding,
        )


def _check_key_digest(rows: Sequence[tuple[int, Record]], partition_key: str, where: str) -> None:
    """Refuse a list whose partition key ends in a digest (``:list-<20 hex>``) its elements do
    not have."""
    suffix = merkle.key_digest(partition_key)
    if suffix is None:
        return
    leaves = [r.sha256 for _, r in rows]
    if (
        any(d is None for d in leaves)
        or any(r.size is None for _, r in rows)
        or merkle.flat_digest([d or "" for d in leaves])[: len(suffix)] != suffix
    ):
        raise IntegrityError(
            f"{where}: the elements stored do not have the digest the list's key carries (an "
            "element was replaced, removed or added); refusing the list"
        )


def _recorded_size(pointer: Pointer, item: Record | None) -> int | None:
    """The stored size the pointer (or, for an overflowed item, the item) vouches for."""
    if pointer.size is not None:
        return pointer.size
    return item.size if item is not None else None


def _unread(
    pointer: Pointer, item: Record | None, where: str, max_bytes: int | None
) -> IntegrityError | PayloadTooLargeError:
    """The error for an object left unread because it is longer than it may be."""
    recorded = _recorded_size(pointer, item)
    if recorded is not None and (max_bytes is None or recorded <= max_bytes):
        # The pointer's size came with the input; an item's is stored data, not repeated.
        said = (
            f"the {recorded} bytes the pointer records" if pointer.size else "what its item records"
        )
        return IntegrityError(
            f"{where}: the stored object is not {said} (truncated, extended or replaced); it was "
            "not read"
        )
    return PayloadTooLargeError(
        f"{where}: the stored object is over the {max_bytes}-byte hydration cap; it was not read"
    )


def _check_member(record: Record, index: int, parent: Pointer, where: str) -> None:
    """Refuse an element that cannot prove it belongs to the list ``parent`` names."""
    member = record.member
    if (
        member is None
        or record.sha256 is None
        or member.root != parent.sha256
        or member.count != parent.count
        or not merkle.verify(record.sha256, index, member.count, member.proof, member.root)
    ):
        raise IntegrityError(
            f"{where}: the element is not element {index} of the list its reference names (its "
            "digest does not lead to the list's); it was replaced, or belongs to another list"
        )


def _check_list(rows: Sequence[tuple[int, Record]], root: str | None, where: str) -> None:
    """Refuse a list that is not the one ``root`` names, or (without it) a mix of two writes."""
    if not rows and root is None:
        return
    if root is not None:
        leaves = [r.sha256 for _, r in rows]
        if any(d is None for d in leaves) or merkle.root_of([d or "" for d in leaves]) != root:
            raise IntegrityError(
                f"{where}: the elements stored do not hash to the list's digest in the pointer "
                "(an element was replaced, removed or added); refusing the list"
            )
        return
    members = [r.member for _, r in rows]
    if any(m is None for m in members):
        # Written element by element with put_item (py2sfn), or by py2sfn-task-tools: nothing
        # records the list as a whole.
        return
    roots = {(m.root, m.count) for m in members if m is not None}
    digests = [r.sha256 or "" for _, r in rows]
    if len(roots) != 1:
        raise ConcurrentWriteError(
            f"{where}: the list holds elements of {len(roots)} different writes (two writers of "
            "this key ran at once); refusing a mixed list"
        )
    ((list_root, list_count),) = roots
    if list_count != len(rows) or merkle.root_of(digests) != list_root:
        raise ConcurrentWriteError(
            f"{where}: the list's elements are not those of one write (elements missing, extra or "
            "from a concurrent write); refusing it"
        )


def _check_one_write(rows: Sequence[tuple[int, Record]], where: str) -> None:
    """Refuse rows that record different lists (elements of two writes)."""
    lists = {(r.member.root, r.member.count) for _, r in rows if r.member is not None}
    if len(lists) > 1:
        raise ConcurrentWriteError(
            f"{where}: the list holds elements of {len(lists)} different writes (two writers of "
            "this key ran at once); refusing a mixed list"
        )


def _missing(rows: Sequence[tuple[int, Record]], expected: int, shown: int = 10) -> str:
    """The first missing indices of ``0..expected-1`` (and how many), without listing them all:
    ``expected`` may come from an untrusted count."""
    present = {i for i, _ in rows}
    first: list[int] = []
    index = 0
    while len(first) < shown and index < expected:
        if index not in present:
            first.append(index)
        index += 1
    total = expected - sum(1 for i in present if i < expected)
    more = ", ..." if total > len(first) else ""
    return f"[{', '.join(map(str, first))}{more}] ({total} missing)"


def _short(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")
