"""Whole lists are read with DynamoDB Query, one request per MB of items, whichever reader asks:
the decorator, ``hydrate()``, ``StateDataClient.get_items``/``get_global_items``, and the CLI's
``show`` and ``inspect``. Elements too large for an item add one S3 GET each.

Requests are counted on moto with :class:`~sfn_offload.testing.RequestCounter`; moto ends a
Query page at 1,000,000 bytes of items, as DynamoDB does at 1 MB.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from conftest import AwsResources
from fakes import EXECUTION_ARN, FakeLambdaContext
from sfn_offload import OffloadConfig, StateDataClient, hydrate, state_offload
from sfn_offload.cli.history import inspect_execution
from sfn_offload.cli.report import find_references, load
from sfn_offload.storage import PayloadRepository
from sfn_offload.testing import RequestCounter
from sfn_offload.wire import Pointer

NAMESPACE = "run-42"
KEY = "rows"
#: Elements over this many bytes leave their item for S3 (a small budget keeps the test fast).
ITEM_BUDGET = 20_000
PAGE_BYTES = 1_000_000


def _elements() -> list[Any]:
    """2,500 elements of ~1 KB (about 3 MB of items), and 3 too large for an item."""
    small = [{"id": i, "text": f"{i:06d}" + "x" * 1_000} for i in range(2_500)]
    large = [{"id": f"large-{i}", "text": "y" * 30_000} for i in range(3)]
    return small[:1_000] + large[:1] + small[1_000:2_000] + large[1:] + small[2_000:]


def _item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values."""
    size = 0
    for name, value in item.items():
        ((kind, data),) = value.items()
        size += len(name.encode()) + (len(data) if kind == "B" else len(str(data).encode()))
    return size


def _stored_item_bytes(resources: AwsResources, partition_key: str) -> int:
    client = resources.dynamodb()
    pages = client.get_paginator("query").paginate(
        TableName=resources.table,
        KeyConditionExpression="partition_key = :pk",
        ExpressionAttributeValues={":pk": {"S": partition_key}},
    )
    return sum(_item_bytes(item) for page in pages for item in page["Items"])


@pytest.fixture
def stored(moto_resources: AwsResources) -> tuple[PayloadRepository, dict[str, Any], int]:
    """The list written by put_items; the repository, its list pointer and the DynamoDB
    request budget: ceil(stored item bytes / 1 MB) + 1."""
    # The list is a py2sfn-style put_items result (no digest) read by other namespaces: what is
    # counted here is requests, so reads across executions are allowed.
    config = OffloadConfig(
        table=moto_resources.table,
        bucket=moto_resources.bucket,
        item_budget_bytes=ITEM_BUDGET,
        cross_execution_reads=True,
    )
    repo = PayloadRepository(config)
    elements = _elements()
    StateDataClient(namespace=NAMESPACE, repository=repo).put_items(KEY, elements)
    partition_key = f"{NAMESPACE}:{KEY}"
    pointer = Pointer("dynamodb", moto_resources.table, partition_key, count=len(elements))
    budget = math.ceil(_stored_item_bytes(moto_resources, partition_key) / PAGE_BYTES) + 1
    assert budget >= 4  # several pages: the count is worth checking
    return repo, pointer.to_dict(with_items=True), budget


def _history(pointer: dict[str, Any]) -> list[dict[str, Any]]:
    """Two states passing the list pointer on: Produce's output is Consume's input."""
    text = json.dumps({"rows": pointer})
    return [
        {"id": 1, "previousEventId": 0, "type": "TaskStateEntered",
         "stateEnteredEventDetails": {"name": "Produce", "input": "{}"}},
        {"id": 2, "previousEventId": 1, "type": "TaskStateExited",
         "stateExitedEventDetails": {"name": "Produce", "output": text}},
        {"id": 3, "previousEventId": 2, "type": "TaskStateEntered",
         "stateEnteredEventDetails": {"name": "Consume", "input": text}},
        {"id": 4, "previousEventId": 3, "type": "TaskStateExited",
         "stateExitedEventDetails": {"name": "Consume", "output": "{}"}},
    ]  # fmt: skip


class _History:
    """A Step Functions client that only returns one execution's history."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def get_execution_history(self, **_: Any) -> dict[str, Any]:
        return {"events": self.events}


def _decorator(repo: PayloadRepository, pointer: dict[str, Any]) -> Any:
    @state_offload(repository=repo)
    def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        return {"rows": len(event["rows"])}

    return handler({"sfn_execution_arn": EXECUTION_ARN, "rows": pointer}, FakeLambdaContext())


def _inspect(repo: PayloadRepository, pointer: dict[str, Any]) -> Any:
    report = inspect_execution(_History(_history(pointer)), EXECUTION_ARN, repo)  # type: ignore[arg-type]
    assert not report.errors, report.errors
    return [v.input.resolved_bytes for v in report.visits if v.input is not None]


READERS: dict[str, Callable[[PayloadRepository, dict[str, Any]], Any]] = {
    "decorator": _decorator,
    "hydrate": lambda repo, pointer: hydrate({"rows": pointer}, repo),
    "get_items": lambda repo, _: StateDataClient(namespace=NAMESPACE, repository=repo).get_items(
        KEY
    ),
    "get_global_items": lambda repo, pointer: StateDataClient(repository=repo).get_global_items(
        pointer["table"], pointer["key"]
    ),
    "cli show": lambda repo, pointer: load(find_references(pointer)[0], repo),
    "cli inspect": _inspect,
}


@pytest.mark.parametrize("reader", READERS)
def test_a_whole_list_costs_a_query_page_per_mb_and_a_get_per_large_element(
    reader: str, stored: tuple[PayloadRepository, dict[str, Any], int]
) -> None:
    """GIVEN a list of 2,503 elements stored element by element (about 3 MB of items, 3
    elements in S3)
    WHEN it is read whole by each reader
    THEN it takes at most ceil(stored item bytes / 1 MB) + 1 DynamoDB requests, all Query, and
    one S3 GET per large element."""
    repo, pointer, budget = stored
    with RequestCounter(repo.clients.dynamodb, repo.clients.s3) as counter:
        READERS[reader](repo, pointer)

    dynamodb = counter.for_service("DynamoDB")
    assert set(dynamodb) == {"Query"}, dynamodb
    assert dynamodb["Query"] <= budget
    assert counter.for_service("S3") == {"GetObject": 3}
