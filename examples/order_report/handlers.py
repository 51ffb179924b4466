"""Order report: four Lambda tasks of one state machine (see ``state_machine.asl.json``).

1. ``check_feature``: aborts the execution when the report is switched off (``StopExecution``).
2. ``load_orders``: produces several MB of orders and fans the shards out for a Map state.
3. ``price_shard``: one Map iteration; receives its own shard (hydrated from a pointer).
4. ``aggregate``: receives the Map's per-iteration results and the full order list, both
   hydrated, and returns a summary whose large parts are offloaded.

Without ``@state_offload`` the same handlers fail the execution with
``States.DataLimitExceeded`` (see ``plain_handlers``).
"""

from __future__ import annotations

import random
from typing import Any

from sfn_offload import StopExecution, TaskContext, fan_out, state_offload

#: Shards fanned out to the Map state, and orders per shard.
SHARDS = 40
ORDERS_PER_SHARD = 350
SKUS = [f"SKU-{n:04d}" for n in range(500)]


def make_orders(seed: int = 7) -> list[dict[str, Any]]:
    """Deterministic, realistic-looking orders (about 170 bytes each as JSON)."""
    rng = random.Random(seed)
    cities = ["Zürich", "São Paulo", "東京", "Kraków", "Reykjavík", "Austin", "Lagos"]
    return [
        {
            "order_id": f"ORD-{n:07d}",
            "customer": f"CUST-{rng.randrange(100_000):06d}",
            "city": rng.choice(cities),
            "lines": [
                {"sku": rng.choice(SKUS), "qty": rng.randint(1, 5), "price": rng.randint(199, 9999)}
                for _ in range(rng.randint(1, 3))
            ],
        }
        for n in range(SHARDS * ORDERS_PER_SHARD)
    ]


def check_feature_plain(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stop the whole execution when the report is disabled for this tenant."""
    if not event.get("report_enabled", True):
        raise StopExecution(
            error="ReportDisabled", cause=f"order reports are off for {event.get('tenant')}"
        )
    return {"tenant": event.get("tenant", "acme"), "enabled": True}


def load_orders_plain(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """All orders (several MB), plus the same orders split into shards for the Map state."""
    orders = make_orders()
    shards = [orders[i : i + ORDERS_PER_SHARD] for i in range(0, len(orders), ORDERS_PER_SHARD)]
    return {
        "status": "loaded",
        "order_count": len(orders),
        "orders": orders,
        "shards": fan_out(shards),
    }


def price_shard_plain(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Total one shard (``event["shard"]`` is the shard itself, not a pointer)."""
    shard = event["shard"]
    revenue = sum(line["qty"] * line["price"] for order in shard for line in order["lines"])
    per_sku: dict[str, int] = {}
    for order in shard:
        for line in order["lines"]:
            per_sku[line["sku"]] = per_sku.get(line["sku"], 0) + line["qty"]
    return {"orders": len(shard), "revenue_cents": revenue, "units_per_sku": per_sku}


def aggregate_plain(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Combine the Map's results; keep a per-order index for the next system."""
    results = event["priced"]
    orders = event["orders"]
    revenue = sum(r["revenue_cents"] for r in results)
    units: dict[str, int] = {}
    for r in results:
        for sku, qty in r["units_per_sku"].items():
            units[sku] = units.get(sku, 0) + qty
    return {
        "status": "done",
        "orders": sum(r["orders"] for r in results),
        "orders_seen": len(orders),
        "revenue_cents": revenue,
        "top_skus": sorted(units, key=lambda s: (-units[s], s))[:5],
        "order_index": {o["order_id"]: o["city"] for o in orders},
    }


# The deployed handlers: the same functions under the decorator.
check_feature = state_offload(check_feature_plain)
load_orders = state_offload(keep_inline=["status", "order_count"])(load_orders_plain)
price_shard = state_offload(price_shard_plain)
aggregate = state_offload(keep_inline=["status", "revenue_cents"])(aggregate_plain)


def stop_via_context(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """The explicit form of the stop, for handlers that prefer a call to a raise."""
    if not event.get("report_enabled", True):
        return context.stop_execution(error="ReportDisabled", cause="switched off")
    return {"enabled": True}
