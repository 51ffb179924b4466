"""`sfn-offload check`: output, --json, options and exit codes (0 ok, 1 failing, 2 unreadable),
and the example output docs/cli.md shows, which must be the real output."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sfn_offload.checks import CODES
from sfn_offload.cli.app import EXIT_DATA, EXIT_OK, EXIT_USAGE, cli

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "definitions"
ORDER_REPORT = "examples/check/order_report_first_form.asl.json"


def check(*args: str, code: int, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(cli, ["check", *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI crashed: {result.output}") from result.exception
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture(autouse=True)
def _in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the paths in the output are the ones given


def test_a_clean_definition_exits_0() -> None:
    result = check(str(CORPUS / "good_choice_loop.asl.json"), code=EXIT_OK)
    assert result.stdout.strip().endswith("good_choice_loop.asl.json: no findings")


def test_warnings_exit_0_unless_strict() -> None:
    check(ORDER_REPORT, code=EXIT_OK)
    result = check("--strict", ORDER_REPORT, code=EXIT_DATA)
    assert "3 findings (0 errors, 3 warnings, 0 info)" in result.stdout


def test_errors_exit_1() -> None:
    result = check(str(CORPUS / "bad_half_convention.asl.json"), code=EXIT_DATA)
    assert result.stdout.count("error SO204") == 2


def test_json_lists_the_findings() -> None:
    result = check("--json", "--strict", ORDER_REPORT, code=EXIT_DATA)
    report = json.loads(result.stdout)
    assert report["definition"] == ORDER_REPORT
    assert (report["ok"], report["strict"]) == (False, True)
    assert [(f["code"], f["path"]) for f in report["findings"]] == [
        ("SO201", "/States/PriceShards"),
        ("SO202", "/States/PriceShards"),
        ("SO501", "/States/PriceShards"),
    ]
    assert set(report["findings"][0]) == {
        "path", "state", "severity", "code", "title", "message", "fix"
    }  # fmt: skip


def test_type_express_has_no_history_quota() -> None:
    result = check("--json", "--type", "express", ORDER_REPORT, code=EXIT_OK)
    assert "SO501" not in {f["code"] for f in json.loads(result.stdout)["findings"]}


def test_execution_arn_key_and_ignore() -> None:
    custom = str(CORPUS / "good_invoke_custom_key.asl.json")
    assert "SO101" in check(custom, code=EXIT_OK).stdout
    assert (
        "no findings" in check("--execution-arn-key", "execution_arn", custom, code=EXIT_OK).stdout
    )
    assert "no findings" in check("--strict", "--ignore", "SO101", custom, code=EXIT_OK).stdout


def test_the_definition_can_come_from_stdin() -> None:
    text = (CORPUS / "bad_parallel_jsonata.asl.json").read_text()
    result = check("--strict", "-", code=EXIT_DATA, stdin=text)
    assert "<stdin>: 2 findings" in result.stdout


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("nope", "error: <stdin>: not valid JSON"),
        ('{"StartAt": "A", "States": {"A": {"Type": "Task", "Next": "B"}}}',
         "error: <stdin>: /States/A: Next state 'B' does not exist"),
        ('{"AWSTemplateFormatVersion": "2010-09-09"}',
         "error: <stdin>: /States: expected a non-empty object (is this a state machine"),
    ],
)  # fmt: skip
def test_an_unreadable_definition_exits_2_saying_why(stdin: str, message: str) -> None:
    result = check("-", code=EXIT_USAGE, stdin=stdin)
    assert result.stderr.startswith(message)
    assert result.stdout == ""


def test_usage_errors_exit_2() -> None:
    assert "SO999" in check("--ignore", "SO999", ORDER_REPORT, code=EXIT_USAGE).stderr
    assert "No such file" in check("missing.asl.json", code=EXIT_USAGE).stderr
    check("--type", "batch", ORDER_REPORT, code=EXIT_USAGE)


# --------------------------------------------------------------------------------------------
# docs/cli.md
# --------------------------------------------------------------------------------------------

_CONSOLE = re.compile(r"```console\n\$ (sfn-offload check [^\n]*)\n(.*?)```", re.S)


def test_the_documented_output_is_the_real_output() -> None:
    """GIVEN each `sfn-offload check` console block of docs/cli.md WHEN the command runs THEN it
    prints exactly what the block shows."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    blocks = _CONSOLE.findall(text)
    assert blocks, "docs/cli.md shows no `sfn-offload check` output"
    for command, shown in blocks:
        args = shlex.split(command)[2:]
        result = CliRunner().invoke(cli, ["check", *args])
        assert result.stdout == shown, command


def test_the_docs_table_gives_each_code_its_title() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(SO\d{3})` \| \w+(?:/\w+)* \| ([^|]+?) \|", text, flags=re.M))
    assert {code: title.strip() for code, title in rows.items()} == CODES
