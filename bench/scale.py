"""A Distributed Map of 100,000 children, and an Inline Map of 10,000 iterations, in the local kit
(`make bench-scale`; about 5 minutes).

The documented shape for Maps past what one state can list (docs/distributed-map.md): a task
writes the items as an S3 item file (`write_item_file`), the Map reads it with an `ItemReader`,
each child's decorated task returns its result (a pointer when large), the Map exports the
results with a `ResultWriter`, and the next decorated task receives every result, in order.

It records whether the execution succeeded, that the last task got all N results in item order,
the largest input or output of any state in the parent's history (against 262,144 bytes), the
parent's history events, the AWS requests the handlers made, peak memory and wall time. Then the
Map-at-scale example Inline with 10,000 iterations (``maps.SCALE_ROW``: it succeeds in the kit,
and its history is over the 25,000 events AWS allows a Standard execution). Both rows are written
to ``bench/results/scale.json`` and into the ``<!-- bench: scale -->`` block of docs/maps.md.
Not part of `make bench` (five minutes at most); ``--count`` runs fewer children, alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import maps  # noqa: E402

from sfn_offload import TaskContext, state_offload  # noqa: E402
from sfn_offload.budget import STATE_LIMIT_BYTES  # noqa: E402
from sfn_offload.distributed import write_item_file  # noqa: E402
from sfn_offload.storage import PayloadRepository  # noqa: E402
from sfn_offload.testing import LocalStepFunctions  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFINITION = ROOT / "examples" / "snippets" / "asl" / "distributed_map.asl.json"
HISTORY_QUOTA = 25_000


def handlers(count: int, size: int) -> dict[str, Any]:
    """The example's three tasks: write ``count`` items, one child each, check all results."""

    @state_offload
    def write_items(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        items = [{"doc": n, "text": "x" * size} for n in range(count)]
        repository = PayloadRepository.from_env()
        item_file = write_item_file(items, repository, namespace=context.namespace or "local")
        return {"items": item_file.to_dict()}

    @state_offload
    def measure(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        return {"doc": event["doc"], "blob": "y" * size}

    # 100,000 ResultWriter records are some 33 MB of result files: more than a 128 MB function's
    # default hydration cap (a quarter of its memory), so this task says how much it may read.
    @state_offload(max_hydrate_bytes=256 * 2**20)
    def summarize(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
        measured = event["measured"]  # the ResultWriter manifest, hydrated to every output
        in_order = [m["doc"] for m in measured] == list(range(count))
        received = sum(len(m["blob"]) for m in measured)
        return {"results": len(measured), "in_order": in_order, "bytes": received}

    return {"write_items": write_items, "measure": measure, "summarize": summarize}


def run(count: int, size: int) -> dict[str, Any]:
    """Run the Distributed Map over ``count`` items of ``size`` bytes in a fresh kit."""
    with LocalStepFunctions() as kit:
        for name, handler in handlers(count, size).items():
            kit.register(name, handler)
        start = time.perf_counter()
        execution = kit.run(DEFINITION, {}, timeout=7_200)
        seconds = time.perf_counter() - start
        summary = execution.output if isinstance(execution.output, dict) else {}
        return {
            "shape": "distributed (ItemReader + ResultWriter)",
            "count": count,
            "result_bytes": size,
            "status": execution.status,
            "error": execution.error,
            "results_received": summary.get("results"),
            "in_order": summary.get("in_order"),
            "largest_state_bytes": max((s.largest for s in execution.state_sizes()), default=0),
            "history_events": len(execution.history),
            "requests": {f"{s}.{op}": n for (s, op), n in sorted(kit.aws_calls.items())},
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "seconds": round(seconds, 1),
        }


def render(row: dict[str, Any], commit: str, command: str) -> str:
    """The row as a Markdown table with the commit and command that measured it."""
    requests = ", ".join(f"{op} {n:,}" for op, n in row["requests"].items()) or "none"
    status = row["status"] if not row["error"] else f"{row['status']} ({row['error']})"
    fits = "" if row["largest_state_bytes"] <= STATE_LIMIT_BYTES else " (over)"
    quota = "" if row["history_events"] <= HISTORY_QUOTA else " (over quota)"
    got = f"{row['results_received']:,}" if row["results_received"] is not None else "none"
    return (
        f"Measured at commit `{commit}` by `{command}`, in moto's engine in process.\n\n"
        "| shape | n | result bytes | status | results received, in order | largest state "
        "(bytes) | history events | AWS requests | peak RSS (MiB) | wall time (s) |\n"
        "|---|---:|---:|---|---|---:|---:|---|---:|---:|\n"
        f"| {row['shape']} | {row['count']:,} | {row['result_bytes']:,} | {status} "
        f"| {got}, {'yes' if row['in_order'] else 'no'} | {row['largest_state_bytes']:,}{fits} "
        f"| {row['history_events']:,}{quota} | {requests} | {row['peak_rss_mib']:,} "
        f"| {row['seconds']} |\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="children (default 100,000)")
    parser.add_argument("--size", type=int, default=100, help="bytes of each result")
    args = parser.parse_args(argv)
    print(f"== distributed: {args.count:,} x {args.size:,} bytes", flush=True)
    row = run(args.count, args.size)
    command = "python bench/scale.py" + ("" if args.count == 100_000 else f" --count {args.count}")
    commit = maps.commit_id()
    table = render(row, commit, command)
    if args.count == 100_000:  # with the Inline Map past the history quota (docs/maps.md)
        print(f"== inline: {maps.SCALE_ROW[1]:,} x {maps.SCALE_ROW[2]:,} bytes", flush=True)
        inline = maps.measure(*maps.SCALE_ROW)
        table += "\n" + maps.render([inline], commit, source=f"`{command}`")
    print(table)
    if args.count == 100_000:
        RESULTS.mkdir(exist_ok=True)
        rows = [row, inline]
        (RESULTS / "scale.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        maps.write_docs(table, "scale")
    ok = row["status"] == "SUCCEEDED" and row["in_order"] and row["results_received"] == args.count
    return 0 if ok and row["largest_state_bytes"] <= STATE_LIMIT_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
