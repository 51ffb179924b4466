"""DynamoDB payload store: py2sfn's key schema (``partition_key`` S, ``sort_key`` N).

Items are mapped to and from records by :mod:`sfn_offload.storage.items`; this module sends the
requests: single and batched reads and writes (batches split to DynamoDB's limits, unprocessed
leftovers resent within the retry policy) and partition queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from .._aws import quiet_wire
from .._retry import RetryPolicy
from ..errors import (
    NoItemFound,
    PayloadEncodingError,
    PayloadTooLargeError,
    StoreThrottledError,
    translate_aws_errors,
)
from .base import BATCH_GET_LIMIT, BATCH_WRITE_LIMIT, Address, Record, chunks, run_all
from .items import KEYS_ONLY_NAMES, KEYS_ONLY_PROJECTION, address_of, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoDBStore"]


class DynamoDBStore:
    """Payloads as items of py2sfn's key schema (``partition_key`` S, ``sort_key`` N).

    A :class:`~sfn_offload.storage.base.PartitionStore`. Every read is strongly consistent: the
    repository reads back what it has just written.
    """

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

    # -- single -------------------------------------------------------------------------

    def put(self, address: Address, record: Record) -> Record | None:
        where = address.describe(self.backend)
        with translate_aws_errors("DynamoDB.PutItem", where), quiet_wire():
            # ALL_OLD tells us whether a replaced item had an S3 overflow object to clean up.
            response = self._client().put_item(
                TableName=address.container,
                Item=to_item(address, record),
                ReturnValues="ALL_OLD",
            )
        old = response.get("Attributes")
        if not old:
            return None
        try:
            return from_item(dict(old), f"dynamodb {where}", summary=True)
        except PayloadEncodingError:
            # The replaced item was not one of ours (or was damaged): the write itself succeeded,
            # and failing it now would make every retry fail the same way. Nothing known to clean.
            return None

    def get(self, address: Address) -> Record:
        where = address.describe(self.backend)
        with translate_aws_errors("DynamoDB.GetItem", where), quiet_wire():
            response = self._client().get_item(
                TableName=address.container, Key=key(address), ConsistentRead=True
            )
        if "Item" not in response:
            raise NoItemFound(f"no item at dynamodb {where}")
        return from_item(dict(response["Item"]), f"dynamodb {where}")

    # -- batches ------------------------------------------------------------------------

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        requests = [(a.container, {"PutRequest": {"Item": to_item(a, r)}}) for a, r in entries]
        self._write(requests)

    def delete_many(self, addresses: Sequence[Address]) -> None:
        requests = [(a.container, {"DeleteRequest": {"Key": key(a)}}) for a in addresses]
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
                response = self._client().batch_write_item(RequestItems=pending)
            leftover = {
                t: list(r) for t, r in (response.get("UnprocessedItems") or {}).items() if r
            }
            if not leftover:
                return
            pending = leftover
            if next(delays, None) is None:
                left = sum(len(r) for r in leftover.values())
                raise StoreThrottledError(
                    f"DynamoDB.BatchWriteItem: {left} write(s) to {sorted(leftover)} were still "
                    f"unprocessed after {self._retry.max_attempts} attempts or the deadline "
                    "(throttled); nothing was returned as written",
                    code="UnprocessedItems",
                )

    def get_many(
        self, addresses: Sequence[Address], *, max_bytes: Mapping[Address, int] | None = None
    ) -> dict[Address, Record]:
        # max_bytes is not needed here: an item holds at most 400 KB.
        unique = list(dict.fromkeys(addresses))  # BatchGetItem rejects duplicate keys
        found: dict[Address, Record] = {}
        for part in run_all(self._executor(), self._get_batch, chunks(unique, BATCH_GET_LIMIT)):
            found.update(part)
        return found

    def _get_batch(self, batch: Sequence[Address]) -> dict[Address, Record]:
        pending: dict[str, Any] = {}
        for address in batch:
            entry = pending.setdefault(address.container, {"Keys": [], "ConsistentRead": True})
            entry["Keys"].append(key(address))
        where = f"tables {sorted(pending)} ({len(batch)} keys)"
        found: dict[Address, Record] = {}
        delays = self._retry.delays()
        while True:
            with translate_aws_errors("DynamoDB.BatchGetItem", where), quiet_wire():
                response = self._client().batch_get_item(RequestItems=pending)
            for table, items in (response.get("Responses") or {}).items():
                for item in items:
                    address = address_of(table, dict(item))
                    item_where = f"dynamodb {address.describe(self.backend)}"
                    found[address] = from_item(dict(item), item_where)
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
                raise StoreThrottledError(
                    f"DynamoDB.BatchGetItem: {left} key(s) in {sorted(leftover)} were still "
                    f"unprocessed after {self._retry.max_attempts} attempts or the deadline "
                    "(throttled)",
                    code="UnprocessedKeys",
                )

    def query(
        self,
        table: str,
        partition_key: str,
        *,
        keys_only: bool = False,
        below: int | None = None,
        max_bytes: int | None = None,
    ) -> list[tuple[int, Record]]:
        """Every item of a partition, in index order (all pages, consistent reads).

        With ``keys_only`` only the small attributes are read (no payload): the records carry
        digest, size, expiry and redirect, and ``body`` is ``None``; an item that cannot be read
        comes back as an empty ``Record(None)``, which a write then simply replaces. ``below``
        limits the sort keys in the key condition (DynamoDB reads nothing past it);
        ``max_bytes`` stops after the page that passes it.
        """
        where = f"table {table!r} partition_key {partition_key!r}"
        kwargs: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "partition_key = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition_key}},
            "ConsistentRead": True,
        }
        if below is not None:
            kwargs["KeyConditionExpression"] += " AND sort_key < :below"
            kwargs["ExpressionAttributeValues"][":below"] = {"N": str(below)}
        if keys_only:
            kwargs["ProjectionExpression"] = KEYS_ONLY_PROJECTION
            kwargs["ExpressionAttributeNames"] = dict(KEYS_ONLY_NAMES)
        out: list[tuple[int, Record]] = []
        read = 0
        while True:
            with translate_aws_errors("DynamoDB.Query", where), quiet_wire():
                response = self._client().query(**kwargs)
            rows = [self._row(table, dict(item), keys_only) for item in response.get("Items", [])]
            out += rows
            read += sum(len(r.body or b"") for _, r in rows)
            if max_bytes is not None and read > max_bytes:
                raise PayloadTooLargeError(
                    f"dynamodb {where}: the partition holds more than the {max_bytes} bytes this "
                    "read may load; stopped reading"
                )
            last = response.get("LastEvaluatedKey")
            if not last:
                return out
            kwargs["ExclusiveStartKey"] = last

    def _row(self, table: str, item: dict[str, Any], keys_only: bool) -> tuple[int, Record]:
        """One query result as ``(index, record)``."""
        address = address_of(table, item)
        try:
            return address.index, from_item(
                item, f"dynamodb {address.describe(self.backend)}", summary=keys_only
            )
        except PayloadEncodingError:
            if not keys_only:
                raise
            # A listing for a write: an item we cannot read is simply rewritten.
            return address.index, Record(None)
