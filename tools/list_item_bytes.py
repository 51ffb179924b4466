"""Item bytes of a list of 100-byte elements: py2sfn-task-tools 1.0.2 vs sfn-offload, on moto.

    .venv/bin/python tools/list_item_bytes.py [N ...]     (default: 1000 5000)

Both libraries store the same list (``put_items``, default settings, keys of the same length) in
one moto table; every item each wrote is measured as DynamoDB counts item size: attribute names
plus values (strings as UTF-8, binary as bytes, numbers as written). sfn-offload's proof pages
(a partition of their own) are counted separately. Needs the ``test`` extra (moto,
py2sfn-task-tools).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

TABLE = "list-item-bytes"
BUCKET = "list-item-bytes-bucket"
PAGES_PREFIX = "sfn-offload#pages#"


def item_bytes(item: dict[str, Any]) -> int:
    total = 0
    for name, value in item.items():
        ((kind, data),) = value.items()
        total += len(name.encode()) + (len(data) if kind == "B" else len(str(data).encode()))
    return total


def partition(client: Any, partition_key: str) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {
        "TableName": TABLE,
        "KeyConditionExpression": "partition_key = :pk",
        "ExpressionAttributeValues": {":pk": {"S": partition_key}},
    }
    items: list[dict[str, Any]] = []
    while True:
        response = client.query(**kwargs)
        items += response["Items"]
        if "LastEvaluatedKey" not in response:
            return items
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def main(counts: list[int]) -> None:
    for name, value in (
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ACCOUNT_ID", "123456789012"),  # py2sfn-task-tools reads it at import
    ):
        os.environ.setdefault(name, value)
    import boto3
    from moto import mock_aws

    with mock_aws():
        from py2sfn_task_tools import state_data_client

        from sfn_offload import StateDataClient
        from sfn_offload.storage.setup import ensure_table

        client = boto3.client("dynamodb")
        ensure_table(client, TABLE)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        theirs = state_data_client.StateDataClient(TABLE, "ns", s3_bucket=BUCKET)
        ours = StateDataClient(TABLE, "ns", s3_bucket=BUCKET)
        for n in counts:
            values = [f"{i:06d}" + "x" * 92 for i in range(n)]  # 100 bytes of JSON each
            assert all(len(json.dumps(v)) == 100 for v in values)
            theirs.put_items(f"list-a-{n}", values)
            ours.put_items(f"list-b-{n}", values)
            legacy = sum(map(item_bytes, partition(client, f"ns:list-a-{n}")))
            elements = sum(map(item_bytes, partition(client, f"ns:list-b-{n}")))
            pages = partition(client, f"{PAGES_PREFIX}ns:list-b-{n}")
            page_bytes = sum(map(item_bytes, pages))
            print(
                f"{n} elements: py2sfn-task-tools {legacy:,} B ({legacy / n:.1f} B/element); "
                f"sfn-offload elements {elements:,} B ({elements / n:.1f} B/element), "
                f"+{(elements - legacy) / n:.1f} B/element; proof pages {len(pages)} items, "
                f"{page_bytes:,} B in their own partition"
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 5000])
