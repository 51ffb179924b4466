"""The harness of ``aws_worker.py``: counted sessions, the uncounted admin clients on the moto
server, and one implementation's timed runs and their summary.

Nothing here imports py2sfn-task-tools (``aws_worker.py`` hooks the default session before it
does).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import boto3
import common
from common import BUCKET, TABLE

from sfn_offload.testing import RequestCounter


def counted_session(counter: RequestCounter) -> boto3.session.Session:
    session = boto3.session.Session(region_name=common.REGION)
    counter.attach(session)
    return session


def _bench_keys(counts: dict[str, int]) -> dict[str, int]:
    """RequestCounter's keys (``"DynamoDB.Query"``) as the results spell them
    (``"dynamodb:Query"``)."""
    out: dict[str, int] = {}
    for key, count in counts.items():
        service, _, operation = key.partition(".")
        out[f"{service.lower()}:{operation}"] = count
    return out


def _value_bytes(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (strings and numbers as text, binary as
    bytes): the attributes the library writes are S, N and B."""
    ((kind, data),) = value.items()
    return len(data) if kind == "B" else len(str(data).encode())


class Admin:
    """Uncounted clients on the moto server itself: reset, create, verify."""

    def __init__(self, moto_url: str) -> None:
        self.moto_url = moto_url
        session = boto3.session.Session(region_name=common.REGION)
        self.dynamodb = session.client("dynamodb", endpoint_url=moto_url)
        self.s3 = session.client("s3", endpoint_url=moto_url)

    def fresh(self) -> None:
        common.reset_moto(self.moto_url)
        common.create_resources(self.dynamodb, self.s3)

    def count_items(self, partition_key: str) -> int:
        kwargs: dict[str, Any] = {
            "TableName": TABLE,
            "KeyConditionExpression": "partition_key = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition_key}},
            "Select": "COUNT",
        }
        total = 0
        while True:
            page = self.dynamodb.query(**kwargs)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def partition(self, partition_key: str) -> dict[str, int]:
        """What a partition holds: its items' bytes as DynamoDB counts them (attribute names
        and values), the Query pages moto returns for it (at most 1,000,000 bytes of items
        each, as DynamoDB's 1 MB), its items and the S3 objects they name."""
        kwargs: dict[str, Any] = {
            "TableName": TABLE,
            "KeyConditionExpression": "partition_key = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition_key}},
        }
        out = {"item_bytes": 0, "query_pages": 0, "items": 0, "s3_objects": 0}
        while True:
            page = self.dynamodb.query(**kwargs)
            out["query_pages"] += 1
            for item in page["Items"]:
                out["items"] += 1
                out["s3_objects"] += "s3_key" in item
                out["item_bytes"] += sum(
                    len(name.encode()) + _value_bytes(value) for name, value in item.items()
                )
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count_objects(self) -> int:
        total = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            total += page.get("KeyCount", 0)
        return total


class Impl:
    """One implementation under measurement: how to run it, its counter, what each run took."""

    def __init__(self, name: str, counter: RequestCounter, run: Callable[[str], Any]) -> None:
        self.name = name
        self.counter = counter
        self.run = run
        self.times: list[float] = []
        self.cpu: list[float] = []  # client CPU (all threads of this process)
        self.requests: list[dict[str, int]] = []
        self.wire: list[dict[str, int] | None] = []
        self.library: list[dict[str, int]] = []


def timed(impl: Impl, label: str, endpoint: str, proxied: bool, library: bool = False) -> Any:
    """Run ``impl`` once, timed; record its requests (and, with ``library``, its API calls)."""
    before = impl.counter.attempts
    calls_before = impl.counter.calls
    wire_before = common.proxy_stats(endpoint) if proxied else None
    gc.collect()  # every implementation starts from a clean heap
    cpu = time.process_time()
    start = time.perf_counter()
    result = impl.run(label)
    impl.times.append(time.perf_counter() - start)
    impl.cpu.append(time.process_time() - cpu)
    wire_after = common.proxy_stats(endpoint) if proxied else None
    impl.requests.append(common.diff(_bench_keys(impl.counter.attempts), _bench_keys(before)))
    if wire_before is not None and wire_after is not None:
        impl.wire.append(common.diff(wire_after, wire_before))
    if library:
        impl.library.append(common.diff(_bench_keys(impl.counter.calls), _bench_keys(calls_before)))
    return result


def summary(impl: Impl) -> dict[str, Any]:
    first = impl.requests[0] if impl.requests else {}
    return {
        "times_s": [round(t, 4) for t in impl.times],
        "median_s": round(common.median(impl.times), 4),
        "client_cpu_s": round(common.median(impl.cpu), 4),
        "requests": first,
        "requests_total": sum(first.values()),
        "requests_stable": all(r == first for r in impl.requests),
        "wire_requests": impl.wire[0] if impl.wire else None,
        "wire_total": sum(impl.wire[0].values()) if impl.wire else None,
        "library_counted": impl.library[0] if impl.library else None,
    }
