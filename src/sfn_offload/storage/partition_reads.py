"""Reads of a list stored one item per index: a whole partition with Query, or one element
checked against the list's key digest. Mixed into :class:`~sfn_offload.storage.PayloadRepository`
over the value reads of :mod:`.reads`."""

from __future__ import annotations

from typing import Any

from ..errors import IntegrityError, NoItemFound, PayloadTooLargeError
from ..wire import merkle
from ..wire.pointer import Pointer
from .base import Address
from .list_checks import check_key_digest, check_list, check_one_write, missing
from .reads import Loaded, Reads

__all__ = ["PartitionReads"]


class PartitionReads(Reads):
    """Partition reads (py2sfn ``get_items``, fan-out lists, Map results) over :class:`Reads`."""

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
        check_one_write(rows, where)  # before gaps: a concurrent writer may have made them
        if len(rows) != expected:
            raise NoItemFound(
                f"{where}: indices {missing(rows, expected)} are missing from a list of "
                f"{expected}; refusing to return a list with silent gaps"
            )
        # What a digest vouches for first (a replaced element is an integrity error), then the
        # elements' own record of their list (a mix of two writes).
        check_key_digest(rows, partition_key, where)
        check_list(rows, root, where)
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
        check_key_digest(rows, element.key, where)
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
