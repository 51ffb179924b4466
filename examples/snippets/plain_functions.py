"""hydrate() and offload() without the decorator (docs: Advanced)."""

from __future__ import annotations

from typing import Any

from sfn_offload import OffloadConfig
from sfn_offload.storage import PayloadRepository


def round_trip(repository: PayloadRepository, event: dict[str, Any]) -> dict[str, Any]:
    # --8<-- [start:plain]
    from sfn_offload import hydrate, offload
    from sfn_offload.budget import inline_budget

    data = hydrate(event, repository)  # every pointer in the event replaced by its data
    result = {"status": "ok", "rows": data["rows"] * 3}
    budget = inline_budget(event_bytes=2_000)  # 262,144 - input - envelope - margin
    state = offload(result, repository, namespace="run-42", budget=budget)
    # --8<-- [end:plain]
    return state


def repository() -> PayloadRepository:
    """A repository on the local table and bucket (from the environment)."""
    return PayloadRepository(OffloadConfig.from_env())
