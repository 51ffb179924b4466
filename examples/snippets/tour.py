"""The README's 30-second tour, runnable (tests run it through moto's Step Functions engine)."""

from __future__ import annotations

from typing import Any


def feature_enabled() -> bool:
    """Stand-in for a feature-flag lookup."""
    return True


def build_report(orders: list[dict[str, Any]]) -> dict[str, Any]:
    """A report far bigger than its input (per-order detail lines)."""
    return {
        "lines": [
            {"order": o["id"], "line": n, "text": f"order {o['id']} line {n} " + "·" * 80}
            for o in orders
            for n in range(40)
        ]
    }


def split(orders: list[dict[str, Any]], size: int = 10) -> list[list[dict[str, Any]]]:
    """Shards for a Map state."""
    return [orders[i : i + size] for i in range(0, len(orders), size)]


# --8<-- [start:handler]
from sfn_offload import StopExecution, fan_out, state_offload


@state_offload(keep_inline=["status"])  # or bare: @state_offload
def handler(event, context):
    if not feature_enabled():
        raise StopExecution(error="FeatureDisabled", cause="orders-v2 flag is off")
    orders = event["orders"]  # was a pointer in the state: arrives as data
    return {
        "status": "ok",  # stays inline for a Choice state
        "report": build_report(orders),  # too big? offloaded, a small pointer returned
        "shards": fan_out(split(orders)),  # stored one item per element for a Map state
    }


# --8<-- [end:handler]
