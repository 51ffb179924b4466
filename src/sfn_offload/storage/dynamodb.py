"""DynamoDB payload store: py2sfn's key schema (``partition_key`` S, ``sort_key`` N)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from .._aws import quiet_wire
from .._retry import RetryPolicy
from ..errors import NoItemFound, PayloadEncodingError, StoreError, translate_aws_errors
from ..wire.codec import ENCODING_JSON

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


from .base import (
    BATCH_GET_LIMIT,
    BATCH_WRITE_LIMIT,
    Address,
    Record,
    chunks,
    run_all,
)


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
        run_all(self._executor(), self._write_batch, chunks(requests, BATCH_WRITE_LIMIT))

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
        for part in run_all(self._executor(), self._get_batch, chunks(unique, BATCH_GET_LIMIT)):
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


def _attribute_type(value: object) -> str:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    return type(value).__name__
