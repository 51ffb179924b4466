"""The floor: the least a hand-written boto3 program can do, the baseline of every comparison.

ceil(n/25) BatchWriteItem or ceil(n/100) BatchGetItem, one S3 request per large payload (py2sfn's
layout: elements over 390,000 bytes go to S3 with an item pointing at them); all requests of one
call concurrent on a 16-thread pool (the pool size sfn-offload uses); no checksums, no
verification, no retry logic beyond unprocessed items.
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

    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
        out: dict[tuple[str, int], str] = {}
        pending: dict[str, Any] = {TABLE: {"Keys": keys}}
        while pending:
            response = self.dynamodb.batch_get_item(RequestItems=pending)
            for item in response["Responses"].get(TABLE, []):
                key = (item["partition_key"]["S"], int(item["sort_key"]["N"]))
                out[key] = item["data"]["S"]
            pending = response.get("UnprocessedKeys") or {}
        return out

    def _get_object(self, bucket: str, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def read(self, pointers: Sequence[dict[str, Any]]) -> list[Any]:
        """ceil(n/100) BatchGetItem and one GET per S3 pointer, all in flight together."""
        ddb = [p for p in pointers if p["backend"] == "dynamodb"]
        keys = [{"partition_key": {"S": p["key"]}, "sort_key": {"N": str(p["index"])}} for p in ddb]
        gets = [
            self.pool.submit(self._batch_get, keys[i : i + 100]) for i in range(0, len(keys), 100)
        ]
        objects = {
            p["key"]: self.pool.submit(self._get_object, p["bucket"], p["key"])
            for p in pointers
            if p["backend"] == "s3"
        }
        items: dict[tuple[str, int], str] = {}
        for future in gets:
            items.update(future.result())
        out = []
        for p in pointers:
            if p["backend"] == "s3":
                out.append(json.loads(objects[p["key"]].result()))
            else:
                out.append(json.loads(items[(p["key"], p["index"])]))
        return out
