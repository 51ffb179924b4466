"""In-memory payload store for tests and pure logic."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping, Sequence

from ..errors import NoItemFound, PayloadTooLargeError
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

    def get_many(
        self, addresses: Sequence[Address], *, max_bytes: Mapping[Address, int] | None = None
    ) -> dict[Address, Record]:
        with self._lock:
            self._count("get_many")
            found = {a: self.data[a] for a in addresses if a in self.data}
        for address, record in found.items():
            limit = None if max_bytes is None else max_bytes.get(address)
            if limit is not None and record.body is not None and len(record.body) > limit:
                # As S3Store does: a body over its limit comes back unread, with its length.
                found[address] = dataclasses.replace(record, body=None, size=len(record.body))
        return found

    def delete_many(self, addresses: Iterable[Address]) -> None:
        with self._lock:
            self._count("delete_many")
            for address in addresses:
                self.data.pop(address, None)

    def query(
        self,
        table: str,
        partition_key: str,
        *,
        keys_only: bool = False,
        below: int | None = None,
        max_bytes: int | None = None,
    ) -> list[tuple[int, Record]]:
        """Every record of the partition, by index; ``keys_only`` changes nothing here (whole
        records are a superset of what it promises)."""
        with self._lock:
            self._count("query")
            rows = [
                (a.index, r)
                for a, r in self.data.items()
                if a.container == table
                and a.key == partition_key
                and (below is None or a.index < below)
            ]
        rows.sort(key=lambda row: row[0])
        if max_bytes is not None and not keys_only:
            total = 0
            for _, record in rows:
                total += len(record.body or b"")
                if total > max_bytes:
                    raise PayloadTooLargeError(
                        f"memory table {table!r} partition_key {partition_key!r}: the partition "
                        f"holds more than the {max_bytes} bytes this read may load"
                    )
        return rows
