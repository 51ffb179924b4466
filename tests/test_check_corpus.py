"""`sfn-offload check` on a corpus of definitions, good and bad (tests/corpus/definitions).

Each definition's comment says what it shows; the expectations below are every finding, exact:
severity, code and the JSON pointer of the state. A new corpus file needs an entry here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfn_offload.checks import check_definition, load_definition
from sfn_offload.testing import assert_definition_ok

CORPUS = Path(__file__).resolve().parent / "corpus" / "definitions"
EXPRESS = {"workflow_type": "express"}

#: file -> (options, [(severity, code, path), ...])
EXPECTED: dict[str, tuple[dict[str, Any], list[tuple[str, str, str]]]] = {
    # -- good ----------------------------------------------------------------------------------
    "good_choice_loop.asl.json": ({}, []),
    "good_distributed_map_at_scale.asl.json": ({}, []),
    "good_invoke_custom_key.asl.json": ({"execution_arn_key": "execution_arn"}, []),
    "good_jsonata_pipeline.asl.json": ({}, []),
    "good_narrowed_with_reserve.asl.json": ({}, []),
    "good_nested_maps.asl.json": (EXPRESS, []),
    "good_parallel_siblings.asl.json": ({}, []),
    "good_py2sfn_meta.asl.json": ({}, []),
    # -- bad -----------------------------------------------------------------------------------
    "bad_half_convention.asl.json": (
        {},
        [
            ("error", "SO204", "/States/Store"),
            ("error", "SO204", "/States/Collect"),
        ],
    ),
    "bad_history_quota.asl.json": ({}, [("error", "SO501", "/States/Each")]),
    "bad_inline_map_in_distributed_child.asl.json": (
        EXPRESS,  # the children are Standard executions whatever the parent is
        [("error", "SO501", "/States/Regions/ItemProcessor/States/Stores")],
    ),
    "bad_iteration_ends.asl.json": (
        {},
        [
            ("error", "SO206", "/States/Branchy/ItemProcessor/States/Skip"),
            ("error", "SO208", "/States/TwoTasks/ItemProcessor/States/Fetch"),
            ("error", "SO206", "/States/TwoTasks/ItemProcessor/States/Transform"),
        ],
    ),
    "bad_malformed_convention.asl.json": (
        {},
        [
            ("error", "SO205", "/States/Each"),
            ("error", "SO205", "/States/Each"),
        ],
    ),
    "bad_map_collects_results.asl.json": (
        {},
        [
            ("warning", "SO201", "/States/Score"),
            ("info", "SO501", "/States/Score"),
            # Produce merges its result into an input that holds the Map's results
            ("error", "SO401", "/States/Produce"),
            ("error", "SO201", "/States/Each"),  # max-items=2000 > ~859
        ],
    ),
    "bad_map_copies_lists.asl.json": (
        {},
        [
            ("warning", "SO202", "/States/EachShard"),
            ("warning", "SO501", "/States/EachShard"),
            # EachOrder's Comment ignores SO201 and SO501
            ("warning", "SO203", "/States/EachOrder"),
            ("warning", "SO203", "/States/EachOrder"),
        ],
    ),
    "bad_map_copies_lists_jsonata.asl.json": (
        {},
        [
            ("warning", "SO202", "/States/EachOrder"),
            ("warning", "SO203", "/States/EachOrder"),
        ],
    ),
    "bad_missing_arn.asl.json": (
        {},
        [
            ("info", "SO102", "/States/Receive"),
            ("error", "SO401", "/States/Validate"),
            ("warning", "SO101", "/States/Validate"),
            ("error", "SO401", "/States/Price"),
            ("warning", "SO101", "/States/Price"),
            ("warning", "SO101", "/States/Notify"),
        ],
    ),
    "bad_missing_arn_jsonata.asl.json": (
        {},
        [
            ("warning", "SO101", "/States/Summarize"),
            ("warning", "SO101", "/States/Recover"),
        ],
    ),
    "bad_narrowed_jsonata.asl.json": ({}, [("error", "SO401", "/States/Enrich")]),
    "bad_narrowed_no_reserve.asl.json": (
        {},
        [
            ("error", "SO401", "/States/Enrich"),
            ("error", "SO402", "/States/Tag"),
        ],
    ),
    "bad_nested_map_last.asl.json": (
        EXPRESS,
        [("error", "SO207", "/States/Rows/ItemProcessor/States/Cols")],
    ),
    "bad_parallel_jsonata.asl.json": (
        {},
        [
            ("warning", "SO301", "/States/Fork/Branches/0/States/Left"),
            ("warning", "SO301", "/States/Fork/Branches/1/States/Right"),
        ],
    ),
    "bad_parallel_narrowed.asl.json": ({}, [("error", "SO401", "/States/Fork")]),
    "bad_parallel_shares.asl.json": (
        {},
        [
            ("warning", "SO301", "/States/Enrich/Branches/0/States/Customer"),
            ("warning", "SO301", "/States/Enrich/Branches/1/States/Stock"),
            ("error", "SO302", "/States/Render/Branches/0/States/Pdf"),
            ("error", "SO302", "/States/Render/Branches/1/States/Html"),
            ("error", "SO302", "/States/Render/Branches/2/States/Text"),
        ],
    ),
}


def test_the_corpus_has_at_least_15_definitions_each_with_an_expectation() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.asl.json"))
    assert len(files) >= 15
    assert files == sorted(EXPECTED)
    assert {n.split("_")[0] for n in files} == {"good", "bad"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_definition_gives_exactly_its_findings(name: str) -> None:
    """GIVEN a corpus definition WHEN it is checked THEN the findings are exactly the expected
    ones, in definition order, each with a message and a fix."""
    options, expected = EXPECTED[name]
    findings = check_definition(load_definition(CORPUS / name), **options)

    assert [(f.severity.value, f.code, f.path) for f in findings] == expected
    assert all(f.message and f.fix and f.state == f.path.split("/")[-1] for f in findings)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("good_")))
def test_good_definitions_pass_the_strict_check(name: str) -> None:
    options, _ = EXPECTED[name]
    assert assert_definition_ok(CORPUS / name, strict=True, **options) == []


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("bad_")))
def test_bad_definitions_fail_the_strict_check(name: str) -> None:
    options, _ = EXPECTED[name]
    with pytest.raises(AssertionError, match="fails sfn-offload's check"):
        assert_definition_ok(CORPUS / name, strict=True, **options)
