"""Composition with Powertools (docs: Advanced > Powertools), runnable."""

from __future__ import annotations

# --8<-- [start:stack]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser

from sfn_offload import state_offload

logger = Logger(service="orders")
tracer = Tracer(service="orders")
metrics = Metrics(namespace="Orders", service="orders")
persistence = DynamoDBPersistenceLayer(table_name="idempotency")


class Order(BaseModel):
    order_id: str
    lines: list[dict[str, int]]


class Batch(BaseModel):
    orders: list[Order]  # a pointer in the state; hydrated before parsing


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@idempotent(config=IdempotencyConfig(), persistence_store=persistence)  # the event as sent
@state_offload(metrics=metrics)  # hydrates before and offloads after everything below it
@event_parser(model=Batch)
def handler(event: Batch, context):
    report = [
        {"order_id": o.order_id, "units": sum(q for line in o.lines for q in line.values())}
        for o in event.orders
    ]
    return {"orders": len(report), "units": sum(r["units"] for r in report), "report": report}


# --8<-- [end:stack]
