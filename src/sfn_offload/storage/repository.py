"""``PayloadRepository``: one configuration's stores, encoder and worker threads, in one object.

It is a facade: placement is :mod:`.tiering`, writes and their clean-up rules :mod:`.writes`,
verified reads :mod:`.reads`. Callers (the decorator, ``StateDataClient``, the CLI) hold one
repository and reuse it across warm invocations.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from .._aws import AwsClients
from .._config import OffloadConfig
from .._retry import RetryPolicy
from ..errors import ConfigurationError
from ..wire.codec import Encoded, encode, encode_json_bytes
from ..wire.pointer import Pointer
from . import reads, writes
from .base import Address, PayloadStore, Record
from .dynamodb import DynamoDBStore
from .reads import Loaded, ReadStats
from .s3 import S3Store

__all__ = ["Loaded", "PayloadRepository", "ReadStats"]

_DAY = 86_400


class PayloadRepository:
    """Encodes, places, writes, reads and verifies payloads for one configuration.

    >>> from sfn_offload.storage import MemoryStore
    >>> repo = PayloadRepository(
    ...     OffloadConfig(table="state"), dynamodb=MemoryStore("dynamodb"), s3=MemoryStore("s3")
    ... )
    >>> pointer = repo.write_value("run-1:report", 0, repo.encode({"rows": [1, 2, 3]}))
    >>> pointer.backend, pointer.container, pointer.key
    ('dynamodb', 'state', 'run-1:report')
    >>> repo.read_many([pointer])
    [{'rows': [1, 2, 3]}]
    """

    def __init__(
        self,
        config: OffloadConfig,
        *,
        clients: AwsClients | None = None,
        dynamodb: PayloadStore | None = None,
        s3: PayloadStore | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clients = clients or AwsClients(
            endpoint_urls=config.endpoint_urls, max_pool_connections=config.max_workers
        )
        self._executor: Executor | None = None
        self._executor_lock = threading.Lock()
        self.dynamodb: PayloadStore = dynamodb or DynamoDBStore(
            lambda: self.clients.dynamodb, retry=retry, executor=self._get_executor
        )
        self.s3: PayloadStore = s3 or S3Store(
            lambda: self.clients.s3,
            kms_key_id=config.kms_key_id,
            expected_bucket_owner=config.expected_bucket_owner,
            executor=self._get_executor,
            retry=retry,
        )
        self.clock = clock

    @classmethod
    def from_env(cls, **overrides: Any) -> PayloadRepository:
        """A repository on :meth:`OffloadConfig.from_env` (keyword arguments override).

        Nothing is read or created until called; clients are created on first use.
        """
        return cls(OffloadConfig.from_env(**overrides))

    def _get_executor(self) -> Executor:
        # Threads are created on the first concurrent transfer, not at import or construction.
        if self._executor is None:
            with self._executor_lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.config.max_workers, thread_name_prefix="sfn-offload"
                    )
        return self._executor

    def close(self) -> None:
        """Release the worker threads (they are recreated on demand)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def encode(self, value: Any, *, where: str = "value") -> Encoded:
        """Serialize ``value`` once, compressing as configured."""
        return encode(
            value,
            compression=self.config.compression,
            compress_min_bytes=self.config.compress_min_bytes,
            where=where,
        )

    def encode_raw(self, raw: bytes) -> Encoded:
        """Encode bytes that are already compact UTF-8 JSON (no second serialization)."""
        return encode_json_bytes(
            raw,
            compression=self.config.compression,
            compress_min_bytes=self.config.compress_min_bytes,
        )

    def expires_at(self) -> int:
        """The TTL value for items and objects written now."""
        return int(self.clock()) + self.config.ttl_days * _DAY

    def query(self, table: str, partition_key: str, *, keys_only: bool) -> list[tuple[int, Record]]:
        """Every item of one partition, by index (the DynamoDB store's ``query``)."""
        query = getattr(self.dynamodb, "query", None)
        if query is None:
            raise ConfigurationError("this DynamoDB store cannot list a partition (no query())")
        rows: list[tuple[int, Record]] = query(table, partition_key, keys_only=keys_only)
        return rows

    # -- writes (see .writes) ---------------------------------------------------------------

    def write_value(
        self, partition_key: str, index: int, encoded: Encoded, *, table: str | None = None
    ) -> Pointer:
        """Write one payload in value layout: an item if it fits the budget, else S3."""
        return writes.write_value(self, partition_key, index, encoded, table=table)

    def write_values(self, entries: Sequence[tuple[str, Encoded]]) -> list[Pointer]:
        """Write ``(partition_key, payload)`` pairs in value layout in as few requests as can be."""
        return writes.write_values(self, entries)

    def write_item(
        self, table: str | None, partition_key: str, index: int, encoded: Encoded
    ) -> Pointer:
        """Write one payload in item layout (py2sfn ``put_item``); returns its pointer."""
        return writes.write_item(self, table, partition_key, index, encoded)

    def write_items(
        self, table: str | None, partition_key: str, encoded: Sequence[Encoded]
    ) -> None:
        """Write a list element by element at indices ``0..n-1`` (py2sfn ``put_items``)."""
        writes.write_items(self, table, partition_key, encoded)

    # -- reads (see .reads) -----------------------------------------------------------------

    def check_allowed(self, pointer: Pointer, where: str) -> None:
        """Refuse a pointer (from untrusted input) naming a table/bucket not on the allow-list."""
        reads.check_allowed(self, pointer, where)

    def load_many(
        self,
        pointers: Sequence[Pointer],
        *,
        trusted: bool = True,
        max_bytes: int | None = None,
        wheres: Sequence[str] | None = None,
        prefetched: dict[Address, Record] | None = None,
    ) -> Loaded:
        """Load value pointers verified; returns values, their JSON sizes and the stats."""
        return reads.load_many(
            self,
            pointers,
            trusted=trusted,
            max_bytes=max_bytes,
            wheres=wheres,
            prefetched=prefetched,
        )

    def read_many(
        self,
        pointers: Sequence[Pointer],
        *,
        trusted: bool = True,
        max_bytes: int | None = None,
        wheres: Sequence[str] | None = None,
    ) -> list[Any]:
        """The values of ``pointers``, in order (see :meth:`load_many`)."""
        return self.load_many(pointers, trusted=trusted, max_bytes=max_bytes, wheres=wheres).values

    def read_partition(self, table: str, partition_key: str) -> list[Any]:
        """Every element of a list written by :meth:`write_items` (py2sfn ``get_items``)."""
        return reads.read_partition(self, table, partition_key)
