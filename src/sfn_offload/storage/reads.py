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
  against the list's digest (:mod:`.list_checks`); a list mixing two writes is refused.

Value reads are here; whole lists (Query) are read by :mod:`.partition_reads` on top of them.

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
    ConfigurationError,
    IntegrityError,
    NoItemFound,
    PayloadTooLargeError,
    PointerNotAllowedError,
)
from ..wire.codec import inflate, loads_taking, verify
from ..wire.pointer import Pointer
from .base import Address, PartitionStore, PayloadStore, Record
from .list_checks import check_member
from .pages import page_address
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
        verified: bool = False,
    ) -> Loaded:
        """Load value pointers with the fewest requests; values come back in pointer order.

        DynamoDB pointers are fetched with BatchGetItem (100 keys a request, consistent reads), S3
        objects concurrently, direct S3 pointers and overflowed items in one second hop.
        ``trusted=False`` (pointers from an event) enforces the allow-lists before any request.
        ``max_bytes`` caps the total JSON bytes loaded (and what any one object may hold).
        ``lists`` gives, for an element of a list, the list pointer: when it carries the list's
        digest, the element must prove it belongs to that list (its list's proof page is read in
        the same request as the element); without, the element must match the digest its page
        records for it. An element of a list is checked against its page whether or not ``lists``
        says so (its page is then read in a second request); ``verified`` (the prefetched
        elements of a list checked whole) skips that.
        """
        wheres = wheres or [p.describe() for p in pointers]
        lists = lists or [None] * len(pointers)
        self._check_request(pointers, wheres, trusted=trusted, max_bytes=max_bytes)
        loaded = Loaded([], [], ReadStats(pointers=len(pointers)))
        # An element of a list is read with its list's proof page (same request); an element
        # found without one (a plain get_item of an index) has its page read in a second.
        pages = {
            i: page_address(p.container, p.key, p.index)
            for i, (p, parent) in enumerate(zip(pointers, lists, strict=True))
            if parent is not None and p.backend == "dynamodb"
        }
        ddb = [Address(p.container, p.key, p.index) for p in pointers if p.backend == "dynamodb"]
        if prefetched is None:
            prefetched = self.dynamodb.get_many([*ddb, *pages.values()]) if ddb else {}
        elif pages:
            prefetched = {**prefetched, **self.dynamodb.get_many(list(pages.values()))}
        if not verified:
            late = _unpaged_elements(pointers, prefetched, pages)
            if late:
                pages.update(late)
                prefetched = {**prefetched, **self.dynamodb.get_many(list(late.values()))}
        # (Pages are not payloads: not counted.)
        loaded.stats.dynamodb_items = (
            len(set(ddb) & prefetched.keys()) if pages else len(prefetched)
        )
        sources = self._sources(pointers, wheres, prefetched, trusted=trusted)
        s3_addresses = [address for _, address in sources if address is not None]
        objects = {}
        if s3_addresses:
            limits = _s3_limits(pointers, sources, max_bytes)
            objects = self.s3.get_many(s3_addresses, max_bytes=limits)
        loaded.stats.s3_objects = len(objects)
        # Release each object's bytes after its last use: hydrating a 50 MB payload should not
        # hold the body and the parsed value longer than needed.
        uses = Counter(s3_addresses)
        for position, (pointer, where, parent, (item, address)) in enumerate(
            zip(pointers, wheres, lists, sources, strict=True)
        ):
            found: Record | None = None
            if address is None:
                assert item is not None
                record = item
            else:
                uses[address] -= 1
                found = objects.get(address) if uses[address] else objects.pop(address, None)
                record = self._object(found, address, pointer, item, where, max_bytes)
            if position in pages:
                page = prefetched.get(pages[position])
                check_member(item or record, pointer.index, parent, page, where)
            loaded.stats.stored_bytes += len(record.body or b"")
            remaining = None if max_bytes is None else max_bytes - loaded.stats.json_bytes
            raw, legacy = self._stored_json(pointer, item, record, where, remaining)
            size = len(raw)
            held = [raw]
            # The last references to an object's bytes here go before its value is built: the
            # parser then holds the text and the value, not the bytes too.
            del raw, found, record
            value = loads_taking(held, where=where, allow_constants=legacy)
            loaded.stats.json_bytes += size
            loaded.values.append(value)
            loaded.json_sizes.append(size)
        return loaded

    def _check_request(
        self,
        pointers: Sequence[Pointer],
        wheres: Sequence[str],
        *,
        trusted: bool,
        max_bytes: int | None,
    ) -> None:
        """What is refused before any request: names off the allow-lists (for untrusted
        pointers) and recorded sizes over the cap."""
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

    def _object(
        self,
        found: Record | None,
        address: Address,
        pointer: Pointer,
        item: Record | None,
        where: str,
        max_bytes: int | None,
    ) -> Record:
        """The S3 object read for ``pointer``, refused when missing, expired or left unread."""
        if found is None:
            raise NoItemFound(
                f"{where}: no S3 object at bucket {address.container!r} key "
                f"{address.key!r} (never written, or expired by the bucket's lifecycle)"
            )
        self.check_fresh(found, where, what="S3 object")
        if found.body is None:
            raise _unread(pointer, item, where, max_bytes)
        return found

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
    def _stored_json(
        pointer: Pointer, item: Record | None, record: Record, where: str, remaining: int | None
    ) -> tuple[bytes, bool]:
        """The JSON bytes of a record checked against its pointer (and item), inflated, and
        whether they may hold py2sfn's ``NaN``/``Infinity`` (written by py2sfn-task-tools)."""
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
        # (Elements of a paged list record no digest: theirs is checked against the list's.)
        legacy = pointer.sha256 is None and recorded.sha256 is None and recorded.tag is None
        return inflate(body, encoding, where=where, max_bytes=remaining), legacy


def _unpaged_elements(
    pointers: Sequence[Pointer], items: dict[Address, Record], pages: dict[int, Address]
) -> dict[int, Address]:
    """The page addresses of the list elements read without their page."""
    late = {}
    for position, pointer in enumerate(pointers):
        if position in pages or pointer.backend != "dynamodb":
            continue
        item = items.get(Address(pointer.container, pointer.key, pointer.index))
        if item is not None and item.tag is not None and item.member is None:
            late[position] = page_address(pointer.container, pointer.key, pointer.index)
    return late


def _s3_limits(
    pointers: Sequence[Pointer],
    sources: Sequence[tuple[Record | None, Address | None]],
    max_bytes: int | None,
) -> dict[Address, int]:
    """The most each S3 object may hold: what its pointer (or item) records, else the cap."""
    limits: dict[Address, int] = {}
    for pointer, (item, address) in zip(pointers, sources, strict=True):
        if address is not None:
            limit = _recorded_size(pointer, item)
            if limit is None:
                limit = max_bytes
            if limit is not None:
                limits[address] = min(limits.get(address, limit), limit)
    return limits


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


def _short(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")
