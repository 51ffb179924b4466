"""Retries write the same keys and leave no orphans; Powertools idempotency replays exactly what
the first invocation returned, pointers and Map-iterable shape included. Through real ASL in the
local kit, with a ``Retry`` on a task whose first attempt fails after it has offloaded (as when
a Lambda times out, or its response is lost, once the work is done), and with Powertools'
DynamoDB persistence on moto."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)

from sfn_offload import fan_out, state_offload
from sfn_offload.testing import LocalStepFunctions
from sfn_offload.wire import is_pointer

IDEMPOTENCY_TABLE = "idempotency"
ROWS = [{"id": i, "text": "r" * 100} for i in range(12_000)]  # ~1.4 MB: S3, not one item


class LambdaCrashed(Exception):
    """What the task reports when its invocation dies after the work was done."""


def crash_after_first_success(handler: Callable[..., Any], first: list[Any]) -> Callable[..., Any]:
    """Run ``handler``; the first time, record what it returned and fail anyway."""

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        result = handler(event, context)
        if not first:
            first.append(json.loads(json.dumps(result)))
            raise LambdaCrashed("the invocation ended after the handler returned")
        return result

    return invoke


RETRYING_TASK = {
    "StartAt": "Report",
    "States": {
        "Report": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "${report}",
                "Payload": {"sfn_execution_arn.$": "$$.Execution.Id", "order.$": "$.order"},
            },
            "OutputPath": "$.Payload",
            "Retry": [{"ErrorEquals": ["LambdaCrashed"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            "End": True,
        }
    },
}


@pytest.fixture
def local() -> Iterator[LocalStepFunctions]:
    with LocalStepFunctions(strict_quotas=True) as kit:
        yield kit


def _referenced(output: dict[str, Any]) -> set[str]:
    """The stored payloads the output's pointers name, as ``LocalStepFunctions.stored`` keys."""
    keys = set()
    for value in output.values():
        if not is_pointer(value):
            continue
        if value["backend"] == "s3":
            keys.add(value["key"])
        elif "count" in value:
            keys |= {f"{value['key']}#{i}" for i in range(value["count"])}
        else:
            keys.add(f"{value['key']}#{value['index']}")
    return keys


def test_a_retried_task_overwrites_what_its_failed_attempt_wrote_and_leaves_no_orphan(
    local: LocalStepFunctions,
) -> None:
    """GIVEN a handler offloading 1.4 MB and a fanned-out list, whose first attempt fails
    after offloading
    WHEN Step Functions retries it
    THEN the retry returned the very pointers the failed attempt had produced, and what is
    stored is exactly what the output names: nothing orphaned."""
    first: list[Any] = []
    runs: list[int] = []

    @state_offload
    def report(event: dict[str, Any], context: Any) -> dict[str, Any]:
        runs.append(1)
        return {"order": event["order"], "rows": ROWS, "shards": fan_out(ROWS[:5])}

    local.register("report", crash_after_first_success(report, first))
    run = local.run(RETRYING_TASK, {"order": 7})

    assert run.status == "SUCCEEDED", run.cause
    assert len(runs) == 2
    assert run.output == first[0]
    assert is_pointer(run.output["rows"])
    assert run.output["shards"]["items"] == [1] * 5
    assert {p.key for p in local.stored()} == _referenced(run.output)


@pytest.fixture
def persistence(local: LocalStepFunctions) -> DynamoDBPersistenceLayer:
    client = local.client("dynamodb")
    client.create_table(
        TableName=IDEMPOTENCY_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return DynamoDBPersistenceLayer(table_name=IDEMPOTENCY_TABLE, boto3_client=client)


def test_idempotent_above_state_offload_replays_the_same_pointers_and_map_shape(
    local: LocalStepFunctions, persistence: DynamoDBPersistenceLayer
) -> None:
    """GIVEN @idempotent above @state_offload (the documented order), a 1.4 MB result with a
    fanned-out list, and a first invocation that fails after completing
    WHEN Step Functions retries the task (same event)
    THEN the handler ran once, the replay is exactly the first invocation's result (the same
    pointers, the same Map-iterable placeholder), the idempotency record is small, and
    nothing is orphaned."""
    first: list[Any] = []
    runs: list[int] = []

    @idempotent(config=IdempotencyConfig(), persistence_store=persistence)
    @state_offload
    def report(event: dict[str, Any], context: Any) -> dict[str, Any]:
        runs.append(1)
        return {"order": event["order"], "rows": ROWS, "shards": fan_out(ROWS[:5])}

    local.register("report", crash_after_first_success(report, first))
    run = local.run(RETRYING_TASK, {"order": 7})

    assert run.status == "SUCCEEDED", run.cause
    assert runs == [1]
    assert run.output == first[0]
    assert run.output["shards"]["items"] == [1] * 5
    assert {p.key for p in local.stored()} == _referenced(run.output)
    [record] = local.client("dynamodb").scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    assert record["status"]["S"] == "COMPLETED"
    assert len(record["data"]["S"]) < 2_000  # pointers, not the 1.4 MB


def test_idempotent_below_state_offload_cannot_hold_a_big_result(
    local: LocalStepFunctions, persistence: DynamoDBPersistenceLayer
) -> None:
    """GIVEN the other order, @state_offload above @idempotent
    THEN the idempotency record would hold the un-offloaded 1.4 MB in one DynamoDB item, and
    the task fails: why the docs put @idempotent above."""

    @state_offload
    @idempotent(config=IdempotencyConfig(), persistence_store=persistence)
    def report(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"order": event["order"], "rows": ROWS}

    local.register("report", report)
    run = local.run(RETRYING_TASK, {"order": 7})

    assert run.status == "FAILED"
    assert run.error == "IdempotencyPersistenceLayerError"
    assert "Item size to update has exceeded the maximum allowed size" in (run.cause or "")
