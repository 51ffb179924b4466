"""Every example and ASL file runs through moto's Step Functions engine, as `make demo` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples.order_report import handlers
from sfn_offload.budget import STATE_LIMIT_BYTES
from sfn_offload.testing import LocalStepFunctions

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "order_report"
DEFINITIONS = sorted(EXAMPLE.glob("*.asl.json"))
TASKS = ("check_feature", "load_orders", "price_shard", "aggregate")


def test_every_definition_file_is_found_and_is_json() -> None:
    assert [d.name for d in DEFINITIONS] == [
        "state_machine.asl.json",
        "state_machine.jsonata.asl.json",
    ]
    for definition in DEFINITIONS:
        assert json.loads(definition.read_text())["StartAt"] == "CheckFeature"


@pytest.fixture
def local() -> LocalStepFunctions:
    with LocalStepFunctions() as kit:
        yield kit


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda p: p.name)
def test_decorated_pipeline_succeeds_and_every_state_fits(
    local: LocalStepFunctions, definition: Path
) -> None:
    """GIVEN the decorated handlers WHEN the machine runs THEN it SUCCEEDS under the limit."""
    for name in TASKS:
        local.register(name, getattr(handlers, name))
    run = local.run(definition, {"tenant": "acme", "report_enabled": True})
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.output["orders"] == handlers.SHARDS * handlers.ORDERS_PER_SHARD
    assert run.output["orders_seen"] == run.output["orders"]
    assert run.output["status"] == "done"  # kept inline for a Choice state
    assert run.output["order_index"]["__sfn_offload__"] == 1  # offloaded, a pointer
    sizes = run.state_sizes()
    assert {s.name for s in sizes} >= {"LoadOrders", "PriceShards", "PriceShard", "Aggregate"}
    assert all(s.largest <= STATE_LIMIT_BYTES for s in sizes)
    assert local.invocations.count("price_shard") == handlers.SHARDS


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda p: p.name)
def test_undecorated_pipeline_fails_with_data_limit_exceeded(
    local: LocalStepFunctions, definition: Path
) -> None:
    """GIVEN the same handlers without the decorator THEN States.DataLimitExceeded."""
    for name in TASKS:
        local.register(name, getattr(handlers, f"{name}_plain"))
    run = local.run(definition, {"tenant": "acme", "report_enabled": True})
    assert run.status == "FAILED"
    assert run.error == "States.DataLimitExceeded"
    assert "price_shard" not in local.invocations


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda p: p.name)
def test_feature_flag_off_aborts_with_error_and_cause(
    local: LocalStepFunctions, definition: Path
) -> None:
    """GIVEN report_enabled false WHEN the first task raises StopExecution THEN ABORTED."""
    for name in TASKS:
        local.register(name, getattr(handlers, name))
    run = local.run(definition, {"tenant": "globex", "report_enabled": False})
    assert run.status == "ABORTED"
    assert run.error == "ReportDisabled"
    assert run.cause == "order reports are off for globex"
    assert local.invocations == ["check_feature"]


def test_explicit_stop_via_context_aborts(local: LocalStepFunctions) -> None:
    local.register("stopper", handlers.state_offload(handlers.stop_via_context))
    definition = {
        "StartAt": "Stop",
        "States": {
            "Stop": {
                "Type": "Task",
                "Resource": "${stopper}",
                "Parameters": {"report_enabled": False, "sfn_execution_arn.$": "$$.Execution.Id"},
                "Next": "After",
            },
            "After": {"Type": "Wait", "Seconds": 30, "End": True},
        },
    }
    run = local.run(definition, {})
    assert run.status == "ABORTED"
    assert (run.error, run.cause) == ("ReportDisabled", "switched off")


def test_demo_script_passes(capsys: pytest.CaptureFixture[str]) -> None:
    """`make demo` (examples/demo.py) finishes with PASS and exit code 0."""
    from examples import demo

    assert demo.main() == 0
    out = capsys.readouterr().out
    assert "PASS" in out
    assert "States.DataLimitExceeded" in out
    assert "ABORTED" in out
