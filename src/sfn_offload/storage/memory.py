"""In-memory payload store for tests and pure logic."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..errors import NoItemFound

if TYPE_CHECKING:
    pass


from .base import (
    Address,
    Record,
)


class MemoryStore:
    """A dict-backed store for tests and pure logic. Thread-safe; counts calls like the others.

    >>> store = MemoryStore("dynamodb")
    >>> store.put(Address("t", "k"), Record(b"1"))
    >>> store.get(Address("t", "k")).body
    b'1'
    """

    def __init__(self, backend: str = "dynamodb") -> None:
        self.backend = backend
        self.data: dict[Address, Record] = {}
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, operation: str) -> None:
        self.requests[operation] = self.requests.get(operation, 0) + 1

    def put(self, address: Address, record: Record) -> Record | None:
        with self._lock:
            self._count("put")
            old = self.data.get(address)
            self.data[address] = record
        return old

    def get(self, address: Address) -> Record:
        with self._lock:
            self._count("get")
            record = self.data.get(address)
        if record is None:
            raise NoItemFound(f"no item at memory {address.describe(self.backend)}")
        return record

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        with self._lock:
            self._count("put_many")
            self.data.update(dict(entries))

    def get_many(self, addresses: Sequence[Address]) -> dict[Address, Record]:
        with self._lock:
            self._count("get_many")
            return {a: self.data[a] for a in addresses if a in self.data}

    def delete_many(self, addresses: Iterable[Address]) -> None:
        with self._lock:
            self._count("delete_many")
            for address in addresses:
                self.data.pop(address, None)

    def query(
        self, table: str, partition_key: str, *, start_index: int = 0, keys_only: bool = False
    ) -> list[tuple[int, Record]]:
        with self._lock:
            self._count("query")
            rows = [
                (a.index, r)
                for a, r in self.data.items()
                if a.container == table and a.key == partition_key and a.index >= start_index
            ]
        return sorted(rows, key=lambda row: row[0])
