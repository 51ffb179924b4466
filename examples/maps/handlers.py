"""Handlers of the Map-at-scale example (docs/maps.md): fan out, work per shard, total."""

from __future__ import annotations

from typing import Any

from sfn_offload import TaskContext, fan_out, state_offload


@state_offload
def split(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """One shard per order: a list pointer whose ``items`` the Map iterates."""
    orders = [{"id": f"o-{i}", "lines": event["lines"]} for i in range(event["count"])]
    return {"shards": fan_out([{"order": order} for order in orders])}


@state_offload
def price(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """One Map iteration: its shard arrives as data, its result (any size) is stored."""
    order = event["shard"]["order"]
    lines = [{"sku": f"{order['id']}-{n}", "cents": 100 + n} for n in range(order["lines"])]
    return {"order": order["id"], "total": sum(line["cents"] for line in lines), "lines": lines}


@state_offload(keep_inline=["orders", "cents"])
def total(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """After the Map: every iteration's result, in order, as one list."""
    priced = event["priced"]
    return {"orders": len(priced), "cents": sum(p["total"] for p in priced), "priced": priced}


@state_offload
def part(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """One Parallel branch: keeps its result within its share of the Parallel's output."""
    return {"status": "ok", "data": "b" * event["size"]}


@state_offload
def join(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """After the Parallel: every branch's result, hydrated."""
    return {"sizes": [len(p["data"]) for p in event["parts"]]}
