"""Map and Parallel at scale (`make bench`, after run.py): state sizes, requests and time.

Each row runs a real state machine in the local kit (moto's Step Functions engine, in process):
the Map-at-scale example of docs/maps.md (Inline and Distributed), the same Map without the
results convention (element references only), and a Parallel whose branches share the limit.
It records whether the execution succeeded, the largest input or output of any state (against
262,144 bytes), the history events (Standard workflows stop at 25,000), the AWS requests the
handlers made, and the wall time. The table is written to ``bench/results/maps.md`` and into the
``<!-- bench: maps -->`` block of docs/maps.md; ``--quick`` runs small counts only.
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing as mp
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import NOT_RESULTS  # noqa: E402

from examples.maps import handlers  # noqa: E402
from sfn_offload import TaskContext, state_offload  # noqa: E402
from sfn_offload.budget import STATE_LIMIT_BYTES  # noqa: E402
from sfn_offload.testing import LocalStepFunctions  # noqa: E402

RESULTS = ROOT / "bench" / "results"
EXAMPLE = json.loads((ROOT / "examples" / "maps" / "map_at_scale.asl.json").read_text())
HISTORY_QUOTA = 25_000

#: (shape, iterations or branches, result bytes each)
FULL = [
    ("inline", 1_000, 1_000),
    ("inline", 1_000, 20_000),
    ("inline", 3_000, 100),
    ("inline", 3, 10_000_000),
    ("distributed", 1_000, 1_000),
    ("element refs only", 1_000, 1_000),
    ("parallel", 10, 100_000),
]
QUICK = [
    ("inline", 200, 1_000),
    ("distributed", 100, 1_000),
    ("element refs only", 1_000, 1_000),
    ("parallel", 2, 200_000),
]


def _worker(size: int) -> Any:
    @state_offload
    def work(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"order": event["shard"]["order"]["id"], "total": 1, "blob": "x" * size}

    return work


@state_offload
def _summary(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    """The task after the Map: reads every result, returns counts (the table measures the Map)."""
    priced = event["priced"]
    return {"orders": len(priced), "bytes": sum(len(p.get("blob", "")) for p in priced)}


def _map_definition(shape: str) -> dict[str, Any]:
    definition = copy.deepcopy(EXAMPLE)
    price = definition["States"]["Price"]
    price["ItemProcessor"]["States"]["PriceOne"]["Resource"] = "${work}"
    if shape == "distributed":
        price["ItemProcessor"]["ProcessorConfig"] = {
            "Mode": "DISTRIBUTED",
            "ExecutionType": "STANDARD",
        }
    if shape == "element refs only":
        del price["ItemSelector"]["sfn_offload_map"]
        del price["ResultSelector"]
    return definition


def _parallel_definition(branches: int) -> dict[str, Any]:
    """The documented Parallel (examples/maps/parallel.asl.json) with ``branches`` branches."""
    definition = json.loads((ROOT / "examples" / "maps" / "parallel.asl.json").read_text())
    fork = definition["States"]["Fork"]
    fork["Branches"] = [fork["Branches"][0]] * branches
    fork["Parameters"]["sfn_offload_siblings"] = branches
    return definition


def measure(shape: str, count: int, size: int) -> dict[str, Any]:
    """Run one row in a fresh kit."""
    with LocalStepFunctions() as kit:
        if shape == "parallel":
            kit.register("part", handlers.part)
            kit.register("join", handlers.join)
            definition, run_input = _parallel_definition(count), {"size": size}
        else:
            kit.register("split", handlers.split)
            kit.register("total", _summary)
            kit.register("work", _worker(size))
            definition, run_input = _map_definition(shape), {"count": count, "lines": 0}
        start = time.perf_counter()
        run = kit.run(definition, run_input, timeout=1_800)
        seconds = time.perf_counter() - start
        largest = max((s.largest for s in run.state_sizes()), default=0)
        return {
            "shape": shape,
            "count": count,
            "result_bytes": size,
            "status": run.status,
            "error": run.error,
            "cause": (run.cause or "")[:4000],  # in maps.json, for a row that failed
            "largest_state_bytes": largest,
            "history_events": len(run.history),
            "requests": {f"{s}.{op}": n for (s, op), n in sorted(kit.aws_calls.items())},
            "seconds": round(seconds, 1),
        }


#: The Inline row past the history quota, measured by `make bench-scale` (bench/scale.py): alone
#: it takes longer than the rest of the table, and `make bench` has five minutes.
SCALE_ROW = ("inline", 10_000, 100)


def render(
    rows: list[dict[str, Any]],
    commit: str,
    jobs: int = 1,
    source: str = "`python bench/maps.py` (part of `make bench`)",
) -> str:
    lines = [
        f"Measured at commit `{commit}` by {source}, "
        "in moto's engine in process"
        + (
            f", {jobs} rows at a time (the wall times are shared-machine times)."
            if jobs > 1
            else "."
        ),
        "",
        "| shape | n | result bytes | status | largest state (bytes) | history events "
        "| DynamoDB requests | S3 requests | wall time (s) |",
        "|---|---:|---:|---|---:|---:|---|---|---:|",
    ]
    for row in rows:
        ddb = _ops(row["requests"], "dynamodb")
        s3 = _ops(row["requests"], "s3")
        status = row["status"] if not row["error"] else f"{row['status']} ({row['error']})"
        fits = "" if row["largest_state_bytes"] <= STATE_LIMIT_BYTES else " (over)"
        quota = "" if row["history_events"] <= HISTORY_QUOTA else " (over quota)"
        lines.append(
            f"| {row['shape']} | {row['count']:,} | {row['result_bytes']:,} | {status} "
            f"| {row['largest_state_bytes']:,}{fits} | {row['history_events']:,}{quota} "
            f"| {ddb} | {s3} | {row['seconds']} |"
        )
    return "\n".join(lines) + "\n"


def _ops(requests: dict[str, int], service: str) -> str:
    parts = [f"{op.split('.', 1)[1]} {n:,}" for op, n in requests.items() if op.startswith(service)]
    return ", ".join(parts) or "none"


def commit_id() -> str:
    """HEAD's short id, marked when the code measured differs from it."""
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    commit = out.stdout.strip() or "unknown"
    dirty = subprocess.run(
        [
            "git",
            "status",
            "--porcelain",
            "--",
            "src",
            "bench",
            "examples",
            "pyproject.toml",
            NOT_RESULTS,
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    # A table is only worth a commit id if the code measured is that commit's.
    return f"{commit} (with uncommitted changes)" if dirty else commit


def write_docs(table: str, name: str = "maps") -> None:
    """Put ``table`` into docs/maps.md's ``<!-- bench: NAME -->`` block."""
    doc = ROOT / "docs" / "maps.md"
    text = doc.read_text(encoding="utf-8")
    block = f"<!-- bench: {name} -->\n{table}<!-- /bench: {name} -->"
    pattern = rf"<!-- bench: {name} -->.*?<!-- /bench: {name} -->"
    doc.write_text(re.sub(pattern, lambda _: block, text, flags=re.S), encoding="utf-8")


def _measure_row(row: tuple[str, int, int]) -> dict[str, Any]:
    result = measure(*row)
    print(
        f"== {row[0]}: {row[1]:,} x {row[2]:,} bytes: {result['status']} in {result['seconds']} s",
        flush=True,
    )
    return result


def measure_all(rows: list[tuple[str, int, int]], jobs: int) -> list[dict[str, Any]]:
    """Every row, each in a fresh kit, on ``jobs`` processes; returned in the order given.

    What the table reports are counts (requests, bytes, events), which other processes do not
    change; only the wall time column does, and it is marked as such. The largest rows go first,
    so that the small ones fill the other process meanwhile.
    """
    if jobs <= 1:
        return [_measure_row(row) for row in rows]
    # Iterations x bytes: roughly what a row costs the engine and moto.
    order = sorted(range(len(rows)), key=lambda i: -rows[i][1] * max(1.0, rows[i][2] / 20_000))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {i: pool.submit(_measure_row, rows[i]) for i in order}
        return [futures[i].result() for i in range(len(rows))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    parser.add_argument("--jobs", type=int, default=2, help="rows measured at once (processes)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = measure_all(QUICK if args.quick else FULL, args.jobs)
    print(f"maps: {len(rows)} rows in {time.perf_counter() - started:.0f} s", flush=True)
    table = render(rows, commit_id(), args.jobs)
    print(table)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "maps.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        (RESULTS / "maps.md").write_text(table, encoding="utf-8")
        write_docs(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
