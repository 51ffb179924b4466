"""`bench/run.py --quick` runs end to end and reports every measurement (no timing asserted).

Marked ``bench``: deselected from the default run (it runs the whole harness in a subprocess,
about 40 s of CPU on a loaded 2-core machine, and checks the benchmark rather than the library).
Run it (``pytest -m bench tests/test_bench_smoke.py``) after changing ``bench/``; ``make bench``
does not: its full run fails the same way on a broken section (exit code 1, the section named).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

MEASUREMENTS = (
    "offload",
    "hydrate_cpu",
    "decorator_overhead",
    "cold_start",
    "storage",
    "fanout_write",
    "lists",
    "element",
    "latency",
    "memory",
    "targets",
)
IMPLS = {
    "fanout_write": {"sfn-offload", "py2sfn", "floor"},
    "lists": {"sfn-offload", "sfn-offload get_items", "py2sfn", "floor", "floor on py2sfn's items"},
    "element": {"sfn-offload", "sfn-offload client", "py2sfn", "floor"},
}

pytestmark = pytest.mark.bench


def test_quick_bench_runs_and_reports_every_measurement(tmp_path: Path) -> None:
    """GIVEN the benchmark WHEN run with --quick THEN it exits 0 and writes every section."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads((tmp_path / "latest.json").read_text())
    for key in MEASUREMENTS:
        assert key in results, key
        assert "error" not in results[key], results[key]
    assert not results["errors"]
    assert set(results["fanout_write"]) == {"fanout_small", "fanout_large"}
    for section, impls in IMPLS.items():
        assert results[section], section
        for case in results[section].values():
            for run in case.values():
                assert set(run["impls"]) == impls, section
    assert results["latency"]["rows"]
    assert all(t["verdict"] in ("PASS", "FAIL") for t in results["targets"])
    # Only a missed target explains itself.
    assert all(bool(t["why"]) == (t["verdict"] == "FAIL") for t in results["targets"])
    assert "## Targets" in (tmp_path / "latest.md").read_text()


def test_quick_maps_bench_runs_every_shape() -> None:
    """GIVEN bench/maps.py WHEN run with --quick THEN each shape runs and the contrast row (an
    element-reference Map too large for its share) fails catchably, never with
    States.DataLimitExceeded."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "maps.py"), "--quick"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout[done.stdout.index("| shape |") :]
    assert table.count("SUCCEEDED") == 3, table
    assert "FAILED (StateShapeError)" in table, table
    assert "DataLimitExceeded" not in table, table
