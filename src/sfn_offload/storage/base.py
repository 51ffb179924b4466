"""The payload store seam and its three implementations: DynamoDB, S3, in memory.

A store moves *encoded* payloads (:class:`Record`) to and from an :class:`Address`; it knows
nothing of JSON, pointers or tiering (that is :mod:`sfn_offload.storage.repository`'s job).

The DynamoDB item layout is py2sfn-task-tools' plus additive attributes::

    partition_key S  "<namespace>:<key>"            sort_key N  element index
    expires_at    N  epoch seconds (TTL)
    data          S  JSON text                      (uncompressed payloads: py2sfn can read it)
    blob          B  gzip of the JSON               (compressed payloads)
    s3_key        S  overflow object key            s3_bucket S  its bucket (new; py2sfn read the
                                                                  bucket from its configuration)
    sha256 S, size N, encoding S                    digest/size/encoding of the payload bytes (new)
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Executor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import FlexibleChecksumError, IncompleteReadError, ResponseStreamingError
from botocore.exceptions import ReadTimeoutError as BotocoreReadTimeoutError

from ..wire.codec import ENCODING_JSON

if TYPE_CHECKING:
    pass

__all__ = [
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "S3_DELETE_LIMIT",
    "Address",
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
#: Failures while reading an S3 object's body, after GetObject itself succeeded: botocore does not
#: retry these (the response was already returned), so :meth:`S3Store.get` does.
_BROKEN_BODY = (
    IncompleteReadError,
    ResponseStreamingError,
    BotocoreReadTimeoutError,
    FlexibleChecksumError,
)


@dataclass(frozen=True, slots=True)
class Address:
    """Where a payload lives: table/partition key/sort key, or bucket/object key (index unused)."""

    container: str
    key: str
    index: int = 0

    def describe(self, backend: str) -> str:
        if backend == "s3":
            return f"bucket {self.container!r} key {self.key!r}"
        return f"table {self.container!r} partition_key {self.key!r} index {self.index}"


@dataclass(frozen=True, slots=True)
class Record:
    """An encoded payload as stored.

    ``body`` is ``None`` when the payload lives elsewhere (``redirect``: a DynamoDB item whose
    payload overflowed to S3). ``sha256``/``size`` describe the payload bytes wherever they are;
    both are ``None`` for items written by py2sfn-task-tools.
    """

    body: bytes | None
    encoding: str = ENCODING_JSON
    sha256: str | None = None
    size: int | None = None
    redirect: Address | None = None
    expires_at: int | None = None


class PayloadStore(Protocol):
    """The seam: put/get one payload, put/get many. Missing payloads: ``get`` raises
    :class:`~sfn_offload.NoItemFound`, ``get_many`` leaves them out of its result."""

    backend: str

    def put(self, address: Address, record: Record) -> Record | None:
        """Store one payload; return the record it replaced when the backend says so."""
        ...

    def get(self, address: Address) -> Record: ...

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None: ...

    def get_many(self, addresses: Sequence[Address]) -> dict[Address, Record]: ...

    def delete_many(self, addresses: Sequence[Address]) -> None: ...


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
