"""``PayloadRepository``: one configuration's stores, encoder and worker threads, in one object.

It is a facade: placement is :mod:`.tiering`, writes and their clean-up rules :mod:`.writes`,
verified reads :mod:`.reads`. Callers (the decorator, ``StateDataClient``, the CLI) hold one
repository and reuse it across warm invocations.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from .._aws import AwsClients
from .._config import OffloadConfig
from .._retry import RetryPolicy
from ..wire.codec import Encoded, encode, encode_json_bytes
from .base import PartitionStore, PayloadStore
from .dynamodb import DynamoDBStore
from .partition_reads import PartitionReads
from .reads import Loaded, ReadStats
from .s3 import S3Store
from .writes import Writes

__all__ = ["Loaded", "PayloadRepository", "ReadStats"]

_DAY = 86_400


class PayloadRepository(PartitionReads, Writes):
    """Encodes, places, writes, reads and verifies payloads for one configuration.

    Writes (both layouts) come from :class:`~.writes.Writes`, verified reads from
    :class:`~.partition_reads.PartitionReads` (lists) over :class:`~.reads.Reads` (values);
    this class holds what they share: the config, the two stores, the encoder, the clock and
    the worker threads.

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
        dynamodb: PartitionStore | None = None,
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
        self.dynamodb: PartitionStore = dynamodb or DynamoDBStore(
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
