"""In-memory payload store for tests and pure logic."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from ..errors import NoItemFound
from .base import Address, Record

__all__ = ["MemoryStore"]


class MemoryStore:
    """A dict-backed :class:`~sfn_offload.storage.base.PartitionStore` for tests and pure logic.

    Thread-safe. ``data`` holds the records and ``requests`` the number of calls of each method,
    for tests to assert on. (The AWS stores keep no such counts: tests count their requests on
    the botocore clients with :class:`sfn_offload.testing.RequestCounter`.)

    >>> store = MemoryStore("dynamodb")
    >>> store.put(Address("t", "k"), Record(b"1"))
    >>> store.get(Address("t", "k")).body
    b'1'
    """

    def __init__(self, backend: str = "dynamodb") -> None:
        #: ``"dynamodb"`` or ``"s3"``: the side this store stands in for.
        self.backend = backend
        self.data: dict[Address, Record] = {}
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, operation: str) -> None:
        # Callers hold the lock.
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
        self, table: str, partition_key: str, *, keys_only: bool = False
    ) -> list[tuple[int, Record]]:
        """Every record of the partition, by index; ``keys_only`` changes nothing here (whole
        records are a superset of what it promises)."""
        with self._lock:
            self._count("query")
            rows = [
                (a.index, r)
                for a, r in self.data.items()
                if a.container == table and a.key == partition_key
            ]
        return sorted(rows, key=lambda row: row[0])
