"""``@state_offload`` stacked with Powertools, in the order its module docstring documents::

@logger.inject_lambda_context
@tracer.capture_lambda_handler
@idempotent(...)
@state_offload
@event_parser(model=...)
def handler(event, context): ...

(Retries, replays and results over 400 KB through real ASL: ``test_retries_idempotency.py``.)
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser

from conftest import AwsResources
from fakes import EXECUTION_ARN, FakeLambdaContext
from sfn_offload import OffloadConfig, TaskContext, state_offload
from sfn_offload.storage import PayloadRepository
from sfn_offload.wire import Pointer, is_pointer

IDEMPOTENCY_TABLE = "idempotency"


class Order(BaseModel):
    id: int
    lines: list[str]


class OrderEvent(BaseModel):
    sfn_execution_arn: str
    order: Order


def _pointer_of(wire: dict[str, Any]) -> Pointer:
    return Pointer.from_dict(wire)


@pytest.fixture
def repo(moto_resources: AwsResources) -> PayloadRepository:
    return PayloadRepository(
        OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket)
    )


@pytest.fixture
def order_event(repo: PayloadRepository) -> dict[str, Any]:
    """An event whose order arrives as a pointer (a previous task offloaded it)."""
    order = {"id": 7, "lines": [f"line {i}" for i in range(2_000)]}
    pointer = repo.write_value("run-42:order", 0, repo.encode(order)).to_dict()
    return {"sfn_execution_arn": EXECUTION_ARN, "order": pointer}


@pytest.fixture
def persistence(moto_resources: AwsResources) -> DynamoDBPersistenceLayer:
    client = boto3.client("dynamodb", region_name=moto_resources.region)
    client.create_table(
        TableName=IDEMPOTENCY_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return DynamoDBPersistenceLayer(table_name=IDEMPOTENCY_TABLE, boto3_client=client)


@pytest.fixture
def log_stream() -> Iterator[tuple[Logger, io.StringIO]]:
    stream = io.StringIO()
    service = f"orders-{uuid.uuid4().hex[:8]}"  # Powertools loggers are shared per service name
    logger = Logger(service=service, logger_handler=logging.StreamHandler(stream))
    yield logger, stream
    logging.getLogger(service).handlers.clear()


def _log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_logger_inject_lambda_context_outside_state_offload(
    repo: PayloadRepository,
    order_event: dict[str, Any],
    log_stream: tuple[Logger, io.StringIO],
) -> None:
    """GIVEN @logger.inject_lambda_context(log_event=True) above @state_offload
    WHEN the handler logs and returns a large result
    THEN the log lines carry the Lambda context's fields, the logged event holds the pointer
    (Logger sees the raw input, never the loaded payload), the handler saw the hydrated event,
    the result left as a pointer, and the handler's name survives both decorators."""
    logger, stream = log_stream
    context = FakeLambdaContext("orders-task")

    @logger.inject_lambda_context(log_event=True)
    @state_offload(repository=repo, max_inline_bytes=5_000)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("processing", extra={"lines": len(event["order"]["lines"])})
        return {"status": "ok", "report": "r" * 20_000}

    out = handler(order_event, context)

    lines = _log_lines(stream)
    logged_event, processing = lines[0], lines[-1]
    assert is_pointer(logged_event["message"]["order"])
    assert processing["message"] == "processing"
    assert processing["lines"] == 2_000
    assert processing["function_name"] == "orders-task"
    assert processing["function_request_id"] == context.aws_request_id
    assert processing["function_arn"] == context.invoked_function_arn
    assert out["status"] == "ok"
    assert is_pointer(out["report"])
    assert handler.__name__ == "handler"


def test_tracer_capture_lambda_handler_outside_state_offload(
    repo: PayloadRepository, order_event: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN tracing disabled (as in tests) and @tracer.capture_lambda_handler above
    @state_offload
    WHEN the handler runs
    THEN it sees the hydrated event and a TaskContext, and its large result is offloaded."""
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    tracer = Tracer(service="orders")
    seen: list[Any] = []

    @tracer.capture_lambda_handler
    @state_offload(repository=repo, max_inline_bytes=5_000)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append((event["order"]["id"], type(context)))
        return {"report": "r" * 20_000}

    out = handler(order_event, FakeLambdaContext())

    assert seen == [(7, TaskContext)]
    assert is_pointer(out["report"])


def test_event_parser_below_state_offload_parses_the_hydrated_event(
    repo: PayloadRepository, order_event: dict[str, Any]
) -> None:
    """GIVEN @state_offload above @event_parser(model=OrderEvent)
    WHEN the event's order is a pointer
    THEN the model is parsed from the hydrated event (the pointer alone would not validate),
    and the handler's large result is offloaded."""

    @state_offload(repository=repo, max_inline_bytes=5_000)
    @event_parser(model=OrderEvent)
    def handler(event: OrderEvent, context: Any) -> dict[str, Any]:
        return {"id": event.order.id, "echo": event.order.lines}

    out = handler(order_event, FakeLambdaContext())

    assert out["id"] == 7
    assert is_pointer(out["echo"])
    assert repo.read_many([_pointer_of(out["echo"])])[0][:2] == ["line 0", "line 1"]


def test_event_parser_above_state_offload_sees_the_pointer_and_fails(
    repo: PayloadRepository, order_event: dict[str, Any]
) -> None:
    """GIVEN the wrong order: @event_parser above @state_offload
    WHEN the event's order is a pointer
    THEN parsing fails before anything is hydrated: state_offload must be above event_parser."""
    from pydantic import ValidationError

    @event_parser(model=OrderEvent)
    @state_offload(repository=repo)
    def handler(event: OrderEvent, context: Any) -> int:
        return event.order.id

    with pytest.raises(ValidationError):
        handler(order_event, FakeLambdaContext())


def test_idempotent_above_state_offload_keys_on_the_pointers_checksum_and_replays_the_result(
    repo: PayloadRepository,
    order_event: dict[str, Any],
    persistence: DynamoDBPersistenceLayer,
    moto_resources: AwsResources,
) -> None:
    """GIVEN @idempotent(event_key_jmespath="order.sha256") above @state_offload (DynamoDB
    persistence on moto)
    WHEN the same order arrives twice, the second time through a different pointer to the
    same content
    THEN idempotent sees the event as sent: the pointer's checksum is the same, so the handler
    runs once and the second invocation replays the first one's offloaded result; the record
    holds that small result."""
    calls: list[int] = []
    config = IdempotencyConfig(event_key_jmespath="order.sha256", raise_on_no_idempotency_key=True)
    again = {
        **order_event,
        "order": repo.write_value(
            "run-43:order",
            0,
            repo.encode(repo.read_many([_pointer_of(order_event["order"])])[0]),
        ).to_dict(),
    }
    assert again["order"]["key"] != order_event["order"]["key"]

    @idempotent(config=config, persistence_store=persistence)
    @state_offload(repository=repo, max_inline_bytes=5_000)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event["order"]["id"])
        return {"order_id": event["order"]["id"], "report": "r" * 20_000}

    first = handler(order_event, FakeLambdaContext())
    second = handler(again, FakeLambdaContext())

    assert calls == [7]
    assert first == second
    assert first["order_id"] == 7
    assert is_pointer(first["report"])
    records = boto3.client("dynamodb", region_name=moto_resources.region).scan(
        TableName=IDEMPOTENCY_TABLE
    )["Items"]
    assert [r["status"]["S"] for r in records] == ["COMPLETED"]
    assert len(records[0]["data"]["S"]) < 2_000


def test_the_full_documented_stack_works_together(
    repo: PayloadRepository,
    order_event: dict[str, Any],
    persistence: DynamoDBPersistenceLayer,
    log_stream: tuple[Logger, io.StringIO],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN logger > tracer > idempotent > state_offload > event_parser > handler
    WHEN the same pointer-carrying event is handled twice
    THEN the handler parses the hydrated order once, both results are the same offloaded
    output, and the log line carries the Lambda context's function name."""
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    logger, stream = log_stream
    tracer = Tracer(service="orders")
    config = IdempotencyConfig(event_key_jmespath="order.sha256")
    calls: list[int] = []

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @idempotent(config=config, persistence_store=persistence)
    @state_offload(repository=repo, max_inline_bytes=5_000)
    @event_parser(model=OrderEvent)
    def handler(event: OrderEvent, context: Any) -> dict[str, Any]:
        calls.append(event.order.id)
        logger.info("parsed", extra={"order_id": event.order.id})
        return {"order_id": event.order.id, "lines": event.order.lines}

    context = FakeLambdaContext("orders-task")
    first = handler(order_event, context)
    second = handler(order_event, context)

    assert calls == [7]
    assert first == second
    assert first["order_id"] == 7
    assert is_pointer(first["lines"])
    parsed = [line for line in _log_lines(stream) if line["message"] == "parsed"]
    assert [(p["order_id"], p["function_name"]) for p in parsed] == [(7, "orders-task")]
    assert handler.__name__ == "handler"
