"""The explicit py2sfn-task-tools API (README "The explicit client"), runnable on moto."""

from __future__ import annotations

from typing import Any


def run(event: dict[str, Any], execution_name: str) -> dict[str, Any]:
    """Store and load the way a py2sfn task did; returns what it loaded."""
    # --8<-- [start:usage]
    from sfn_offload import NoItemFound, StateDataClient  # was: from py2sfn_task_tools...

    client = StateDataClient("sfn-offload-local", execution_name, s3_bucket="sfn-offload-local")
    client.put_item("characters", {"name": "jerry"})  # {"table_name", "partition_key", "key", ...}
    jerry = client.get_item("characters")  # {"name": "jerry"}
    fanned = client.put_items("characters", [{"name": "jerry"}, {"name": "elaine"}])
    assert fanned["items"] == [1, 1]  # the Map state's ItemsPath
    element = client.get_item_for_map_iteration(event)  # inside a Map iteration
    try:
        client.get_item("never-written")
    except NoItemFound as exc:
        missing = str(exc)  # names the table, partition key and index
    # --8<-- [end:usage]
    return {"jerry": jerry, "element": element, "missing": missing}
