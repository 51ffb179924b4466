"""The store seam: what a payload store does for the repository, and how to bring your own.

A store moves *encoded* payloads (:class:`Record`) to and from an :class:`Address`; it knows
nothing of JSON, pointers, budgets or tiering (that is
:class:`~sfn_offload.storage.PayloadRepository`'s job). The repository works over two stores:

- ``dynamodb=``: a :class:`PartitionStore` (a :class:`PayloadStore` that can also list a
  partition). The built-in one is :class:`~sfn_offload.storage.DynamoDBStore`.
- ``s3=``: a :class:`PayloadStore`. The built-in one is :class:`~sfn_offload.storage.S3Store`.

:class:`~sfn_offload.storage.MemoryStore` implements both, in memory, for tests.

**Plugging in a store.** Write a class with the methods below (the protocols are structural:
no base class to inherit) and pass it, e.g. ``PayloadRepository(config, dynamodb=MyStore())``.
Its ``backend`` attribute is ``"dynamodb"`` or ``"s3"``: the side it stands in for, used to
describe addresses in messages. The contract the repository relies on:

- ``put(address, record)`` stores ``record`` at ``address``, replacing whatever was there. It
  returns the replaced record when it knows it (the repository deletes the S3 overflow object a
  replaced item pointed at), else ``None`` (such an object is then left to expire).
- ``get(address)`` returns the record, or raises :class:`~sfn_offload.NoItemFound` if there is
  none.
- ``put_many(entries)`` stores every ``(address, record)`` pair, in any order and possibly
  concurrently; it returns only once all are stored, and raises if any could not be.
- ``get_many(addresses, max_bytes=None)`` returns ``{address: record}`` for the addresses that
  hold a record; missing ones are left out (never an error), duplicates are allowed, the dict is
  unordered. ``max_bytes`` maps addresses to the most bytes their body may have: a store that
  can tell a body's length before reading it (S3's ``ContentLength``) returns a longer one
  unread, as a record with ``body=None`` and ``size`` set to its length; a store that cannot
  may read it and return it (the repository checks every size after reading too).
- ``delete_many(addresses)`` deletes them; deleting a missing record is not an error.
- ``query(table, partition_key, keys_only=False, below=None, max_bytes=None)``
  (:class:`PartitionStore` only) returns every ``(index, record)`` of the partition
  (``Address(table, partition_key, index)``), sorted by index, ``[]`` for an empty partition.
  With ``below`` only indices smaller than it are read. With ``max_bytes``, once the bodies read
  add up to more than it, the store stops reading and raises
  :class:`~sfn_offload.errors.PayloadTooLargeError` (it may have read one request's worth
  more). With ``keys_only`` a record may leave ``body`` as ``None`` but must keep ``sha256``,
  ``encoding``, ``size``, ``redirect``, ``expires_at``, ``member`` and ``tag`` (what a rewrite
  compares); a record it cannot read may then come back as ``Record(None)``.

Every field of a :class:`Record` must come back as it was stored (``member`` and ``tag``
included: list elements are verified with them). A list's proof pages are records too, in a
partition of their own (:mod:`sfn_offload.storage.pages`): a store keeps them like any other.

Reads must see every write that returned before them (the repository reads back what it has just
written). Failures of the backing service should raise :class:`~sfn_offload.errors.StoreError`
(``code`` set to the service's error code when there is one), and a record that exists but
cannot be read :class:`~sfn_offload.errors.PayloadEncodingError`, so that callers see the
library's own errors whatever the store.

The DynamoDB item layout is described in :mod:`sfn_offload.storage.items`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Executor, wait
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from ..wire.codec import ENCODING_JSON

__all__ = [
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "S3_DELETE_LIMIT",
    "Address",
    "Membership",
    "PartitionStore",
    "PayloadStore",
    "Record",
    "chunks",
    "run_all",
]

#: DynamoDB BatchWriteItem takes at most 25 put/delete requests, BatchGetItem at most 100 keys.
BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
#: S3 DeleteObjects takes at most 1,000 keys.
S3_DELETE_LIMIT = 1000


class Address(NamedTuple):
    """Where a payload lives: table/partition key/sort key, or bucket/object key (index unused).

    A named tuple, not a dataclass: every read hashes and compares addresses several times per
    pointer (dict keys of a batch), which a tuple does in C.
    """

    container: str
    key: str
    # The field hides tuple.index(), which no address needs; mypy flags the override.
    index: int = 0  # type: ignore[assignment]

    def describe(self, backend: str) -> str:
        if backend == "s3":
            return f"bucket {self.container!r} key {self.key!r}"
        return f"table {self.container!r} partition_key {self.key!r} index {self.index}"


@dataclass(frozen=True, slots=True)
class Membership:
    """The list an element written by sfn-offload 0.1.0 belongs to (see
    :mod:`sfn_offload.wire.merkle`; later versions keep proofs in pages, not on elements).

    Attributes:
        root: the list's digest (the Merkle root over its elements' SHA-256).
        count: the list's length.
        proof: the element's proof (hex sibling hashes), which ties it to ``root``.
    """

    root: str
    count: int
    proof: str


@dataclass(frozen=True, slots=True)
class Record:
    """An encoded payload as stored.

    ``body`` is ``None`` when the payload lives elsewhere (``redirect``: a DynamoDB item whose
    payload overflowed to S3), or when a bounded read left it unread (``get_many``'s
    ``max_bytes``). ``sha256``/``size`` describe the payload bytes wherever they are; both are
    ``None`` for items written by py2sfn-task-tools, and for list elements whose payload is in
    the record (their digest follows from ``body``). ``tag`` is set on the elements of a list
    written element by element: the first 16 hex digits of the list's digest, the same on every
    element of one write (the digests themselves are in the list's proof pages,
    :mod:`sfn_offload.storage.pages`). ``member`` is set on the elements of a list written by
    sfn-offload 0.1.0, which recorded the list's digest and the element's proof on each.
    """

    body: bytes | None
    encoding: str = ENCODING_JSON
    sha256: str | None = None
    size: int | None = None
    redirect: Address | None = None
    expires_at: int | None = None
    member: Membership | None = None
    tag: str | None = None


class PayloadStore(Protocol):
    """The seam for one side of the repository (its S3 side): single and batched reads and
    writes. The module docstring states the contract of each method."""

    #: ``"dynamodb"`` or ``"s3"``: the side this store stands in for.
    backend: str

    def put(self, address: Address, record: Record) -> Record | None:
        """Store one record; return the one it replaced when known, else ``None``."""
        ...

    def get(self, address: Address) -> Record:
        """The record at ``address``; raises :class:`~sfn_offload.NoItemFound` if none."""
        ...

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        """Store every pair (any order); raise unless all were stored."""
        ...

    def get_many(
        self, addresses: Sequence[Address], *, max_bytes: Mapping[Address, int] | None = None
    ) -> dict[Address, Record]:
        """The records found; missing addresses are left out; bodies over their ``max_bytes``
        may come back unread (``body=None``, ``size`` set)."""
        ...

    def delete_many(self, addresses: Sequence[Address]) -> None:
        """Delete the records at ``addresses``; missing ones are no error."""
        ...


class PartitionStore(PayloadStore, Protocol):
    """The seam for the repository's DynamoDB side: a :class:`PayloadStore` that can also list a
    partition (``put_items`` compares and trims, ``get_items`` reads a whole list)."""

    def query(
        self,
        table: str,
        partition_key: str,
        *,
        keys_only: bool = False,
        below: int | None = None,
        max_bytes: int | None = None,
    ) -> list[tuple[int, Record]]:
        """Every ``(index, record)`` of the partition (indices under ``below`` when given),
        sorted by index (``[]`` if none); :class:`~sfn_offload.errors.PayloadTooLargeError`
        once the bodies read exceed ``max_bytes``."""
        ...


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_all(executor: Executor | None, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> list[Any]:
    """Run ``fn`` over ``jobs``, concurrently when an executor is given; first error wins.

    After an error, jobs not started yet are dropped and jobs already running are waited for:
    nothing keeps writing after this raised (a caller's retry, or the next invocation of a frozen
    Lambda, would race it).

    Each job runs in a copy of the caller's context, so context-bound settings (the retry
    deadline, the log redaction marker) apply in the worker threads too.
    """
    if executor is None or len(jobs) <= 1:
        return [fn(job) for job in jobs]
    futures = [executor.submit(contextvars.copy_context().run, fn, job) for job in jobs]
    wait(futures, return_when=FIRST_EXCEPTION)
    for future in futures:
        future.cancel()  # only affects jobs that have not started
    wait(futures)
    for future in futures:
        error = None if future.cancelled() else future.exception()
        if error is not None:
            raise error
    return [future.result() for future in futures]
