"""Writes in both layouts (see :mod:`.tiering`), with their ordering and clean-up rules.

- **Write before pointer.** A pointer is returned only after every write it depends on
  returned; S3 payloads are written before the items that name them.
- **Deterministic keys.** Addresses derive from (namespace, key, index), so a retried task
  overwrites its own earlier attempt; replaced S3 overflow objects no item names any more are
  deleted. One case is left to expiry: in value layout, a payload that changes tier at the same
  address (large to S3, then small into an item, or the reverse) leaves the earlier copy, because
  finding it would cost a request on every write. The decorator's keys end in the payload's
  digest, so its retries never hit this; the stale copy is never read (pointers name exactly
  what was written with them) and expires with the TTL and the bucket's lifecycle rule.
- **No write destroys what a pointer names.** An object never replaces another: value-layout
  keys end in the payload's digest (:func:`~.tiering.unique_key`: equal keys, equal bytes), and
  item-layout overflow keys are unique per write (:func:`~.tiering.overflow_key`). Writing an
  address again, concurrently or after a failure, never touches the object the current item
  names; a write that fails deletes only its own objects (and none a committed item names).
- **Lists are one write.** Each element of a list written by :meth:`Writes.write_items` records
  a tag of the list's digest, and the list's proof pages (:mod:`.pages`) record the digest, the
  length and every element's digest and proof (:mod:`sfn_offload.wire.merkle`), so a reader can
  tell the elements of one write from a mix of two concurrent ones, and check one element alone.
  The pages are written before the elements: an element carrying a write's tag means that
  write's pages were all stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence

from .._config import OffloadConfig
from ..errors import ConfigurationError, SfnOffloadError
from ..wire import merkle
from ..wire.codec import Encoded
from ..wire.pointer import Pointer
from .base import Address, PartitionStore, PayloadStore, Record
from .pages import page_records, pages_key, tag_of
from .tiering import place_in_item, place_value

__all__ = ["Writes"]


class Writes:
    """Writes in both layouts, mixed into :class:`~sfn_offload.storage.PayloadRepository`."""

    config: OffloadConfig
    dynamodb: PartitionStore
    s3: PayloadStore

    def expires_at(self) -> int:  # provided by the repository
        raise NotImplementedError

    def require_table(self, table: str | None) -> str:
        table = table or self.config.table
        if not table:
            raise ConfigurationError(
                "no DynamoDB table configured: pass a table name or set SFN_OFFLOAD_TABLE"
            )
        return table

    def write_value(
        self,
        partition_key: str,
        index: int,
        encoded: Encoded,
        *,
        table: str | None = None,
    ) -> Pointer:
        """One payload in value layout: an item if it fits the budget, else an S3 object."""
        placement = place_value(
            self.config, partition_key, index, encoded, self.expires_at(), table=table
        )
        if placement.obj is not None:
            self.s3.put(*placement.obj)
        if placement.item is not None:
            address, record = placement.item
            old = self.dynamodb.put(address, record)
            self.delete_replaced_overflow({index: old} if old else {}, {index: record})
        return placement.pointer

    def write_values(self, entries: Sequence[tuple[str, Encoded]]) -> list[Pointer]:
        """Several payloads in value layout at index 0: items in batches, objects concurrently.

        Equal keys mean equal payloads (callers end keys in the payload's digest), so duplicates
        share one write: BatchWriteItem refuses two writes to one key.
        """
        expires_at = self.expires_at()
        items: dict[Address, Record] = {}
        objects: dict[Address, Record] = {}
        pointers = []
        for partition_key, encoded in entries:
            placement = place_value(self.config, partition_key, 0, encoded, expires_at)
            if placement.item is not None:
                items[placement.item[0]] = placement.item[1]
            if placement.obj is not None:
                objects[placement.obj[0]] = placement.obj[1]
            pointers.append(placement.pointer)
        if objects:
            self.s3.put_many(list(objects.items()))
        if items:
            self.dynamodb.put_many(list(items.items()))
        return pointers

    def write_item(
        self, table: str | None, partition_key: str, index: int, encoded: Encoded
    ) -> Pointer:
        """One payload in item layout (py2sfn ``put_item``)."""
        table = self.require_table(table)
        placement = place_in_item(
            self.config, table, partition_key, index, encoded, self.expires_at()
        )
        assert placement.item is not None
        s3_writes = [placement.obj] if placement.obj is not None else []
        for obj in s3_writes:
            self.s3.put(*obj)
        with self._undo_on_failure(table, partition_key, s3_writes):
            old = self.dynamodb.put(*placement.item)
        self.delete_replaced_overflow({index: old} if old else {}, {index: placement.item[1]})
        return placement.pointer

    def write_items(self, table: str | None, partition_key: str, encoded: Sequence[Encoded]) -> str:
        """A list element by element at indices ``0..n-1`` (py2sfn ``put_items``); returns the
        list's digest (the Merkle root a list pointer can carry as ``sha256``).

        Items at higher indices left by an earlier, longer list are deleted (and its pages past
        this list's), so reading the partition returns exactly this list. Elements an earlier
        attempt already wrote identically (same payload form and list, TTL at least half left)
        are not written again, so a retried task costs little; when none is written, neither
        are the pages. Every element records the list's tag; the proof pages, written first,
        the rest (:mod:`.pages`).
        """
        table = self.require_table(table)
        expires_at = self.expires_at()
        # The pages carry the root: the tree is hashed once for both.
        pages = merkle.paginate([enc.sha256 for enc in encoded])
        root = pages[0].root if pages else merkle.EMPTY_ROOT
        tag = tag_of(root)
        # Every element is placed (and its size checked) before the first write.
        planned = []
        for i, enc in enumerate(encoded):
            placement = place_in_item(self.config, table, partition_key, i, enc, expires_at)
            assert placement.item is not None
            address, record = placement.item
            planned.append((placement, (address, _as_element(record, tag))))
        existing = dict(self.dynamodb.query(table, partition_key, keys_only=True))
        fresh_enough = expires_at - self.config.ttl_days * 86_400 // 2
        items: list[tuple[Address, Record]] = []
        s3_writes: list[tuple[Address, Record]] = []
        for index, (placement, (address, item)) in enumerate(planned):
            old = existing.get(index)
            if (
                old is not None
                and (old.sha256, old.encoding, old.tag) == (item.sha256, item.encoding, item.tag)
                and old.member is None
                and (old.redirect is None) == (item.redirect is None)
                and (old.expires_at or 0) >= fresh_enough
            ):
                continue  # the same payload of the same list, with its own object if it has one
            items.append((address, item))
            if placement.obj is not None:
                s3_writes.append(placement.obj)
        # The object writes are undone too: put_many failing after some objects were written
        # would otherwise leave those to the lifecycle rule.
        with self._undo_on_failure(table, partition_key, s3_writes):
            if s3_writes:
                self.s3.put_many(s3_writes)
            if items:
                # Pages first: an element with this list's tag vouches that they are all stored
                # (a retry that finds every element in place writes nothing).
                self.dynamodb.put_many(page_records(table, partition_key, pages, expires_at))
                self.dynamodb.put_many(items)
        stale = [Address(table, partition_key, i) for i in existing if i >= len(encoded)]
        stale_pages = {
            i // merkle.PAGE_SIZE
            for i, r in existing.items()
            if r.tag is not None and i // merkle.PAGE_SIZE >= len(pages)
        }
        stale += [Address(table, pages_key(partition_key), p) for p in sorted(stale_pages)]
        if stale:
            self.dynamodb.delete_many(stale)
        new_items = {a.index: r for a, r in items}
        replaced = {i: r for i, r in existing.items() if i >= len(encoded) or i in new_items}
        self.delete_replaced_overflow(replaced, new_items)
        return root

    @contextlib.contextmanager
    def _undo_on_failure(
        self,
        table: str,
        partition_key: str,
        s3_writes: Sequence[tuple[Address, Record]],
    ) -> Iterator[None]:
        """If a write fails, delete the overflow objects no committed item refers to.

        A failed write may still have committed some items (the other batches of a ``put_items``,
        or a request whose response was lost after DynamoDB applied it), and those need their
        objects: the items are read back first and only objects whose item does not hold the new
        record are deleted. If that read fails too, nothing is deleted: the lifecycle rule expires
        them, while deleting could leave an item naming nothing. The item error is what the caller
        sees either way. Deleting is safe because overflow keys are unique per write
        (:func:`~.tiering.overflow_key`): no other writer can be about to name these objects.
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

    def delete_replaced_overflow(self, old: dict[int, Record], new: dict[int, Record]) -> None:
        """Delete S3 overflow objects of replaced or removed items that nothing names any more."""
        orphans = []
        for index, record in old.items():
            if record.redirect is None:
                continue
            replacement = new.get(index)
            if (
                replacement is not None
                and replacement.redirect is not None
                and replacement.redirect.key == record.redirect.key
            ):
                continue  # overwritten in place
            bucket = record.redirect.container or self.config.bucket
            if bucket:
                orphans.append(Address(bucket, record.redirect.key, index))
        if orphans:
            self.s3.delete_many(orphans)


def _as_element(record: Record, tag: str) -> Record:
    """``record`` as an element of the list tagged ``tag``: a payload in the item keeps no digest
    or size (its digest follows from the bytes, and the list's pages record it); an overflowed
    one keeps both (its bytes are in S3)."""
    if record.redirect is None:
        return dataclasses.replace(record, sha256=None, size=None, tag=tag)
    return dataclasses.replace(record, tag=tag)
