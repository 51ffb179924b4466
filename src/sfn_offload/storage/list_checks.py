"""Checks that the elements of a list stored one item per index are the list a reference names.

A list pointer's ``sha256`` is the Merkle root of its elements' digests; a partition key ending
in ``:list-<20 hex>`` carries a flat digest of them (:mod:`sfn_offload.wire.merkle`). Each element
sfn-offload writes records a tag of its list's digest, and the list's proof pages
(:mod:`.pages`) its digest, length and every element's digest and proof; elements written by
sfn-offload 0.1.0 record the digest, length and their own proof instead (``member``). These
functions refuse a list, or an element, that does not add up.

An element's digest is the SHA-256 of its stored bytes: taken from the item when they are in
S3 (the bytes are checked against it as they are read), else computed from the item's payload
(:func:`element_digest`), so that what is checked is what is returned.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConcurrentWriteError, IntegrityError
from ..wire import merkle
from ..wire.codec import digest
from ..wire.pointer import Pointer
from .base import Record
from .pages import read_page, tag_of

__all__ = [
    "check_key_digest",
    "check_list",
    "check_member",
    "check_one_write",
    "element_digest",
    "missing",
]


def element_digest(record: Record) -> str | None:
    """The SHA-256 of an element's stored bytes, ``None`` when nothing records it (items
    py2sfn-task-tools wrote).

    For an element of a paged list (``tag``) whose payload is in the item, computed from it:
    such an item records no digest, and a digest it would carry is not trusted over its bytes.
    """
    if record.tag is not None and record.redirect is None and record.body is not None:
        return digest(record.body)
    return record.sha256


def _sized(record: Record) -> bool:
    """Whether the element's size is known (recorded, or the payload is in the item)."""
    return record.size is not None or (record.tag is not None and record.body is not None)


def check_key_digest(
    rows: Sequence[tuple[int, Record]],
    digests: Sequence[str | None],
    partition_key: str,
    where: str,
) -> None:
    """Refuse a list whose partition key ends in a digest (``:list-<20 hex>``) its elements (of
    ``digests``, from :func:`element_digest`) do not have."""
    suffix = merkle.key_digest(partition_key)
    if suffix is None:
        return
    if (
        any(d is None for d in digests)
        or not all(_sized(r) for _, r in rows)
        or merkle.flat_digest([d or "" for d in digests])[: len(suffix)] != suffix
    ):
        raise IntegrityError(
            f"{where}: the elements stored do not have the digest the list's key carries (an "
            "element was replaced, removed or added); refusing the list"
        )


def check_member(
    record: Record, index: int, parent: Pointer | None, page: Record | None, where: str
) -> None:
    """Refuse an element that cannot prove it belongs to the list ``parent`` names: with its
    list's ``page`` (the record of page ``index // PAGE_SIZE``, ``None`` if there is none), or
    with the proof it records (0.1.0).

    Without the list's digest (``parent`` is ``None`` or carries none), an element of a paged
    list must still be the one its page records (a changed element is refused); other elements
    are checked against their own record, as they are read.
    """
    member = record.member
    root = parent.sha256 if parent is not None else None
    count = parent.count if parent is not None else None
    if root is None and (record.tag is None or member is not None):
        return
    element = element_digest(record)
    if record.tag is not None and member is None:
        found = read_page(page)
        proven = (
            found is not None
            and element is not None
            and (root is None or (found.root, found.count) == (root, count))
            and record.tag == tag_of(found.root)
            and merkle.verify_in_page(element, index, found)
        )
    else:
        proven = (
            member is not None
            and element is not None
            and member.root == root
            and member.count == count
            and merkle.verify(element, index, member.count, member.proof, member.root)
        )
    if not proven:
        raise IntegrityError(
            f"{where}: the element is not element {index} of the list its reference names (its "
            "digest does not lead to the list's); it was replaced, or belongs to another list"
        )


def paged(rows: Sequence[tuple[int, Record]]) -> bool:
    """Whether the rows are elements of a list with proof pages (each records its list's tag)."""
    return bool(rows) and all(r.tag is not None and r.member is None for _, r in rows)


def check_list(
    rows: Sequence[tuple[int, Record]],
    digests: Sequence[str | None],
    root: str | None,
    where: str,
    *,
    pages: Sequence[tuple[int, Record]] | None = None,
) -> None:
    """Refuse a list that is not the one ``root`` names, or (without it) a mix of two writes.

    ``digests`` are the elements' (:func:`element_digest`). Without ``root``, a list whose
    elements record a tag (:func:`paged`) is checked against its ``pages`` (the list's proof
    pages, as a store query returns them); ``pages=None`` skips that (the caller checked the
    list against its key's digest, which says more).
    """
    if not rows and root is None:
        return
    if root is not None:
        if any(d is None for d in digests) or merkle.root_of([d or "" for d in digests]) != root:
            raise IntegrityError(
                f"{where}: the elements stored do not hash to the list's digest in the pointer "
                "(an element was replaced, removed or added); refusing the list"
            )
        return
    if paged(rows):
        if pages is not None:
            _check_pages(rows, digests, pages, where)
        return
    members = [r.member for _, r in rows]
    if any(m is None for m in members):
        # Written element by element with put_item (py2sfn), or by py2sfn-task-tools: nothing
        # records the list as a whole.
        return
    roots = {(m.root, m.count) for m in members if m is not None}
    if len(roots) != 1:
        raise _mixed(len(roots), where)
    ((list_root, list_count),) = roots
    if list_count != len(rows) or merkle.root_of([d or "" for d in digests]) != list_root:
        raise _not_one_write(where)


def _check_pages(
    rows: Sequence[tuple[int, Record]],
    digests: Sequence[str | None],
    pages: Sequence[tuple[int, Record]],
    where: str,
) -> None:
    """Refuse tagged elements that are not those of the write their pages record."""
    found = [read_page(record) for _, record in pages]
    lists = {(p.root, p.count) for p in found if p is not None}
    if (
        len(lists) != 1
        or None in found
        or [i for i, _ in pages] != list(range(merkle.page_count(len(rows))))
    ):
        raise _not_one_write(where)
    ((list_root, list_count),) = lists
    if list_count != len(rows) or any(r.tag != tag_of(list_root) for _, r in rows):
        raise _not_one_write(where)
    if any(d is None for d in digests) or merkle.root_of([d or "" for d in digests]) != list_root:
        # The elements and the pages are of one write: an element changed since.
        raise IntegrityError(
            f"{where}: the elements stored do not hash to the digest their list's proof pages "
            "record (an element was replaced, removed or added); refusing the list"
        )


def check_one_write(rows: Sequence[tuple[int, Record]], where: str) -> None:
    """Refuse rows that record different lists (elements of two writes)."""
    lists: set[tuple[str, int | None]]
    lists = {(r.member.root, r.member.count) for _, r in rows if r.member is not None}
    lists |= {(r.tag, None) for _, r in rows if r.tag is not None and r.member is None}
    if len(lists) > 1:
        raise _mixed(len(lists), where)


def _mixed(writes: int, where: str) -> ConcurrentWriteError:
    return ConcurrentWriteError(
        f"{where}: the list holds elements of {writes} different writes (two writers of this "
        "key ran at once); refusing a mixed list"
    )


def _not_one_write(where: str) -> ConcurrentWriteError:
    return ConcurrentWriteError(
        f"{where}: the list's elements are not those of one write (elements missing, extra or "
        "from a concurrent write); refusing it"
    )


def missing(rows: Sequence[tuple[int, Record]], expected: int, shown: int = 10) -> str:
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
