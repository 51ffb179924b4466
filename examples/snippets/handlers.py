"""Small handlers the ASL snippets under ``asl/`` run with (tests and docs)."""

from __future__ import annotations

from typing import Any

from sfn_offload import TaskContext, fan_out, state_offload


@state_offload
def report(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """Echo the execution ARN the state machine passed, and a large report."""
    return {
        "execution_arn": context.execution_arn,
        "order_count": len(event["orders"]),
        "detail": ["x" * 1000] * 400,  # ~400 KB: offloaded
    }


@state_offload
def produce(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    return {
        "shards": fan_out(
            [{"shard": n, "rows": list(range(n * 10, n * 10 + 10))} for n in range(8)]
        )
    }


@state_offload
def work(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    shard = event["shard"]  # the element itself
    return {"shard": shard["shard"], "total": sum(shard["rows"])}


@state_offload
def combine(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    return {"total": sum(r["total"] for r in event["results"]), "shards": len(event["results"])}


@state_offload
def produce_py2sfn(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """py2sfn style: explicit put_items, its result returned as it is."""
    return context.state_data_client.put_items(
        "characters", [{"name": "jerry"}, {"name": "elaine"}]
    )


@state_offload
def greet(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    explicit = context.state_data_client.get_item_for_map_iteration(event)  # still works
    assert explicit == event["context_value"]  # ...and the decorator already hydrated it
    return {"greeting": f"hello {event['context_value']['name']}"}


# --8<-- [start:distributed]
from sfn_offload.distributed import write_item_file
from sfn_offload.storage import PayloadRepository


@state_offload
def write_items(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    documents = [{"doc": n, "text": "lorem " * (60_000 if n % 50 == 0 else 20)} for n in range(200)]
    repository = PayloadRepository.from_env()  # SFN_OFFLOAD_TABLE / SFN_OFFLOAD_BUCKET
    item_file = write_item_file(documents, repository, namespace=context.namespace or "local")
    return {"items": item_file.to_dict()}  # {"Bucket", "Key", "InputType", "count", ...}


@state_offload
def measure(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    return {"doc": event["doc"], "words": len(event["text"].split())}  # big docs hydrated


@state_offload
def summarize(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    measured = event["measured"]  # ResultWriter's manifest, hydrated to the list of outputs
    return {"documents": len(measured), "words": sum(m["words"] for m in measured)}


# --8<-- [end:distributed]
