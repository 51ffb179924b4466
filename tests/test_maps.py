"""Map and Parallel at scale, through real ASL in moto's engine (docs/maps.md).

Every test checks the states, not the invocations: each state's input and output in the
history stays within 262,144 bytes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.maps import handlers
from sfn_offload import TaskContext, fan_out, state_offload
from sfn_offload.budget import STATE_LIMIT_BYTES
from sfn_offload.testing import Execution, LocalStepFunctions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples" / "maps" / "map_at_scale.asl.json").read_text())


@pytest.fixture
def local() -> Iterator[LocalStepFunctions]:
    with LocalStepFunctions() as kit:
        for name in ("split", "price", "total"):
            kit.register(name, getattr(handlers, name))
        yield kit


def assert_states_fit(run: Execution) -> dict[str, int]:
    """Every state's input and output within the limit; returns the largest bytes per state."""
    sizes = {s.name: s.largest for s in run.state_sizes()}
    over = {name: size for name, size in sizes.items() if size > STATE_LIMIT_BYTES}
    assert over == {}, f"states over {STATE_LIMIT_BYTES} bytes: {over}"
    return sizes


def _with_worker(definition: dict[str, Any], resource: str) -> dict[str, Any]:
    changed = copy.deepcopy(definition)
    changed["States"]["Price"]["ItemProcessor"]["States"]["PriceOne"]["Resource"] = resource
    return changed


# --------------------------------------------------------------------------------------------
# Inline Map: iterations store their results, the Map's output stays small
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "result_bytes"),
    [(1_000, 1_000), (1_000, 20_000), (100, 100)],
    ids=["1000x1KB", "1000x20KB", "100x100B"],
)
def test_an_inline_map_collects_every_result_in_order_whatever_their_number_and_size(
    local: LocalStepFunctions, count: int, result_bytes: int
) -> None:
    """GIVEN the documented Map (sfn_offload_map in ItemSelector, sfn_offload_results in
    ResultSelector) WHEN N iterations each return R bytes THEN the execution succeeds, the next
    task gets all N results in order, and no state grows with N."""

    @state_offload
    def work(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        order = event["shard"]["order"]
        return {"order": order["id"], "total": 1, "blob": "x" * result_bytes}

    local.register("work", work)
    run = local.run(_with_worker(EXAMPLE, "${work}"), {"count": count, "lines": 0})

    assert run.status == "SUCCEEDED", run.cause
    assert run.output["total"]["orders"] == count
    assert_states_fit(run)
    sizes = {s.name: s for s in run.state_sizes()}
    assert (sizes["Price"].output_bytes or 0) < 1_000  # a constant-size reference
    assert sizes["PriceOne"].largest < 1_000  # each iteration's input: constant size too


def test_the_next_task_reads_the_results_with_one_query_page_per_megabyte(
    local: LocalStepFunctions,
) -> None:
    """GIVEN 1,000 iterations of ~20 KB (about 20 MB in all) WHEN the next task hydrates the
    Map's results THEN it sends about one Query per MB, not one request per iteration."""

    @state_offload
    def work(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"order": event["shard"]["order"]["id"], "total": 1, "blob": "y" * 20_000}

    seen: dict[str, int] = {}

    @state_offload
    def total(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        seen["results"] = len(event["priced"])
        seen["queries"] = local.aws_calls[("dynamodb", "Query")]
        return {"orders": seen["results"]}

    local.register("work", work)
    local.register("counting_total", total)
    definition = _with_worker(EXAMPLE, "${work}")
    definition["States"]["Total"]["Resource"] = "${counting_total}"
    run = local.run(definition, {"count": 1_000, "lines": 0})

    assert run.status == "SUCCEEDED", run.cause
    assert seen["results"] == 1_000
    # one Query when Split wrote the shards, then ceil(~20.1 MB / 1 MB) pages for the results
    assert seen["queries"] <= 1 + 21
    assert local.aws_calls[("dynamodb", "BatchGetItem")] == 1_000  # one per iteration's shard


def test_results_of_10_mb_each_go_through_s3(local: LocalStepFunctions) -> None:
    """GIVEN iterations whose results are 10 MB each WHEN the Map runs THEN each result is
    stored in S3 (one GET each when read back) and the states stay small."""

    @state_offload
    def work(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"order": event["shard"]["order"]["id"], "total": 1, "blob": "z" * 10_000_000}

    local.register("work", work)
    run = local.run(_with_worker(EXAMPLE, "${work}"), {"count": 3, "lines": 0})

    assert run.status == "SUCCEEDED", run.cause
    assert_states_fit(run)
    assert local.aws_calls[("s3", "GetObject")] >= 3


def test_a_missing_iteration_result_is_a_typed_error_naming_it(local: LocalStepFunctions) -> None:
    """GIVEN a Map whose iterations catch their errors WHEN iteration 2 fails (and so stores no
    result) THEN the next task fails with MapRunFailedError naming the missing index."""

    @state_offload
    def work(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        if event["shard"]["order"]["id"] == "o-2":
            raise ValueError("cannot price o-2")
        return {"order": event["shard"]["order"]["id"], "total": 1}

    local.register("work", work)
    definition = _with_worker(EXAMPLE, "${work}")
    iterator = definition["States"]["Price"]["ItemProcessor"]["States"]
    iterator["PriceOne"].pop("End")
    iterator["PriceOne"]["Next"] = "Priced"
    iterator["PriceOne"]["Catch"] = [{"ErrorEquals": ["ValueError"], "Next": "Skipped"}]
    iterator["Priced"] = {"Type": "Pass", "End": True}
    iterator["Skipped"] = {"Type": "Pass", "Result": -1, "End": True}
    run = local.run(definition, {"count": 5, "lines": 0})

    assert (run.status, run.error) == ("FAILED", "MapRunFailedError")
    assert "[2] (1 missing)" in (run.cause or "")
    assert "'Price'" in (run.cause or "")


def test_the_maps_own_large_input_is_not_counted_twice(local: LocalStepFunctions) -> None:
    """GIVEN a Map whose input keeps a legal 20 KB field and whose ResultPath merges the results
    into it WHEN 100 iterations return 2 KB each THEN the Map state stays within the limit."""
    run = local.run(EXAMPLE, {"count": 100, "lines": 20, "note": "n" * 20_000})

    assert run.status == "SUCCEEDED", run.cause
    assert_states_fit(run)
    sizes = {s.name: s for s in run.state_sizes()}
    assert (sizes["Price"].output_bytes or 0) < 21_000  # the note, and a small reference


def test_the_jsonata_form_of_the_example_does_the_same(local: LocalStepFunctions) -> None:
    definition = json.loads(
        (ROOT / "examples" / "maps" / "map_at_scale.jsonata.asl.json").read_text()
    )
    run = local.run(definition, {"count": 200, "lines": 30})

    assert run.status == "SUCCEEDED", run.cause
    assert run.output["total"]["orders"] == 200
    assert_states_fit(run)
    sizes = {s.name: s for s in run.state_sizes()}
    assert (sizes["Price"].output_bytes or 0) < 1_000


# --------------------------------------------------------------------------------------------
# Distributed Map: the same convention
# --------------------------------------------------------------------------------------------


def test_a_distributed_map_collects_its_childrens_results_the_same_way(
    local: LocalStepFunctions,
) -> None:
    definition = copy.deepcopy(EXAMPLE)
    definition["States"]["Price"]["ItemProcessor"]["ProcessorConfig"] = {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    run = local.run(definition, {"count": 300, "lines": 10})

    assert run.status == "SUCCEEDED", run.cause
    assert run.output["total"]["orders"] == 300
    assert_states_fit(run)


# --------------------------------------------------------------------------------------------
# Fan-out lists of any length
# --------------------------------------------------------------------------------------------


def test_a_fan_out_too_long_for_an_inline_map_fails_inside_the_task_with_the_remedy(
    local: LocalStepFunctions,
) -> None:
    """GIVEN a handler fanning out 150,000 elements WHEN the placeholder array cannot fit the
    state THEN the task raises StateShapeError (which Catch routes), naming the remedy, instead
    of a plain pointer that would break the Map's ItemsPath."""

    @state_offload
    def wide(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"shards": fan_out(list(range(150_000)))}

    local.register("wide", wide)
    definition = {
        "StartAt": "Wide",
        "States": {
            "Wide": {
                "Type": "Task",
                "Resource": "${wide}",
                "Catch": [{"ErrorEquals": ["StateShapeError"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    run = local.run(definition, {})

    assert run.status == "SUCCEEDED", run.cause
    assert "write_item_file" in run.output["Cause"]
    assert_states_fit(run)


def test_old_style_element_references_fail_catchably_when_the_share_is_below_a_pointer(
    local: LocalStepFunctions,
) -> None:
    """GIVEN the element-reference-only Map (no sfn_offload_map) WHEN 1,000 iterations of 1 KB
    would overflow the Map's output THEN each iteration fails with StateShapeError naming the
    Map-results convention, never with States.DataLimitExceeded."""
    definition = copy.deepcopy(EXAMPLE)
    price = definition["States"]["Price"]
    del price["ItemSelector"]["sfn_offload_map"]
    del price["ResultSelector"]
    run = local.run(definition, {"count": 1_000, "lines": 40})

    assert run.status == "FAILED"
    assert run.error == "StateShapeError"
    assert "sfn_offload_results" in (run.cause or "")


def test_old_style_element_references_still_work_for_small_maps(
    local: LocalStepFunctions,
) -> None:
    definition = copy.deepcopy(EXAMPLE)
    price = definition["States"]["Price"]
    del price["ItemSelector"]["sfn_offload_map"]
    del price["ResultSelector"]
    price["ItemSelector"]["shard"]["sfn_offload_list.$"] = "$.batch.shards"  # the README form
    run = local.run(definition, {"count": 50, "lines": 5})

    assert run.status == "SUCCEEDED", run.cause
    assert run.output["total"]["orders"] == 50
    assert_states_fit(run)


# --------------------------------------------------------------------------------------------
# Parallel and narrowed inputs: the ASL tells the task what it cannot see
# --------------------------------------------------------------------------------------------


PARALLEL = json.loads((ROOT / "examples" / "maps" / "parallel.asl.json").read_text())


def _parallel(branches: int) -> dict[str, Any]:
    """The documented Parallel, with ``branches`` copies of its first branch."""
    definition = copy.deepcopy(PARALLEL)
    fork = definition["States"]["Fork"]
    fork["Branches"] = [fork["Branches"][0]] * branches
    fork["Parameters"]["sfn_offload_siblings"] = branches
    return definition


@pytest.mark.parametrize(("branches", "kb"), [(2, 200), (10, 100)])
def test_parallel_branches_share_the_limit(
    local: LocalStepFunctions, branches: int, kb: int
) -> None:
    """GIVEN a Parallel whose Parameters pass sfn_offload_siblings WHEN each branch returns
    ``kb`` KB THEN each stays within its share and the next task gets every branch's data."""
    local.register("part", handlers.part)
    local.register("join", handlers.join)
    run = local.run(_parallel(branches), {"size": kb * 1_000})

    assert run.status == "SUCCEEDED", run.cause
    assert run.output["sizes"] == [kb * 1_000] * branches
    assert_states_fit(run)


def test_a_narrowed_input_declares_what_the_task_cannot_see(local: LocalStepFunctions) -> None:
    """GIVEN Parameters that pass a task only part of a 150 KB input, and a ResultPath that
    merges its 150 KB result back into the whole input WHEN the state declares the unseen bytes
    (sfn_offload_reserve) THEN the task offloads enough for the merged state to fit."""

    @state_offload
    def enrich(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"status": "ok", "extra": "e" * 150_000}

    local.register("enrich", enrich)
    definition = {
        "StartAt": "Enrich",
        "States": {
            "Enrich": {
                "Type": "Task",
                "Resource": "${enrich}",
                "Parameters": {
                    "id.$": "$.id",
                    "sfn_offload_reserve": 160_000,
                    "sfn_execution_arn.$": "$$.Execution.Id",
                },
                "ResultPath": "$.enriched",
                "End": True,
            }
        },
    }
    run = local.run(definition, {"id": "a", "big": "i" * 150_000})

    assert run.status == "SUCCEEDED", run.cause
    assert run.output["enriched"]["status"] == "ok"
    assert_states_fit(run)


# --------------------------------------------------------------------------------------------
# Nested Maps
# --------------------------------------------------------------------------------------------


def test_nested_maps_each_store_their_results(local: LocalStepFunctions) -> None:
    """GIVEN an outer Map whose iterations run an inner Map (both with the results convention)
    and end in a decorated task WHEN it runs THEN every level's output stays small and the last
    task sees every inner result."""

    @state_offload
    def inner(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"cell": [event["row"], event["col"]], "pad": "p" * 2_000}

    @state_offload
    def row_total(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"row": event["row"], "cells": len(event["cells"])}

    @state_offload
    def grand(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"rows": len(event["rows"]), "cells": sum(r["cells"] for r in event["rows"])}

    for name, fn in (("inner", inner), ("row_total", row_total), ("grand", grand)):
        local.register(name, fn)

    def results_of(path: str) -> dict[str, Any]:
        return {
            "sfn_offload_results": {
                "execution.$": "$$.Execution.Id",
                "state.$": "$$.State.Name",
                "entered.$": "$$.State.EnteredTime",
                "count.$": "States.ArrayLength($)",
            }
        }

    def run_of() -> dict[str, str]:
        return {
            "execution.$": "$$.Execution.Id",
            "state.$": "$$.State.Name",
            "entered.$": "$$.State.EnteredTime",
            "index.$": "$$.Map.Item.Index",
        }

    definition = {
        "StartAt": "Rows",
        "States": {
            "Rows": {
                "Type": "Map",
                "ItemsPath": "$.rows",
                "ItemSelector": {
                    "row.$": "$$.Map.Item.Value",
                    "cols.$": "$.cols",
                    "sfn_offload_map": run_of(),
                    "sfn_execution_arn.$": "$$.Execution.Id",
                },
                "ItemProcessor": {
                    "StartAt": "Cols",
                    "States": {
                        "Cols": {
                            "Type": "Map",
                            "ItemsPath": "$.cols",
                            "ItemSelector": {
                                "row.$": "$.row",
                                "col.$": "$$.Map.Item.Value",
                                "sfn_offload_map": run_of(),
                                "sfn_execution_arn.$": "$$.Execution.Id",
                            },
                            "ItemProcessor": {
                                "StartAt": "Cell",
                                "States": {
                                    "Cell": {"Type": "Task", "Resource": "${inner}", "End": True}
                                },
                            },
                            "ResultSelector": results_of("$"),
                            "ResultPath": "$.cells",
                            "Next": "RowTotal",
                        },
                        "RowTotal": {"Type": "Task", "Resource": "${row_total}", "End": True},
                    },
                },
                "ResultSelector": results_of("$"),
                "ResultPath": "$.rows",
                "Next": "Grand",
            },
            "Grand": {
                "Type": "Task",
                "Resource": "${grand}",
                # The results of a Map run are read by a task of the same execution (they carry
                # no digest): it says which with $$.Execution.Id (docs/maps.md).
                "Parameters": {"rows.$": "$.rows", "sfn_execution_arn.$": "$$.Execution.Id"},
                "End": True,
            },
        },
    }
    run = local.run(definition, {"rows": list(range(30)), "cols": list(range(40))})

    assert run.status == "SUCCEEDED", run.cause
    assert run.output == {"rows": 30, "cells": 1_200}
    assert_states_fit(run)
