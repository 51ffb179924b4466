"""What `sfn-offload check` says, confirmed by running the definitions in the local kit: the
flagged shape fails as the finding says, the fix it gives makes the run succeed, and its
history estimate is the kit's event count."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.maps import handlers
from sfn_offload import TaskContext, state_offload
from sfn_offload.checks import check_definition, load_definition
from sfn_offload.errors import DefinitionCheckError
from sfn_offload.testing import LocalStepFunctions

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "definitions"
ARN = {"sfn_execution_arn.$": "$$.Execution.Id"}


@pytest.fixture
def local() -> Iterator[LocalStepFunctions]:
    with LocalStepFunctions() as kit:
        yield kit


def codes(definition: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.code, f.state) for f in check_definition(definition, workflow_type="express")]


@state_offload
def big(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    return {"status": "ok", "data": "b" * 150_000}


def test_the_history_estimate_is_what_the_kit_counts(local: LocalStepFunctions) -> None:
    """GIVEN the Map-at-scale example WHEN it runs with 1 and 2 shards THEN the iterations that
    fit 25,000 events by the kit's count are the ones the check reports."""
    definition = load_definition(ROOT / "examples" / "maps" / "map_at_scale.asl.json")
    for name in ("split", "price", "total"):
        local.register(name, getattr(handlers, name))
    one, two = (len(local.run(definition, {"count": n, "lines": 1}).history) for n in (1, 2))
    per_iteration, fixed = two - one, one - (two - one)

    (finding,) = check_definition(definition)
    fits = re.search(r"fits about ([\d,]+) iterations", finding.message)
    assert fits is not None
    assert f"about {per_iteration} history events per iteration" in finding.message
    assert int(fits[1].replace(",", "")) == (25_000 - fixed) // per_iteration


def test_parallel_branches_without_their_share_fail_and_the_fix_works(
    local: LocalStepFunctions,
) -> None:
    """GIVEN two branches returning 150 KB each WHEN the Parallel passes no siblings THEN the
    check says SO301 and the run fails with States.DataLimitExceeded; with its fix, both pass."""
    local.register("make", big)
    make = {"Type": "Task", "Resource": "${make}", "End": True}
    branch = {"StartAt": "Make", "States": {"Make": make}}
    definition = {
        "StartAt": "Fork",
        "States": {
            "Fork": {
                "Type": "Parallel",
                "Parameters": dict(ARN),
                "Branches": [branch, branch],
                "End": True,
            }
        },
    }
    findings = check_definition(definition)
    assert [f.code for f in findings] == ["SO301", "SO301"]
    assert local.run(definition, {}).error == "States.DataLimitExceeded"

    assert findings[0].fix == "add \"sfn_offload_siblings\": 2 to the Parameters of 'Fork'"
    fixed = copy.deepcopy(definition)
    fixed["States"]["Fork"]["Parameters"]["sfn_offload_siblings"] = 2
    assert codes(fixed) == []
    run = local.run(fixed, {})
    assert run.status == "SUCCEEDED", run.cause


def test_a_narrowed_input_without_a_reserve_fails_and_the_fix_works(
    local: LocalStepFunctions,
) -> None:
    """GIVEN a task that sees only an id but merges 150 KB into an input already holding 150 KB
    THEN the check says SO401, the kit refuses to run it, and run anyway it fails; with the
    reserve it names, both pass."""
    local.register("load", big)
    local.register("enrich", big)
    definition = load_definition(CORPUS / "bad_narrowed_jsonata.asl.json")
    assert codes(definition) == [("SO401", "Enrich")]
    with pytest.raises(DefinitionCheckError, match=r"error SO401 /States/Enrich") as refused:
        local.run(definition, {"id": "a"})
    assert "sfn_offload_reserve" in str(refused.value)  # the fix
    assert local.invocations == []  # refused before anything ran
    assert local.run(definition, {"id": "a"}, check="off").error == "States.DataLimitExceeded"

    fixed = copy.deepcopy(definition)
    payload = fixed["States"]["Enrich"]["Arguments"]["Payload"]
    payload["sfn_offload_reserve"] = "{% $length($string($states.input)) %}"
    assert codes(fixed) == []
    run = local.run(fixed, {"id": "a"})
    assert run.status == "SUCCEEDED", run.cause


def test_an_iteration_that_can_end_without_storing_fails_the_next_task(
    local: LocalStepFunctions,
) -> None:
    """GIVEN the corpus Map whose iterations may skip their task (SO206) WHEN an item is skipped
    THEN the task after the Map fails with MapRunFailedError, as the finding says."""

    @state_offload
    def work(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"item": event["item"]}

    @state_offload
    def after(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"n": len(event["results"])}

    local.register("work", work)
    local.register("after", after)
    definition = load_definition(CORPUS / "bad_iteration_ends.asl.json")
    definition["States"]["Branchy"]["Next"] = "After"
    del definition["States"]["TwoTasks"]
    definition["States"]["After"] = {
        "Type": "Task",
        "Resource": "${after}",
        "Parameters": {"results.$": "$.branchy", **ARN},
        "End": True,
    }
    assert codes(definition) == [("SO206", "Skip")]
    items = {"items": [{"skip": False}, {"skip": True}]}
    with pytest.raises(DefinitionCheckError, match="SO206"):
        local.run(definition, items)
    run = local.run(definition, items, ignore=["SO206"])
    assert (run.status, run.error) == ("FAILED", "MapRunFailedError")


def test_a_parallel_merging_into_a_larger_input_needs_a_reserve_and_the_fix_works(
    local: LocalStepFunctions,
) -> None:
    """GIVEN a Parallel whose two branches (siblings declared) return 100 KB each into an input
    already holding 150 KB THEN the check says SO401 and the run fails; with the reserve, both
    pass."""

    @state_offload
    def part(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"status": "ok", "data": "p" * 100_000}

    local.register("load", big)
    local.register("part", part)
    definition = load_definition(CORPUS / "bad_parallel_narrowed.asl.json")
    assert codes(definition) == [("SO401", "Fork")]
    with pytest.raises(DefinitionCheckError, match=r"error SO401 /States/Fork"):
        local.run(definition, {"id": "a"})
    assert local.run(definition, {"id": "a"}, check="off").error == "States.DataLimitExceeded"

    fixed = copy.deepcopy(definition)
    fixed["States"]["Fork"]["Parameters"]["sfn_offload_reserve"] = 160_000
    assert codes(fixed) == []
    run = local.run(fixed, {"id": "a"})
    assert run.status == "SUCCEEDED", run.cause


def test_the_kit_check_modes() -> None:
    """GIVEN a Parallel whose branches do not get their share (SO301, a warning) THEN the kit
    runs it by default, refuses it when strict, and a per-run ``check`` overrides the kit's."""
    branch = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${a}", "End": True}}}
    fork = {
        "StartAt": "Fork",
        "States": {
            "Fork": {"Type": "Parallel", "Parameters": dict(ARN), "Branches": [branch] * 2}
            | {"End": True}
        },
    }
    with LocalStepFunctions() as kit:
        kit.register("a", lambda event, context: {"ok": True})
        assert kit.run(fork).status == "SUCCEEDED"
        with pytest.raises(DefinitionCheckError, match=r"\(strict\):\nwarning SO301"):
            kit.run(fork, check="strict")
    with LocalStepFunctions(check="strict") as kit:
        kit.register("a", lambda event, context: {"ok": True})
        with pytest.raises(DefinitionCheckError, match="SO301"):
            kit.run(fork)
        assert kit.run(fork, ignore=["SO301"]).output == [{"ok": True}, {"ok": True}]
        assert kit.run(fork, check="errors").status == "SUCCEEDED"
