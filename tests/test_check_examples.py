"""`sfn-offload check` on the definitions the docs ship (examples/**/*.asl.json).

Every example comes out clean as an Express workflow except where a finding is the point (or a
known shortcoming of the example); as a Standard workflow, the Inline Maps also get the history
quota finding that docs/maps.md describes ("How many iterations: Inline or Distributed").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfn_offload.checks import check_definition, load_definition
from sfn_offload.testing import assert_definition_ok

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HISTORY = ("warning", "SO501")  # an Inline Map built for scale, in a Standard workflow

#: example -> (findings as Express, extra findings as Standard), as (severity, code, path)
EXPECTED: dict[str, tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]] = {
    "maps/map_at_scale.asl.json": ([], [(*HISTORY, "/States/Price")]),
    "maps/map_at_scale.jsonata.asl.json": ([], [(*HISTORY, "/States/Price")]),
    "snippets/asl/map_fan_out.asl.json": ([], [(*HISTORY, "/States/EachShard")]),
    "snippets/asl/execution_arn_plain.asl.json": ([], []),
    "snippets/asl/error_routing.asl.json": ([], []),
    "snippets/asl/execution_arn_invoke.asl.json": ([], []),
    "snippets/asl/execution_arn_jsonata.asl.json": ([], []),
    # Measure's event is an item of the item file the first task wrote: whether it carries the
    # execution ARN is up to that file (the ItemSelector does not add it).
    "snippets/asl/distributed_map.asl.json": (
        [("info", "SO102", "/States/EachItem/ItemProcessor/States/Measure")],
        [],
    ),
    # The py2sfn-task-tools form collects every iteration's result in the Map's output, so it
    # works for small Maps only (docs/maps.md: sfn_offload_map and sfn_offload_results).
    "snippets/asl/py2sfn_map.asl.json": (
        [("warning", "SO201", "/States/EachCharacter")],
        [(*HISTORY, "/States/EachCharacter")],
    ),
    "order_report/state_machine.asl.json": ([], [(*HISTORY, "/States/PriceShards")]),
    "order_report/state_machine.jsonata.asl.json": ([], [(*HISTORY, "/States/PriceShards")]),
    "maps/parallel.asl.json": ([], []),
    # Kept to show what the check says of a Map written before the conventions (docs/cli.md).
    "check/order_report_first_form.asl.json": (
        [
            ("warning", "SO201", "/States/PriceShards"),
            ("warning", "SO202", "/States/PriceShards"),
        ],
        [(*HISTORY, "/States/PriceShards")],
    ),
}


def _found(name: str, **options: Any) -> list[tuple[str, str, str]]:
    findings = check_definition(load_definition(EXAMPLES / name), **options)
    return [(f.severity.value, f.code, f.path) for f in findings]


def test_every_example_definition_has_an_expectation() -> None:
    found = sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.asl.json"))
    assert found == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_examples_as_express_workflows(name: str) -> None:
    assert _found(name, workflow_type="express") == EXPECTED[name][0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_examples_as_standard_workflows_add_the_history_quota_of_inline_maps(name: str) -> None:
    express, standard = EXPECTED[name]
    assert sorted(_found(name)) == sorted(express + standard)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_example_fails_the_default_check(name: str) -> None:
    assert_definition_ok(EXAMPLES / name)


def test_the_map_at_scale_example_fits_about_3500_iterations_as_docs_maps_says() -> None:
    (finding,) = check_definition(load_definition(EXAMPLES / "maps" / "map_at_scale.asl.json"))
    assert "7 history events per iteration" in finding.message
    assert "fits about 3,569 iterations" in finding.message


def test_the_order_report_in_its_first_form_gets_the_fixes_it_now_follows() -> None:
    """GIVEN the order report as it was first written (the whole list pointer in every iteration,
    results collected in the Map's output) THEN the check names, word for word, the two fixes the
    example now applies, and applying them leaves nothing to report."""
    first = load_definition(EXAMPLES / "check" / "order_report_first_form.asl.json")
    by_code = {f.code: f for f in check_definition(first, workflow_type="express")}

    assert sorted(by_code) == ["SO201", "SO202"]
    assert '"sfn_offload_list.$": "$.shards.ref"' in by_code["SO202"].fix
    assert '"sfn_offload_map": {"execution.$": "$$.Execution.Id"' in by_code["SO201"].fix
    now = load_definition(EXAMPLES / "order_report" / "state_machine.asl.json")
    assert check_definition(now, workflow_type="express") == []
