"""The floor: the least a hand-written boto3 program can do, the baseline of every comparison.

Writes: ceil(n/25) BatchWriteItem and one S3 request per large element (py2sfn's layout:
elements over 390,000 bytes go to S3 with an item pointing at them). Reads of a whole list: the
partition's Query pages (one partition holds the list: DynamoDB returns at most 1 MB a page) and
one GET per element in S3, started as soon as its page arrives. One element: one GetItem (and
its GET). Requests of one call that can run together run concurrently on a 16-thread pool (the
pool size sfn-offload uses); no checksums, no verification, no retry logic beyond unprocessed
items.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.config import Config
from common import BUCKET, MAX_WORKERS, TABLE

PY2SFN_S3_THRESHOLD = 390_000  # py2sfn-task-tools' ITEM_SIZE_THRESHOLD_BYTES
CLIENT_CONFIG = Config(max_pool_connections=MAX_WORKERS, retries={"mode": "standard"})


class Floor:
    """The least a hand-written boto3 program can do (see the module docstring)."""

    def __init__(self, endpoint: str, session: Any) -> None:
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint, config=CLIENT_CONFIG)
        self.s3 = session.client("s3", endpoint_url=endpoint, config=CLIENT_CONFIG)
        self.pool = ThreadPoolExecutor(MAX_WORKERS)

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {TABLE: requests}
        while pending:
            pending = (
                self.dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            )

    def put_items(self, partition_key: str, items: Sequence[Any]) -> None:
        """py2sfn's layout: one item per element, S3 for elements over 390,000 bytes."""
        expires = str(int(time.time()) + 7 * 86_400)
        bodies = [json.dumps(x, separators=(",", ":"), ensure_ascii=False) for x in items]
        requests: list[dict[str, Any]] = []
        uploads: list[tuple[str, bytes]] = []
        for i, text in enumerate(bodies):
            item = {
                "partition_key": {"S": partition_key},
                "sort_key": {"N": str(i)},
                "expires_at": {"N": expires},
            }
            data = text.encode()
            if len(data) > PY2SFN_S3_THRESHOLD:
                key = f"workflow_state_data/{TABLE}/{partition_key}/{i}"
                uploads.append((key, data))
                item["s3_key"] = {"S": key}
            else:
                item["data"] = {"S": text}
            requests.append({"PutRequest": {"Item": item}})
        # S3 first (concurrently), then the items that point at it (concurrently).
        list(
            self.pool.map(lambda u: self.s3.put_object(Bucket=BUCKET, Key=u[0], Body=u[1]), uploads)
        )
        batches = [requests[i : i + 25] for i in range(0, len(requests), 25)]
        list(self.pool.map(self._batch_write, batches))

    def _get_object(self, bucket: str, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def read_list(self, partition_key: str) -> list[Any]:
        """A list written element by element (sfn-offload's or py2sfn's item layout): its Query
        pages in sequence, S3 GETs concurrently as the pages name them."""
        values: list[Any] = []
        pending: dict[int, Any] = {}
        kwargs: dict[str, Any] = {
            "TableName": TABLE,
            "KeyConditionExpression": "partition_key = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition_key}},
            "ConsistentRead": True,
        }
        while True:
            page = self.dynamodb.query(**kwargs)
            for item in page["Items"]:
                if "s3_key" in item:
                    bucket = item.get("s3_bucket", {}).get("S", BUCKET)
                    future = self.pool.submit(self._get_object, bucket, item["s3_key"]["S"])
                    pending[len(values)] = future
                    values.append(None)
                else:
                    values.append(json.loads(item["data"]["S"]))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for index, future in pending.items():
            values[index] = json.loads(future.result())
        return values

    def read_element(self, partition_key: str, index: int) -> Any:
        """One element of such a list: GetItem, and its GET if it is in S3."""
        item = self.dynamodb.get_item(
            TableName=TABLE,
            Key={"partition_key": {"S": partition_key}, "sort_key": {"N": str(index)}},
            ConsistentRead=True,
        )["Item"]
        if "s3_key" in item:
            bucket = item.get("s3_bucket", {}).get("S", BUCKET)
            return json.loads(self._get_object(bucket, item["s3_key"]["S"]))
        return json.loads(item["data"]["S"])
