"""Read each payload once per ``inspect`` walk: an execution's states pass the same pointers on
and on, and an operator's walk should not fetch them again for every state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import PointerNotAllowedError
from ..storage.base import Address, PartitionStore, PayloadStore, Record
from ..storage.pages import page_address
from ..storage.repository import PayloadRepository
from ..wire.pointer import Pointer

__all__ = ["prefetch", "reading_once"]


def reading_once(repo: PayloadRepository) -> PayloadRepository:
    """``repo`` with stores that keep every record they read (nothing expires: one walk only)."""
    return PayloadRepository(
        repo.config,
        clients=repo.clients,
        dynamodb=_CachingPartitionStore(repo.dynamodb),
        s3=_CachingStore(repo.s3),
    )


class _CachingStore:
    """A store that remembers what it fetched; a write forgets the address it changes."""

    def __init__(self, inner: PayloadStore) -> None:
        self._inner = inner
        self.backend = inner.backend
        self._cache: dict[Address, Record] = {}
        # Addresses read and found empty (a list's proof page, read with every element, is
        # absent for a list py2sfn-task-tools wrote).
        self._absent: set[Address] = set()

    def get(self, address: Address) -> Record:
        if address not in self._cache:
            self._cache[address] = self._inner.get(address)
        return self._cache[address]

    def get_many(
        self, addresses: Sequence[Address], *, max_bytes: Mapping[Address, int] | None = None
    ) -> dict[Address, Record]:
        missing = [
            a for a in dict.fromkeys(addresses) if a not in self._cache and a not in self._absent
        ]
        if missing:
            found = self._inner.get_many(missing, max_bytes=max_bytes)
            self._cache.update(found)
            self._absent.update(a for a in missing if a not in found)
        return {a: self._cache[a] for a in addresses if a in self._cache}

    def put(self, address: Address, record: Record) -> Record | None:
        self._cache.pop(address, None)
        self._absent.discard(address)
        return self._inner.put(address, record)

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        for address, _ in entries:
            self._cache.pop(address, None)
            self._absent.discard(address)
        self._inner.put_many(entries)

    def delete_many(self, addresses: Sequence[Address]) -> None:
        for address in addresses:
            self._cache.pop(address, None)
        self._inner.delete_many(addresses)


class _CachingPartitionStore(_CachingStore):
    """The DynamoDB side: a partition is listed once too (a list pointer travels from state to
    state); a write forgets the listings of the partitions it changes."""

    def __init__(self, inner: PartitionStore) -> None:
        super().__init__(inner)
        self._partitions = inner
        self._listings: dict[tuple[Any, ...], list[tuple[int, Record]]] = {}

    def query(
        self,
        table: str,
        partition_key: str,
        *,
        keys_only: bool = False,
        below: int | None = None,
        max_bytes: int | None = None,
    ) -> list[tuple[int, Record]]:
        listing = (table, partition_key, keys_only, below, max_bytes)
        if listing not in self._listings:
            self._listings[listing] = self._partitions.query(
                table, partition_key, keys_only=keys_only, below=below, max_bytes=max_bytes
            )
        return self._listings[listing]

    def _forget(self, addresses: Sequence[Address]) -> None:
        changed = {(a.container, a.key) for a in addresses}
        for listing in [k for k in self._listings if k[:2] in changed]:
            del self._listings[listing]

    def put(self, address: Address, record: Record) -> Record | None:
        self._forget([address])
        return super().put(address, record)

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        self._forget([a for a, _ in entries])
        super().put_many(entries)

    def delete_many(self, addresses: Sequence[Address]) -> None:
        self._forget(addresses)
        super().delete_many(addresses)


def prefetch(
    repo: PayloadRepository,
    pointers: Sequence[Pointer],
    *,
    trusted: bool,
    elements: Sequence[Pointer] = (),
) -> None:
    """Fetch every allowed item and object once, in as few requests as the stores allow; with
    ``elements`` (those of ``pointers`` that index a list), their lists' proof pages too.

    Only fills the caches of a :func:`reading_once` repository: checks, decoding and errors
    happen per state in :func:`~sfn_offload.cli.report.resolve`, so one bad pointer is reported
    where it is instead of failing the whole walk.
    """
    ddb: list[Address] = []
    s3: list[Address] = []
    limits: dict[Address, int] = {}
    pages = {page_address(p.container, p.key, p.index) for p in elements}
    for pointer in dict.fromkeys(pointers):
        if not trusted:
            try:
                repo.check_allowed(pointer, "prefetch")
            except PointerNotAllowedError:
                continue
        address = Address(pointer.container, pointer.key, pointer.index)
        (ddb if pointer.backend == "dynamodb" else s3).append(address)
        page = page_address(pointer.container, pointer.key, pointer.index)
        if pointer.backend == "dynamodb" and page in pages:
            ddb.append(page)
        if pointer.backend == "s3" and pointer.size is not None:
            # An object longer than its pointer says is not read (resolve refuses it anyway).
            limits[address] = min(pointer.size, limits.get(address, pointer.size))
    if ddb:
        repo.dynamodb.get_many(ddb)
    if s3:
        repo.s3.get_many(s3, max_bytes=limits)
