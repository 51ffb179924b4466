"""Checks that the elements of a list stored one item per index are the list a reference names.

A list pointer's ``sha256`` is the Merkle root of its elements' digests; a partition key ending
in ``:list-<20 hex>`` carries a flat digest of them; each element sfn-offload writes records its
list (root, length and proof). These functions refuse a list, or an element, that does not add
up (:mod:`sfn_offload.wire.merkle`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConcurrentWriteError, IntegrityError
from ..wire import merkle
from ..wire.pointer import Pointer
from .base import Record

__all__ = ["check_key_digest", "check_list", "check_member", "check_one_write", "missing"]


def check_key_digest(rows: Sequence[tuple[int, Record]], partition_key: str, where: str) -> None:
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


def check_member(record: Record, index: int, parent: Pointer, where: str) -> None:
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


def check_list(rows: Sequence[tuple[int, Record]], root: str | None, where: str) -> None:
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


def check_one_write(rows: Sequence[tuple[int, Record]], where: str) -> None:
    """Refuse rows that record different lists (elements of two writes)."""
    lists = {(r.member.root, r.member.count) for _, r in rows if r.member is not None}
    if len(lists) > 1:
        raise ConcurrentWriteError(
            f"{where}: the list holds elements of {len(lists)} different writes (two writers of "
            "this key ran at once); refusing a mixed list"
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
