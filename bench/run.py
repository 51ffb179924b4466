"""`make bench`: sfn-offload vs py2sfn-task-tools 1.0.2 vs the floor, side by side, on moto.

Writes ``bench/results/latest.md`` and ``bench/results/latest.json`` and prints PASS/FAIL per
target. A missed target is a result, not an error: the exit code is 0 unless the benchmark itself
fails. ``--quick`` runs every measurement with small counts (a smoke run, ~1 min). ``--maps``
(what ``make bench`` passes) also runs ``bench/maps.py``, alongside the measurements that CPU
time, peak memory or counts measure; the wall-clock ones (import time, the AWS comparisons) run
after it, alone. A full run into ``bench/results`` also rewrites README.md's targets table.

See ``bench/README.md`` for what each measurement does and how to read it. The parts: ``plan``
(how much to measure), ``offload_worker``, ``local_bench`` and ``aws_runs`` (the measurements),
``targets`` (goals and verdicts), ``report`` and ``report_local`` (the Markdown).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
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
from report import render, write_readme
from targets import (
    Target,
    cold_start_targets,
    decorator_targets,
    element_targets,
    fanout_targets,
    hydrate_cpu_targets,
    list_targets,
    memory_targets,
    offload_targets,
)

RESULTS = Path(__file__).resolve().parent / "results"
#: Targets are listed in this order (by the start of their names).
TARGET_ORDER = [
    "offload()",
    "library CPU",
    "decorator",
    "whole list",
    "Map iterations",
    "fan-out",
    "import",
    "peak memory",
]


class Sections:
    """Runs the measurements one section at a time. A section that breaks is recorded as an
    error (and its traceback printed) and the run goes on with the next."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results
        self.errors: dict[str, str] = {}
        self.targets: list[Target] = []
        self.loads: dict[str, list[float]] = {}
        self.cpu: dict[str, float] = {}

    def run(
        self, key: str, title: str, fn: Callable[[], Any], check: Callable[[Any], list[Target]]
    ) -> None:
        log(f"== {title}")
        t = time.perf_counter()
        cpu = _cpu_seconds()
        load_before = os.getloadavg()[0]
        try:
            self.results[key] = fn()
            self.targets.extend(check(self.results[key]))
        except Exception as exc:
            traceback.print_exc()
            self.errors[key] = f"{type(exc).__name__}: {str(exc)[:500]}"
            self.results[key] = {"error": self.errors[key]}
        self.loads[key] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        self.cpu[key] = round(_cpu_seconds() - cpu, 1)
        log(
            f"   ({time.perf_counter() - t:.0f} s, {self.cpu[key]:.0f} s CPU, load average "
            f"{self.loads[key][0]} -> {self.loads[key][1]})"
        )


def _cpu_seconds() -> float:
    """CPU time of this process and of the workers it has waited for (servers count once
    they stopped)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def offload_speed(plan: Plan) -> dict[str, Any]:
    """``bench/offload_worker.py`` in a fresh process (no fan_out() used before it starts)."""
    return dict(
        common.run_json(
            [
                str(common.BENCH / "offload_worker.py"),
                "--mb",
                *map(str, plan.offload_mb),
                "--mb-reps",
                *map(str, plan.offload_mb_reps),
                "--siblings",
                *map(str, plan.offload_siblings),
                "--sibling-reps",
                str(plan.offload_sibling_reps),
                "--fan-out-mb",
                str(plan.fan_out_once_mb),
                "--fan-out-reps",
                str(plan.fan_out_once_reps),
            ],
            timeout=plan.worker_timeout,
        )
    )


def cpu_measurements(plan: Plan, sections: Sections) -> None:
    """What CPU time, peak memory or counts measure, each ratio within one process: these may
    share the machine with ``bench/maps.py`` (another process's work adds nothing to this
    process's CPU clock)."""
    sections.run("offload", "1. offload speed", lambda: offload_speed(plan), offload_targets)
    sections.run(
        "hydrate_cpu",
        "2. library CPU per hydrated pointer",
        lambda: local_bench.hydrate_cpu(plan.hydrate_cpu_pointers, plan.hydrate_cpu_repeat),
        hydrate_cpu_targets,
    )
    sections.run(
        "decorator_overhead",
        "3. decorator overhead",
        lambda: local_bench.decorator_overhead(plan.decorator_repeat),
        decorator_targets,
    )
    sections.run(
        "storage",
        "5. storage efficiency",
        lambda: local_bench.storage(list(plan.storage_mb)),
        lambda _: [],
    )
    with common.moto_server() as moto:
        sections.run(
            "memory", "9. peak memory", lambda: aws_runs.run_memory(plan, moto), memory_targets
        )


def wall_measurements(plan: Plan, sections: Sections) -> None:
    """What wall-clock time measures: import time, then fan-out, whole lists, Map elements and
    latency on one moto server and proxy. Run with nothing else of the benchmark running."""
    sections.run(
        "cold_start",
        "4. cold start",
        lambda: local_bench.cold_start(plan.import_repeat),
        cold_start_targets,
    )
    results = sections.results
    with common.moto_server() as moto, common.latency_proxy(moto, LATENCY_MS) as proxy:
        aws: dict[str, Any] = {}
        calibration: dict[str, Any] = {}

        def all_aws() -> dict[str, Any]:
            aws.update(aws_runs.run_all_aws(plan, moto, proxy, calibration))
            return aws

        sections.run("aws", "6-8. fan-out, whole lists, Map elements (moto)", all_aws, lambda _: [])
        results.pop("aws", None)
        results["fanout_write"] = {k: v for k, v in aws.items() if k.startswith("fanout")}
        results["lists"] = {k: v for k, v in aws.items() if k.startswith("list_")}
        results["element"] = {k: v for k, v in aws.items() if k == "element"}
        results["latency"] = aws_runs.latency_summary(aws, calibration or None)
        for check in (fanout_targets, list_targets, element_targets):
            try:
                sections.targets.extend(check(aws))
            except Exception as exc:
                traceback.print_exc()
                sections.errors[f"aws_targets_{check.__name__}"] = f"{type(exc).__name__}: {exc}"


class MapsRun:
    """``bench/maps.py`` in its own processes, alongside :func:`cpu_measurements`: its table
    reports counts (requests, bytes, events), which sharing the machine does not change."""

    def __init__(self, quick: bool) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (read back in wait())
        args = [common.PYTHON, str(common.BENCH / "maps.py"), *(["--quick"] if quick else [])]
        self.process = subprocess.Popen(
            args, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT, text=True
        )

    def wait(self) -> dict[str, Any]:
        code = self.process.wait()
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        lines = [line for line in output.splitlines() if line.startswith(("==", "maps:", "|"))]
        log("\n".join(lines))
        if code != 0:
            raise RuntimeError(f"bench/maps.py failed with code {code}:\n{output[-4000:]}")
        return {"exit_code": code}


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
        commit = _git("rev-parse", "--short", "HEAD")
        # Results are only worth a commit id if the code measured is that commit's.
        if _git(
            "status", "--porcelain", "--", "src", "bench", "pyproject.toml", common.NOT_RESULTS
        ):
            commit += " (with uncommitted changes)"
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


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, cwd=ROOT, check=True, timeout=10
    ).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument(
        "--maps", action="store_true", help="run bench/maps.py alongside (what make bench does)"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": _meta(args.quick), "plan": dataclasses.asdict(plan)}
    results["meta"]["command"] = " ".join(["bench/run.py", *(argv or sys.argv[1:])])
    results["meta"]["load_average_at_start"] = round(os.getloadavg()[0], 2)
    if results["meta"]["load_average_at_start"] > 0.5:
        log(
            f"warning: 1-minute load average is {results['meta']['load_average_at_start']}: other "
            "processes are running, timings (microbenchmarks especially) will be noisy"
        )
    sections = Sections(results)
    maps = MapsRun(args.quick) if args.maps else None
    cpu_measurements(plan, sections)
    if maps is not None:
        sections.run("maps", "Map and Parallel at scale (bench/maps.py)", maps.wait, lambda _: [])
        results.pop("maps", None)
    wall_measurements(plan, sections)

    targets = sorted(
        sections.targets,
        key=lambda t: next((i for i, p in enumerate(TARGET_ORDER) if t.name.startswith(p)), 9),
    )
    results["targets"] = [t.as_dict() for t in targets]
    results["errors"] = sections.errors
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_per_section"] = sections.loads
    results["meta"]["cpu_seconds_per_section"] = sections.cpu
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
    if results["meta"]["mode"] == "full" and out.resolve() == RESULTS.resolve():
        write_readme(results, ROOT / "README.md")  # the targets table, with the commit id
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
