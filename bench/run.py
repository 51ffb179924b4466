"""`make bench`: sfn-offload vs py2sfn-task-tools 1.0.2 vs the floor, side by side, on moto.

Writes ``bench/results/latest.md`` and ``bench/results/latest.json`` and prints PASS/FAIL per
target. A missed target is a result, not an error: the exit code is 0 unless the benchmark itself
fails. ``--quick`` runs every measurement with small counts (a smoke run, ~30 s).

See ``bench/README.md`` for what each measurement does and how to read it. The parts: ``plan``
(how much to measure), ``local_bench`` and ``aws_runs`` (the measurements), ``targets`` (goals
and verdicts), ``report`` (the Markdown).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import aws_runs
import common
import local_bench
from common import BUCKET, LATENCY_MS, ROOT, log
from plan import QUICK, Plan
from report import render
from targets import (
    Target,
    cold_start_targets,
    decorator_targets,
    fanout_targets,
    hydrate_targets,
    memory_targets,
)

RESULTS = Path(__file__).resolve().parent / "results"
#: Targets are listed in this order (by the start of their names).
TARGET_ORDER = ["fan-out", "hydrate", "decorator", "import", "peak memory"]


class Sections:
    """Runs the measurements one section at a time. A section that breaks is recorded as an
    error (and its traceback printed) and the run goes on with the next."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results
        self.errors: dict[str, str] = {}
        self.targets: list[Target] = []
        self.loads: dict[str, list[float]] = {}

    def run(
        self, key: str, title: str, fn: Callable[[], Any], check: Callable[[Any], list[Target]]
    ) -> None:
        log(f"== {title}")
        t = time.perf_counter()
        load_before = os.getloadavg()[0]
        try:
            self.results[key] = fn()
            self.targets.extend(check(self.results[key]))
        except Exception as exc:
            traceback.print_exc()
            self.errors[key] = f"{type(exc).__name__}: {str(exc)[:500]}"
            self.results[key] = {"error": self.errors[key]}
        self.loads[key] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        log(
            f"   ({time.perf_counter() - t:.0f} s, load average {self.loads[key][0]} -> "
            f"{self.loads[key][1]})"
        )


def local_measurements(plan: Plan, sections: Sections) -> None:
    """In-process and import measurements first, on a quiet machine (no servers running yet)."""
    sections.run(
        "decorator_overhead",
        "4. decorator overhead",
        lambda: local_bench.decorator_overhead(plan.decorator_repeat),
        decorator_targets,
    )
    sections.run(
        "cold_start",
        "5. cold start",
        lambda: local_bench.cold_start(plan.import_repeat),
        cold_start_targets,
    )
    sections.run(
        "storage",
        "6. storage efficiency",
        lambda: local_bench.storage(list(plan.storage_mb)),
        lambda _: [],
    )


def aws_measurements(plan: Plan, sections: Sections) -> None:
    """Fan-out, hydration and latency, then peak memory, on one moto server and proxy."""
    results = sections.results
    with common.moto_server() as moto, common.latency_proxy(moto, LATENCY_MS) as proxy:
        aws: dict[str, Any] = {}
        calibration: dict[str, Any] = {}

        def all_aws() -> dict[str, Any]:
            aws.update(aws_runs.run_all_aws(plan, moto, proxy, calibration))
            return aws

        sections.run("aws", "1-3. fan-out, hydration, latency (moto)", all_aws, lambda _: [])
        results.pop("aws", None)
        results["fanout_write"] = {k: v for k, v in aws.items() if k.startswith("fanout")}
        results["hydrate"] = {k: v for k, v in aws.items() if k.startswith("hydrate")}
        results["latency"] = aws_runs.latency_summary(aws, calibration or None)
        try:
            sections.targets.extend(fanout_targets(aws))
            sections.targets.extend(hydrate_targets(aws))
        except Exception as exc:
            traceback.print_exc()
            sections.errors["aws_targets"] = f"{type(exc).__name__}: {exc}"
        sections.run(
            "memory", "7. peak memory", lambda: aws_runs.run_memory(plan, moto), memory_targets
        )


def _meta(quick: bool) -> dict[str, Any]:
    versions = {}
    for dist in (
        "boto3",
        "botocore",
        "moto",
        "py2sfn-task-tools",
        "aws-lambda-powertools",
        "sfn-offload",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if quick else "full",
        "commit": commit,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "latency_ms": LATENCY_MS,
        "bucket": BUCKET,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": _meta(args.quick), "plan": plan.__dict__}
    results["meta"]["load_average_at_start"] = round(os.getloadavg()[0], 2)
    if results["meta"]["load_average_at_start"] > 0.5:
        log(
            f"warning: 1-minute load average is {results['meta']['load_average_at_start']}: other "
            "processes are running, timings (microbenchmarks especially) will be noisy"
        )
    sections = Sections(results)
    local_measurements(plan, sections)
    aws_measurements(plan, sections)

    targets = sorted(
        sections.targets,
        key=lambda t: next((i for i, p in enumerate(TARGET_ORDER) if t.name.startswith(p)), 9),
    )
    results["targets"] = [t.as_dict() for t in targets]
    results["errors"] = sections.errors
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_per_section"] = sections.loads
    write_results(args.out, results, targets)
    if sections.errors:
        log(f"bench errors in: {', '.join(sections.errors)}")
        return 1
    return 0


def write_results(out: Path, results: dict[str, Any], targets: list[Target]) -> None:
    """``latest.json`` and ``latest.md`` in ``out``, then the verdicts on stdout."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "latest.md").write_text(render(results))
    log("")
    for t in targets:
        log(f"{'PASS' if t.ok else 'FAIL'}  {t.name}: {t.measured} (goal {t.goal})")
        if t.why:
            log(f"      why: {t.why}")
    log(
        f"\nwrote {out / 'latest.md'} and {out / 'latest.json'} "
        f"in {results['meta']['seconds']:.0f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
