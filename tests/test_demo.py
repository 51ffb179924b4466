"""`make demo` (examples/demo.py): what a newcomer sees first."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from examples.demo import MOTO_ENGINE_LOG, HideExecutionFailures

ROOT = Path(__file__).resolve().parent.parent


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord(
        MOTO_ENGINE_LOG, logging.ERROR, __file__, 1, "%s at '%s'", (message, "<state repr>"), None
    )


def test_the_filter_hides_failures_the_execution_reports_and_nothing_else() -> None:
    hide = HideExecutionFailures()
    assert not hide.filter(_record("Exception=FailureEventException, Error=States.Timeout"))
    assert hide.filter(_record("Exception=KeyError, Details=['Payload']"))  # an engine error
    assert hide.filter(logging.LogRecord(MOTO_ENGINE_LOG, logging.ERROR, "", 1, "plain", (), None))


def test_the_demo_passes_names_the_failing_state_and_prints_no_engine_dump() -> None:
    """GIVEN the demo WHEN run as `make demo` runs it THEN it passes; the undecorated run
    names the state that failed and its result's bytes against 262,144; stored bytes are
    labelled next to JSON bytes; and stderr holds no moto log of the failed state."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Exception=" not in done.stderr
    assert len(done.stderr) < 500, done.stderr
    out = done.stdout
    assert "failed in state LoadOrders: its task load_orders returned" in out
    assert "the 262,144-byte limit" in out
    assert "JSON bytes ->" in out
    assert "bytes stored (gzip)" in out
    assert "PASS: demo finished" in out
