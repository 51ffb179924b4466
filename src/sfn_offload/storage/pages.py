"""Where the proof pages of a list stored one item per index live, and the records holding them.

The elements of a list written at partition key ``K`` carry only a short tag of the list's
digest (:func:`tag_of`); the digests and proofs that tie each element to the list's digest are in
*pages* (:class:`~sfn_offload.wire.merkle.Page`, :data:`~sfn_offload.wire.merkle.PAGE_SIZE`
elements each), stored in the same table under the partition key :func:`pages_key` ``(K)``, sort
key = page number (element ``i`` is on page ``i // PAGE_SIZE``), with the elements' expiry.

They are not in the list's own partition: py2sfn-task-tools' ``get_items`` reads every item of
that partition as an element. Partition keys starting with :data:`PAGES_PREFIX` are therefore
sfn-offload's (an execution name, the usual namespace, cannot contain ``#``).

>>> pages_key("run-1:rows")
'sfn-offload#pages#run-1:rows'
>>> page_address("state", "run-1:rows", 130)
Address(container='state', key='sfn-offload#pages#run-1:rows', index=2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ..wire.merkle import PAGE_SIZE, Page
from .base import Address, Record

__all__ = [
    "ENCODING_PAGE",
    "PAGES_PREFIX",
    "page_address",
    "page_records",
    "pages_key",
    "read_page",
    "tag_of",
]

#: What starts the partition key of a list's pages.
PAGES_PREFIX: Final = "sfn-offload#pages#"
#: The ``encoding`` of a page record (never a payload: reading one as a value is refused).
ENCODING_PAGE: Final = "sfn-offload-list-page"
#: Hex digits of the list's digest each element records (8 bytes stored).
TAG_HEX: Final = 16


def pages_key(partition_key: str) -> str:
    """The partition key of the pages of the list at ``partition_key``."""
    return PAGES_PREFIX + partition_key


def page_address(table: str, partition_key: str, index: int) -> Address:
    """Where the page of element ``index`` of the list at ``partition_key`` is."""
    return Address(table, pages_key(partition_key), index // PAGE_SIZE)


def tag_of(root: str) -> str:
    """What each element of the list with digest ``root`` records of it."""
    return root[:TAG_HEX]


def page_records(
    table: str, partition_key: str, pages: Sequence[Page], expires_at: int
) -> list[tuple[Address, Record]]:
    """The records storing ``pages`` (in order) of the list at ``partition_key``."""
    key = pages_key(partition_key)
    return [
        (Address(table, key, number), Record(page.to_bytes(), ENCODING_PAGE, expires_at=expires_at))
        for number, page in enumerate(pages)
    ]


def read_page(record: Record | None) -> Page | None:
    """The page a record holds; ``None`` for no record, or one that is not a page."""
    if record is None or record.body is None or record.encoding != ENCODING_PAGE:
        return None
    return Page.from_bytes(record.body)
