"""Reads of a list stored one item per index: a whole partition with Query, or the digest of a
list named by its key digest (for checking one element). Mixed into
:class:`~sfn_offload.storage.PayloadRepository` over the value reads of :mod:`.reads`."""

from __future__ import annotations

from typing import Any

from ..errors import IntegrityError, NoItemFound, PayloadTooLargeError
from ..wire import merkle
from ..wire.pointer import Pointer
from .base import Address
from .list_checks import (
    check_key_digest,
    check_list,
    check_one_write,
    element_digest,
    missing,
    paged,
)
from .pages import pages_key, read_page
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
        writes raises :class:`~sfn_offload.errors.ConcurrentWriteError`. Only that last check,
        for a list without either digest, reads anything more: one Query of the list's proof
        pages. ``max_bytes`` bounds what is read: a ``count`` over it is refused before any
        request, and the Query stops once past it.
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
        digests = [element_digest(r) for _, r in rows]
        check_key_digest(rows, digests, partition_key, where)
        pages = None
        if root is None and merkle.key_digest(partition_key) is None and paged(rows):
            pages = self.dynamodb.query(
                table, pages_key(partition_key), below=merkle.page_count(len(rows))
            )
        check_list(rows, digests, root, where, pages=pages)
        pointers = []
        wheres = []
        for index, record in rows:
            self.check_fresh(record, f"{where} index {index}")
            pointers.append(Pointer("dynamodb", table, partition_key, index))
            wheres.append(f"{where} index {index}")
        # The query already returned the items; only overflowed payloads still need S3.
        prefetched = {Address(table, partition_key, i): r for i, r in rows}
        return self.load_many(
            pointers,
            trusted=trusted,
            max_bytes=max_bytes,
            wheres=wheres,
            prefetched=prefetched,
            verified=True,
        )

    def list_by_key_digest(self, element: Pointer, count: int, where: str) -> Pointer:
        """The list pointer, with the list's digest (root), of the list ``count`` long that
        ``element`` indexes, whose partition key ends in its flat digest: read from the list's
        proof pages (one Query; for a list written by 0.1.0, which has none, one more of the
        elements' recorded digests), and checked against the key.

        What a Map iteration reads when its element reference carries no list digest but names
        a list by its digest: the element is then verified against the root, wherever it lives.
        """
        suffix = merkle.key_digest(element.key)
        if suffix is None:
            raise IntegrityError(f"{where}: the list's key carries no digest")
        table = element.container
        pages = self.dynamodb.query(table, pages_key(element.key), below=merkle.page_count(count))
        digests: list[str | None]
        if pages:
            found = [read_page(record) for _, record in pages]
            digests = [
                d.hex()
                for page in found
                if page is not None and page.count == count
                for d in page.digests
            ]
            if len(digests) != count or [i for i, _ in pages] != list(range(len(pages))):
                raise IntegrityError(
                    f"{where}: the list's proof pages do not record the {count} elements of "
                    "the list; refusing it"
                )
        else:  # written by sfn-offload 0.1.0: every element records its digest
            rows = self.dynamodb.query(table, element.key, keys_only=True, below=count)
            if len(rows) != count or [i for i, _ in rows] != list(range(count)):
                raise NoItemFound(f"{where}: elements are missing from the list of {count}")
            digests = [r.sha256 for _, r in rows]
            if any(r.size is None for _, r in rows):
                digests = []
        if (
            len(digests) != count
            or any(d is None for d in digests)
            or merkle.flat_digest([d or "" for d in digests])[: len(suffix)] != suffix
        ):
            raise IntegrityError(
                f"{where}: the elements stored do not have the digest the list's key carries (an "
                "element was replaced, removed or added); refusing the list"
            )
        root = merkle.root_of([d or "" for d in digests])
        return Pointer("dynamodb", table, element.key, sha256=root, count=count)
