"""The payload store seam and its three implementations: DynamoDB, S3, in memory.

A store moves *encoded* payloads (:class:`Record`) to and from an :class:`Address`; it knows
nothing of JSON, pointers or tiering (that is :mod:`sfn_offload._repository`'s job).

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
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Executor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import FlexibleChecksumError, IncompleteReadError, ResponseStreamingError
from botocore.exceptions import ReadTimeoutError as BotocoreReadTimeoutError

from ._aws import quiet_wire
from ._codec import ENCODING_JSON
from ._errors import NoItemFound, PayloadEncodingError, StoreError, translate_aws_errors
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

__all__ = [
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "Address",
    "DynamoDBStore",
    "MemoryStore",
    "PayloadStore",
    "Record",
    "S3Store",
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


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _run_all(executor: Executor | None, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> list[Any]:
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


# --------------------------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------------------------


class DynamoDBStore:
    """Payloads as items of py2sfn's key schema (``partition_key`` S, ``sort_key`` N)."""

    backend = "dynamodb"

    def __init__(
        self,
        client: Callable[[], DynamoDBClient],
        *,
        retry: RetryPolicy | None = None,
        executor: Callable[[], Executor | None] = lambda: None,
    ) -> None:
        self._client = client
        self._retry = retry or RetryPolicy()
        self._executor = executor
        # Counters for benchmarks and tests: how many requests of each operation were sent.
        self.requests: dict[str, int] = {}
        self._count_lock = threading.Lock()

    def _count(self, operation: str) -> None:
        with self._count_lock:
            self.requests[operation] = self.requests.get(operation, 0) + 1

    def with_retry(self, retry: RetryPolicy) -> DynamoDBStore:
        """A view of this store with another retry policy (e.g. bound to a Lambda deadline)."""
        view = DynamoDBStore(self._client, retry=retry, executor=self._executor)
        view.requests = self.requests
        view._count_lock = self._count_lock
        return view

    # -- item <-> record ------------------------------------------------------------------

    @staticmethod
    def to_item(address: Address, record: Record) -> dict[str, Any]:
        item: dict[str, Any] = {
            "partition_key": {"S": address.key},
            "sort_key": {"N": str(address.index)},
        }
        if record.expires_at is not None:
            item["expires_at"] = {"N": str(record.expires_at)}
        if record.redirect is not None:
            item["s3_key"] = {"S": record.redirect.key}
            item["s3_bucket"] = {"S": record.redirect.container}
        elif record.body is not None and record.encoding == ENCODING_JSON:
            item["data"] = {"S": record.body.decode("utf-8")}
        elif record.body is not None:
            item["blob"] = {"B": record.body}
        if record.sha256 is not None:
            item["sha256"] = {"S": record.sha256}
            item["encoding"] = {"S": record.encoding}
        if record.size is not None:
            item["size"] = {"N": str(record.size)}
        return item

    @staticmethod
    def from_item(item: dict[str, Any], where: str, *, summary: bool = False) -> Record:
        """Read an item we or py2sfn-task-tools wrote.

        With ``summary`` (rows of a keys-only query) a missing payload attribute is expected and
        the record's ``body`` is ``None``.
        """

        def text(name: str) -> str | None:
            value = item.get(name)
            if value is None:
                return None
            if isinstance(value, dict) and "S" in value:
                return str(value["S"])
            # The attribute's type only: its value may be the payload itself.
            raise PayloadEncodingError(
                f"{where}: attribute {name!r} is not a string (DynamoDB type "
                f"{_attribute_type(value)}); the item was not written by sfn-offload or "
                "py2sfn-task-tools"
            )

        def number(name: str) -> int | None:
            value = item.get(name)
            if value is None:
                return None
            try:
                return int(value["N"])
            except (KeyError, TypeError, ValueError):
                raise PayloadEncodingError(
                    f"{where}: attribute {name!r} is not a whole number (DynamoDB type "
                    f"{_attribute_type(value)})"
                ) from None

        encoding = text("encoding") or ENCODING_JSON
        common = {
            "encoding": encoding,
            "sha256": text("sha256"),
            "size": number("size"),
            "expires_at": number("expires_at"),
        }
        s3_key = text("s3_key")
        if s3_key is not None:
            bucket = text("s3_bucket") or ""  # py2sfn items: the repository fills in the bucket
            # The overflow object of element i is Address(bucket, key, i), as the repository
            # builds it: equal redirects mean "same object" (retried put_items skip on that).
            index = number("sort_key") or 0
            return Record(None, redirect=Address(bucket, s3_key, index), **common)  # type: ignore[arg-type]
        data = text("data")
        if data is not None:
            try:
                body = data.encode("utf-8")
            except UnicodeEncodeError:
                raise PayloadEncodingError(f"{where}: 'data' is not valid UTF-8 text") from None
            return Record(body, **common)  # type: ignore[arg-type]
        blob = item.get("blob")
        if isinstance(blob, dict) and isinstance(blob.get("B"), bytes | bytearray):
            return Record(bytes(blob["B"]), **common)  # type: ignore[arg-type]
        if summary:
            return Record(None, **common)  # type: ignore[arg-type]
        raise PayloadEncodingError(
            f"{where}: item has none of 'data', 'blob' or 's3_key'; it was not written by "
            "sfn-offload or py2sfn-task-tools"
        )

    @staticmethod
    def _key(address: Address) -> dict[str, Any]:
        return {"partition_key": {"S": address.key}, "sort_key": {"N": str(address.index)}}

    # -- single -------------------------------------------------------------------------

    def put(self, address: Address, record: Record) -> Record | None:
        where = address.describe(self.backend)
        with translate_aws_errors("DynamoDB.PutItem", where), quiet_wire():
            self._count("PutItem")
            # ALL_OLD tells us whether a replaced item had an S3 overflow object to clean up.
            response = self._client().put_item(
                TableName=address.container,
                Item=self.to_item(address, record),
                ReturnValues="ALL_OLD",
            )
        old = response.get("Attributes")
        if not old:
            return None
        try:
            return self.from_item(dict(old), f"dynamodb {where}", summary=True)
        except PayloadEncodingError:
            # The replaced item was not one of ours (or was damaged): the write itself succeeded,
            # and failing it now would make every retry fail the same way. Nothing known to clean.
            return None

    def get(self, address: Address) -> Record:
        where = address.describe(self.backend)
        with translate_aws_errors("DynamoDB.GetItem", where), quiet_wire():
            self._count("GetItem")
            response = self._client().get_item(
                TableName=address.container, Key=self._key(address), ConsistentRead=True
            )
        if "Item" not in response:
            raise NoItemFound(f"no item at dynamodb {where}")
        return self.from_item(dict(response["Item"]), f"dynamodb {where}")

    # -- batches ------------------------------------------------------------------------

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        requests = [(a.container, {"PutRequest": {"Item": self.to_item(a, r)}}) for a, r in entries]
        self._write(requests)

    def delete_many(self, addresses: Sequence[Address]) -> None:
        requests = [(a.container, {"DeleteRequest": {"Key": self._key(a)}}) for a in addresses]
        self._write(requests)

    def _write(self, requests: Sequence[tuple[str, dict[str, Any]]]) -> None:
        _run_all(self._executor(), self._write_batch, _chunks(requests, BATCH_WRITE_LIMIT))

    def _write_batch(self, batch: Sequence[tuple[str, dict[str, Any]]]) -> None:
        pending: dict[str, list[Any]] = {}
        for table, request in batch:
            pending.setdefault(table, []).append(request)
        where = f"tables {sorted(pending)} ({len(batch)} writes)"
        delays = self._retry.delays()
        while True:
            with translate_aws_errors("DynamoDB.BatchWriteItem", where), quiet_wire():
                self._count("BatchWriteItem")
                response = self._client().batch_write_item(RequestItems=pending)
            leftover = {
                t: list(r) for t, r in (response.get("UnprocessedItems") or {}).items() if r
            }
            if not leftover:
                return
            pending = leftover
            if next(delays, None) is None:
                left = sum(len(r) for r in leftover.values())
                raise StoreError(
                    f"DynamoDB.BatchWriteItem: {left} write(s) to {sorted(leftover)} were still "
                    f"unprocessed after {self._retry.max_attempts} attempts or the deadline "
                    "(throttled); nothing was returned as written",
                    code="UnprocessedItems",
                )

    def get_many(self, addresses: Sequence[Address]) -> dict[Address, Record]:
        unique = list(dict.fromkeys(addresses))  # BatchGetItem rejects duplicate keys
        found: dict[Address, Record] = {}
        for part in _run_all(self._executor(), self._get_batch, _chunks(unique, BATCH_GET_LIMIT)):
            found.update(part)
        return found

    def _get_batch(self, batch: Sequence[Address]) -> dict[Address, Record]:
        pending: dict[str, Any] = {}
        for address in batch:
            entry = pending.setdefault(address.container, {"Keys": [], "ConsistentRead": True})
            entry["Keys"].append(self._key(address))
        where = f"tables {sorted(pending)} ({len(batch)} keys)"
        found: dict[Address, Record] = {}
        delays = self._retry.delays()
        while True:
            with translate_aws_errors("DynamoDB.BatchGetItem", where), quiet_wire():
                self._count("BatchGetItem")
                response = self._client().batch_get_item(RequestItems=pending)
            for table, items in (response.get("Responses") or {}).items():
                for item in items:
                    address = Address(
                        table, str(item["partition_key"]["S"]), int(item["sort_key"]["N"])
                    )
                    found[address] = self.from_item(
                        dict(item), f"dynamodb {address.describe(self.backend)}"
                    )
            # Leftovers are resent as consistent reads whatever the response echoed back.
            leftover: dict[str, Any] = {
                t: {**v, "ConsistentRead": True}
                for t, v in (response.get("UnprocessedKeys") or {}).items()
                if v and v.get("Keys")
            }
            if not leftover:
                return found
            pending = leftover
            if next(delays, None) is None:
                left = sum(len(v["Keys"]) for v in leftover.values())
                raise StoreError(
                    f"DynamoDB.BatchGetItem: {left} key(s) in {sorted(leftover)} were still "
                    f"unprocessed after {self._retry.max_attempts} attempts or the deadline "
                    "(throttled)",
                    code="UnprocessedKeys",
                )

    def query(
        self, table: str, partition_key: str, *, start_index: int = 0, keys_only: bool = False
    ) -> list[tuple[int, Record]]:
        """All items of a partition with ``sort_key >= start_index``, in index order.

        With ``keys_only`` only the small attributes are read (no payload): the records carry
        digest, size, expiry and redirect, and ``body`` is ``None``.
        """
        where = f"table {table!r} partition_key {partition_key!r}"
        kwargs: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "partition_key = :pk AND sort_key >= :start",
            "ExpressionAttributeValues": {
                ":pk": {"S": partition_key},
                ":start": {"N": str(start_index)},
            },
            "ConsistentRead": True,
        }
        if keys_only:
            kwargs["ProjectionExpression"] = (
                "partition_key, sort_key, s3_key, s3_bucket, sha256, #sz, #enc, expires_at"
            )
            kwargs["ExpressionAttributeNames"] = {"#sz": "size", "#enc": "encoding"}
        out: list[tuple[int, Record]] = []
        while True:
            with translate_aws_errors("DynamoDB.Query", where), quiet_wire():
                self._count("Query")
                response = self._client().query(**kwargs)
            for item in response.get("Items", []):
                index = int(item["sort_key"]["N"])
                item_where = (
                    f"dynamodb {Address(table, partition_key, index).describe(self.backend)}"
                )
                try:
                    record = self.from_item(dict(item), item_where, summary=keys_only)
                except PayloadEncodingError:
                    if not keys_only:
                        raise
                    # A listing for a write: an item we cannot read is simply rewritten.
                    record = Record(None)
                out.append((index, record))
            last = response.get("LastEvaluatedKey")
            if not last:
                return out
            kwargs["ExclusiveStartKey"] = last


# --------------------------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------------------------


class S3Store:
    """Payloads as S3 objects; digest, encoding and expiry travel as object metadata.

    Metadata: ``sha256``, ``encoding`` and ``expires-at`` (epoch seconds, the same TTL as the
    items), which :meth:`get` returns as the record's ``expires_at`` so that expired objects
    are refused like expired items. Objects get SSE-KMS under ``kms_key_id`` when it is set, and
    every request names ``expected_bucket_owner`` when it is set.
    """

    backend = "s3"

    def __init__(
        self,
        client: Callable[[], S3Client],
        *,
        kms_key_id: str | None = None,
        expected_bucket_owner: str | None = None,
        executor: Callable[[], Executor | None] = lambda: None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._kms_key_id = kms_key_id
        self._owner = expected_bucket_owner
        self._executor = executor
        self._retry = retry or RetryPolicy()
        self.requests: dict[str, int] = {}
        self._count_lock = threading.Lock()

    def _count(self, operation: str) -> None:
        with self._count_lock:
            self.requests[operation] = self.requests.get(operation, 0) + 1

    def _owner_args(self) -> dict[str, Any]:
        return {"ExpectedBucketOwner": self._owner} if self._owner else {}

    def put(self, address: Address, record: Record) -> None:
        if record.body is None:
            raise ValueError("S3Store.put needs a body")
        extra: dict[str, Any] = self._owner_args()
        if self._kms_key_id:
            extra["ServerSideEncryption"] = "aws:kms"
            extra["SSEKMSKeyId"] = self._kms_key_id
        metadata = {"encoding": record.encoding}
        if record.sha256:
            metadata["sha256"] = record.sha256
        if record.expires_at is not None:
            metadata["expires-at"] = str(record.expires_at)
        with translate_aws_errors("S3.PutObject", address.describe(self.backend)), quiet_wire():
            self._count("PutObject")
            self._client().put_object(
                Bucket=address.container,
                Key=address.key,
                Body=record.body,
                ContentType="application/json"
                if record.encoding == ENCODING_JSON
                else "application/gzip",
                Metadata=metadata,
                **extra,
            )

    def get(self, address: Address) -> Record:
        """Read one object; its ``expires-at`` metadata becomes the record's ``expires_at``.

        A body that breaks off while it is read (connection reset, truncated transfer, checksum
        mismatch) is fetched again, within the retry policy's attempts and deadline.
        """
        where = address.describe(self.backend)
        delays = self._retry.delays()
        while True:
            with translate_aws_errors("S3.GetObject", where), quiet_wire():
                self._count("GetObject")
                response = self._client().get_object(
                    Bucket=address.container, Key=address.key, **self._owner_args()
                )
                stream = response["Body"]
                try:
                    body = stream.read()
                except _BROKEN_BODY:
                    stream.close()
                    if next(delays, None) is None:
                        raise
                    continue
            break
        metadata = response.get("Metadata") or {}
        return Record(
            body,
            encoding=metadata.get("encoding", ENCODING_JSON),
            sha256=metadata.get("sha256"),
            size=len(body),
            expires_at=_expiry(metadata.get("expires-at"), f"s3 {where}"),
        )

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        _run_all(self._executor(), lambda entry: self.put(*entry), entries)

    def get_many(self, addresses: Sequence[Address]) -> dict[Address, Record]:
        unique = list(dict.fromkeys(addresses))

        def fetch(address: Address) -> tuple[Address, Record | None]:
            try:
                return address, self.get(address)
            except NoItemFound:
                return address, None

        results = _run_all(self._executor(), fetch, unique)
        return {a: r for a, r in results if r is not None}

    def delete_many(self, addresses: Sequence[Address]) -> None:
        by_bucket: dict[str, list[str]] = {}
        for address in addresses:
            by_bucket.setdefault(address.container, []).append(address.key)
        for bucket, keys in by_bucket.items():
            for part in _chunks(keys, S3_DELETE_LIMIT):
                where = f"bucket {bucket!r} ({len(part)} keys)"
                with translate_aws_errors("S3.DeleteObjects", where), quiet_wire():
                    self._count("DeleteObjects")
                    response = self._client().delete_objects(
                        Bucket=bucket,
                        Delete={"Objects": [{"Key": k} for k in part], "Quiet": True},
                        **self._owner_args(),
                    )
                errors = response.get("Errors") or []
                if errors:
                    first = errors[0]
                    raise StoreError(
                        f"S3.DeleteObjects: {len(errors)} object(s) in bucket {bucket!r} were not "
                        f"deleted, e.g. {first.get('Key')!r}: {first.get('Code')}",
                        code=str(first.get("Code", "")),
                    )


def _expiry(raw: str | None, where: str) -> int | None:
    if raw is None:
        return None  # py2sfn-task-tools' overflow objects carry no expiry
    try:
        return int(raw)
    except ValueError:
        raise PayloadEncodingError(
            f"{where}: metadata 'expires-at' is not a whole number of epoch seconds"
        ) from None


def _attribute_type(value: object) -> str:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    return type(value).__name__


# --------------------------------------------------------------------------------------------
# In memory
# --------------------------------------------------------------------------------------------


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
