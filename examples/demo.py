"""`make demo`: offload and load multi-MB payloads on a local moto server (no AWS account).

Starts moto's ThreadedMotoServer on a free loopback port, creates the table and bucket, then:

1. stores a ~5 MB report with ``StateDataClient.put_item`` (too big for an item: S3 overflow),
2. fans out 2,000 rows with ``put_items`` and reads one back the way a Map iteration would,
3. stores a 150 KB value with the repository's value layout (fits an item: DynamoDB),
4. loads everything back, verified by SHA-256, and prints where each payload went and its size.

Exits non-zero if any expectation fails.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _setup_aws(endpoint: str) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        SFN_OFFLOAD_TABLE="sfn-offload-demo",
        SFN_OFFLOAD_BUCKET="sfn-offload-demo-bucket",
    )
    import boto3

    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="sfn-offload-demo",
        KeySchema=[
            {"AttributeName": "partition_key", "KeyType": "HASH"},
            {"AttributeName": "sort_key", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "partition_key", "AttributeType": "S"},
            {"AttributeName": "sort_key", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(
        TableName="sfn-offload-demo",
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    boto3.client("s3").create_bucket(Bucket="sfn-offload-demo-bucket")


def _report(rows: int) -> dict[str, Any]:
    return {
        "title": "Quarterly orders — Zürich, São Paulo, 東京",
        "rows": [
            {"order": i, "sku": f"SKU-{i % 977:04d}", "qty": i % 13, "price": round(i * 0.37, 2)}
            for i in range(rows)
        ],
    }


def _check(condition: bool, message: str) -> None:
    if not condition:
        print(f"FAIL: {message}")
        sys.exit(1)


def main() -> int:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request access log

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        _setup_aws(f"http://127.0.0.1:{port}")
        from sfn_offload import StateDataClient

        client = StateDataClient(namespace="demo-execution-0001")
        repo = client.repository
        print(f"moto server on 127.0.0.1:{port}; table {client.default_table_name!r}, "
              f"bucket {client.s3_bucket!r}\n")

        started = time.perf_counter()
        report = _report(70_000)
        stored = client.put_item("report", report)
        print(f"put_item('report')        {stored['size']:>10,} bytes of JSON -> "
              f"S3 overflow (over the {repo.config.item_budget_bytes:,}-byte item budget)")
        _check(stored["size"] > 4_000_000, "report should be several MB")

        rows = report["rows"][:2000]
        fanned = client.put_items("rows", rows)
        print(f"put_items('rows')         {len(fanned['items']):>10,} elements -> one DynamoDB "
              "item each (Map state iterates the placeholder list)")

        medium = {"blob": "x" * 150_000}
        pointer = repo.write_value("demo-execution-0001:medium", 0, repo.encode(medium))
        print(f"write_value('medium')     {pointer.size:>10,} bytes -> {pointer.backend} "
              f"(pointer is {pointer.wire_size()} bytes in the state)")

        loaded = client.get_item("report")
        _check(loaded == report, "report did not round-trip")
        event = {
            "items_result_table_name": client.default_table_name,
            "items_result_partition_key": fanned["partition_key"],
            "items_result_key": "rows",
            "context_index": 1234,
        }
        element = client.get_item_for_map_iteration(event)
        _check(element == rows[1234], "Map iteration element mismatch")
        _check(client.get_items("rows") == rows, "fan-out list did not round-trip")
        _check(repo.read_many([pointer]) == [medium], "medium value did not round-trip")
        elapsed = time.perf_counter() - started

        ddb_requests = getattr(repo.dynamodb, "requests", {})
        s3_requests = getattr(repo.s3, "requests", {})
        print("\nloaded back and verified (SHA-256): report, element 1234 of rows, all rows, "
              "medium")
        print(f"AWS requests: DynamoDB {dict(sorted(ddb_requests.items()))}, "
              f"S3 {dict(sorted(s3_requests.items()))}")
        print(f"done in {elapsed:.1f} s")
        print("\nPASS")
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
