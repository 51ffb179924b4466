"""Issue #14: ``inspect`` and ``show`` print what an execution carried without letting it drive
the terminal (control characters and bidirectional overrides are shown as escapes)."""

from __future__ import annotations

import json

import pytest

from sfn_offload.cli.history import ExecutionReport, StateData, StateVisit
from sfn_offload.cli.render import print_json, render_report, visible

ESC = "\x1b"
HOSTILE = f"Load{ESC}]0;owned{ESC}\\{ESC}[2J\x9b31m\u202eevil\u2066"


def _report() -> ExecutionReport:
    data = StateData(120, error=f"not valid JSON near {HOSTILE}")
    document = {HOSTILE: [HOSTILE]}
    ok = StateData(40, document=document)
    visit = StateVisit(HOSTILE, "Task", (), 2, 3, input=data, output=ok)
    return ExecutionReport(
        f"arn:aws:states:us-east-1:123456789012:execution:m:{HOSTILE}", "SUCCEEDED", 5, [visit],
        resolved=True,
    )  # fmt: skip


def test_inspect_prints_no_control_character_from_the_history(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GIVEN a state name, an error and data holding ESC sequences, C1 controls and a
    right-to-left override WHEN the report is printed (with the data) THEN none of them reaches
    the terminal: each shows as an escape."""
    render_report(_report(), with_data=True)
    out = capsys.readouterr().out
    for char in (ESC, "\x9b", "\u202e", "\u2066"):
        assert char not in out
    assert "\\x1b[2J" in out
    assert "\\u202e" in out


def test_json_output_escapes_what_json_itself_leaves_raw(
    capsys: pytest.CaptureFixture[str],
) -> None:
    value = {"k": f"a{ESC}b\x9bc\u202ed\x7f"}
    print_json(value, raw=True)
    out = capsys.readouterr().out
    assert json.loads(out) == value  # the same JSON value, written with escapes
    for char in (ESC, "\x9b", "\u202e", "\x7f"):
        assert char not in out


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain é ü 中", "plain é ü 中"),
        ("tab\there", "tab\\x09here"),
        ("new\nline", "new\\x0aline"),
        ("\u2028", "\\u2028"),
    ],
)
def test_visible_keeps_text_and_escapes_controls(text: str, shown: str) -> None:
    assert visible(text) == shown
