"""`sfn_offload.checks`: options, invalid definitions, exact fixes, and the public surface.

The corpus (test_check_corpus.py) covers each rule on whole definitions; these tests pin the
details a user relies on.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sfn_offload import checks
from sfn_offload.checks import (
    CODES,
    DefinitionError,
    Severity,
    check_definition,
    format_text,
    load_definition,
    to_json,
)
from sfn_offload.errors import ConfigurationError, SfnOffloadError

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "definitions"
ARN = {"sfn_execution_arn.$": "$$.Execution.Id"}


def task(**fields: Any) -> dict[str, Any]:
    """A Lambda task, the last state unless ``Next`` is given."""
    ends = {} if "Next" in fields else {"End": True}
    return {"Type": "Task", "Resource": "${fn}", **ends, **fields}


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def codes(definition: dict[str, Any], **options: Any) -> list[tuple[str, str]]:
    return [(f.code, f.state) for f in check_definition(definition, **options)]


def corpus(name: str) -> dict[str, Any]:
    return load_definition(CORPUS / name)


# --------------------------------------------------------------------------------------------
# what counts as a Lambda task, and the execution ARN
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    [
        "${report}",
        "arn:aws:lambda:eu-west-1:123456789012:function:report",
        "arn:aws:lambda:eu-west-1:123456789012:function:report:live",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:report",
    ],
)
def test_lambda_resources_are_checked(resource: str) -> None:
    assert codes(machine(T=task(Resource=resource, Parameters={}))) == [("SO101", "T")]


def test_other_service_integrations_are_not_lambda_tasks() -> None:
    sns = task(Resource="arn:aws:states:::sns:publish", Parameters={"Message": "hi"})
    assert codes(machine(T=sns)) == []


def test_the_execution_arn_key_is_configurable() -> None:
    definition = machine(T=task(Parameters={"arn.$": "$$.Execution.Id"}))
    assert codes(definition) == [("SO101", "T")]
    assert codes(definition, execution_arn_key="arn") == []


def test_a_state_after_one_that_passes_the_arn_through_has_it() -> None:
    """GIVEN a first task that merges its result into an input holding the ARN WHEN the next
    task receives its whole input THEN it has the ARN."""
    definition = machine(
        Set={"Type": "Pass", "Parameters": ARN, "Next": "A"},
        A=task(ResultPath="$.a", Next="B"),
        B=task(),
    )
    assert codes(definition) == []


def test_a_jsonata_task_without_arguments_is_told_to_merge_the_arn_in() -> None:
    definition = {**machine(T=task()), "QueryLanguage": "JSONata"}
    (finding,) = check_definition(definition)
    assert finding.code == "SO102"
    assert finding.fix == (
        'pass it explicitly: set Arguments to "{% $merge([$states.input, '
        "{'sfn_execution_arn': $states.context.Execution.Id}]) %}\""
    )


# --------------------------------------------------------------------------------------------
# exact fixes, and following them
# --------------------------------------------------------------------------------------------


def test_the_parallel_fix_names_the_number_of_branches() -> None:
    findings = check_definition(corpus("bad_parallel_shares.asl.json"))
    assert findings[0].fix == "add \"sfn_offload_siblings\": 2 to the Parameters of 'Enrich'"
    assert findings[2].fix == "set \"sfn_offload_siblings\": 3 in the Parameters of 'Render'"


def test_following_the_parallel_and_reserve_fixes_leaves_nothing() -> None:
    parallel = copy.deepcopy(corpus("bad_parallel_shares.asl.json"))
    parallel["States"]["Enrich"]["Parameters"]["sfn_offload_siblings"] = 2
    parallel["States"]["Render"]["Parameters"]["sfn_offload_siblings"] = 3
    assert codes(parallel) == []

    narrowed = copy.deepcopy(corpus("bad_narrowed_no_reserve.asl.json"))
    narrowed["States"]["Enrich"]["Parameters"]["sfn_offload_reserve"] = 160_000
    narrowed["States"]["Tag"]["Parameters"]["sfn_offload_reserve"] = 160_000
    assert codes(narrowed) == []


def test_the_reserve_finding_names_what_the_task_cannot_see() -> None:
    (finding, _) = check_definition(corpus("bad_narrowed_no_reserve.asl.json"))
    assert "$.orders (the result of 'Load')" in finding.message
    assert finding.fix.startswith('add "sfn_offload_reserve": 160000 (an upper bound')
    assert "@state_offload(reserve_bytes=...)" in finding.fix


def test_a_reserve_is_not_needed_when_the_result_replaces_the_input_or_is_dropped() -> None:
    base = corpus("bad_narrowed_no_reserve.asl.json")
    for result_path in ("$", None):
        changed = copy.deepcopy(base)
        changed["States"]["Enrich"]["ResultPath"] = result_path
        assert ("SO401", "Enrich") not in codes(changed)


# --------------------------------------------------------------------------------------------
# the history quota
# --------------------------------------------------------------------------------------------


def _map_at_scale() -> dict[str, Any]:
    return load_definition(ROOT / "examples" / "maps" / "map_at_scale.asl.json")


@pytest.mark.parametrize(
    ("hint", "expected"),
    [(None, [("warning", "SO501")]), (3_569, []), (3_570, [("error", "SO501")])],
)
def test_a_known_number_of_iterations_decides_the_history_finding(
    hint: int | None, expected: list[tuple[str, str]]
) -> None:
    definition = _map_at_scale()
    if hint is not None:
        definition["States"]["Price"]["Comment"] = f"shards (sfn-offload:max-items={hint})"
    found = [(f.severity.value, f.code) for f in check_definition(definition)]
    assert found == expected


def test_a_distributed_map_or_an_express_workflow_has_no_history_finding() -> None:
    distributed = _map_at_scale()
    processor = distributed["States"]["Price"]["ItemProcessor"]
    processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert codes(distributed) == []
    assert codes(_map_at_scale(), workflow_type="express") == []


def test_an_inline_map_of_plain_items_gets_the_quota_as_information() -> None:
    definition = machine(
        Each={
            "Type": "Map",
            "ItemsPath": "$.ids",
            "ItemProcessor": {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}},
            "End": True,
        }
    )
    (finding,) = check_definition(definition)
    assert (finding.code, finding.severity) == ("SO501", Severity.INFO)
    assert "4 history events per iteration" in finding.message


# --------------------------------------------------------------------------------------------
# options and silencing
# --------------------------------------------------------------------------------------------


def test_ignore_drops_codes_everywhere_and_a_comment_drops_them_for_one_state() -> None:
    definition = corpus("bad_missing_arn.asl.json")
    assert {c for c, _ in codes(definition, ignore=["SO101", "so401"])} == {"SO102"}
    definition["States"]["Validate"]["Comment"] = "legacy (sfn-offload:ignore=SO101,SO401)"
    assert ("SO101", "Validate") not in codes(definition)
    assert ("SO101", "Price") in codes(definition)


def test_unknown_codes_and_workflow_types_are_refused() -> None:
    definition = machine(T=task(Parameters=ARN))
    with pytest.raises(ConfigurationError, match="SO999"):
        check_definition(definition, ignore=["SO999"])
    with pytest.raises(ConfigurationError, match="workflow_type"):
        check_definition(definition, workflow_type="batch")  # type: ignore[arg-type]
    definition["States"]["T"]["Comment"] = "sfn-offload:ignore=SO1O1"
    with pytest.raises(DefinitionError, match="/States/T/Comment"):
        check_definition(definition)


# --------------------------------------------------------------------------------------------
# definitions the check cannot read
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"Resources": {}}, "/States: expected a non-empty object (is this a state machine"),
        ({"StartAt": "X", "States": {"A": task()}}, "/StartAt: 'X' is not one of the states"),
        ({"StartAt": "A", "States": {"A": {"Type": "Lambda"}}}, "/States/A/Type: unknown"),
        (machine(A=task(Next="B")), "/States/A: Next state 'B' does not exist"),
        (machine(A={"Type": "Pass"}), "/States/A: needs Next or End"),
        (machine(A={"Type": "Pass", "End": "yes"}), "/States/A/End: expected true or false"),
        (
            machine(A={"Type": "Choice", "Choices": [{"Next": 3}]}),
            "/States/A/Choices/0/Next: 3 is not one of the states",
        ),
        (machine(A={"Type": "Choice"}), "/States/A/Choices: expected a non-empty list"),
        (machine(A={"Type": "Map", "End": True}), "/States/A/ItemProcessor: a Map needs"),
        (machine(A={"Type": "Parallel", "End": True}), "/States/A/Branches: expected"),
        (machine(A=task(Parameters=[1])), "/States/A/Parameters: expected an object"),
        ({**machine(A=task()), "QueryLanguage": "SQL"}, "/QueryLanguage: expected JSONPath"),
        (
            machine(
                M={"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "X", "States": {}}}
            ),
            "/States/M/ItemProcessor/States: expected a non-empty object",
        ),
    ],
)
def test_a_definition_the_check_cannot_read_names_the_place(
    definition: dict[str, Any] | str, message: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        check_definition(load_definition(definition))
    assert message in str(caught.value)
    assert isinstance(caught.value, SfnOffloadError)


def test_a_file_that_is_missing_or_not_an_object_is_a_definition_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read the definition"):
        load_definition(tmp_path / "missing.asl.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(DefinitionError, match="a state machine definition is a JSON object"):
        load_definition(tmp_path / "list.json")


# --------------------------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------------------------


def test_the_json_report_lists_every_finding_with_its_title() -> None:
    findings = check_definition(corpus("bad_narrowed_no_reserve.asl.json"))
    report = to_json(findings, source="sm.asl.json")
    assert json.loads(json.dumps(report)) == report
    assert report["ok"] is False
    assert report["counts"] == {"error": 2, "warning": 0, "info": 0}
    assert report["findings"][1] == {
        "path": "/States/Tag",
        "state": "Tag",
        "severity": "error",
        "code": "SO402",
        "title": CODES["SO402"],
        "message": "sfn_offload_reserve is 'lots': the task fails with ConfigurationError",
        "fix": "make it a whole number of bytes, 0 to 262,144",
    }
    warnings = check_definition(corpus("bad_map_copies_lists.asl.json"))
    assert {f.severity for f in warnings} == {Severity.WARNING}
    assert to_json(warnings, strict=False)["ok"] is True
    assert to_json(warnings, strict=True)["ok"] is False


def test_the_text_report_ends_with_a_count() -> None:
    findings = check_definition(corpus("bad_narrowed_no_reserve.asl.json"))
    text = format_text(findings, source="sm.asl.json")
    assert text.startswith("error SO401 /States/Enrich\n  'Enrich' receives part")
    assert text.endswith("sm.asl.json: 2 findings (2 errors, 0 warnings, 0 info)")
    assert format_text([]) == "no findings"


# --------------------------------------------------------------------------------------------
# public surface and docs
# --------------------------------------------------------------------------------------------


def test_the_checks_module_exports_exactly_its_all() -> None:
    namespace: dict[str, object] = {}
    exec("from sfn_offload.checks import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(checks.__all__)
    assert all(hasattr(checks, name) for name in checks.__all__)


def test_docs_cli_documents_every_code() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `(SO\d{3})` \|", text, flags=re.M)
    assert documented == list(CODES)
