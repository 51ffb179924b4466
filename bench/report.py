"""``latest.md``: the benchmark results as Markdown tables, one section per measurement.

``python bench/report.py --readme`` rewrites the targets table of README.md (between its
``<!-- bench: targets -->`` markers) from ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from common import LATENCY_MS, ROOT
from report_local import (
    cold_start_section,
    decorator_section,
    hydrate_cpu_section,
    md_table,
    memory_section,
    offload_section,
    seconds,
    storage_section,
)


def render(results: dict[str, Any]) -> str:
    """``latest.md``: the targets, then one section per measurement present in ``results``."""
    out = _header(results)
    for section in (
        offload_section,
        hydrate_cpu_section,
        decorator_section,
        cold_start_section,
        storage_section,
        _fanout_section,
        _lists_section,
        _element_section,
        _latency_section,
        memory_section,
    ):
        out += section(results)
    return "\n".join(out) + "\n"


def _header(results: dict[str, Any]) -> list[str]:
    """Title, run metadata, method note, the targets table and any bench errors."""
    meta = results["meta"]
    out = [
        "# sfn-offload benchmarks",
        "",
        f"{meta['date']} · `{meta.get('command', 'bench/run.py')}` ({meta['mode']} run) · "
        f"commit {meta['commit']} · Python "
        f"{meta['python']} · {meta['cpus']} CPUs · boto3 {meta['versions'].get('boto3')} · moto "
        f"{meta['versions'].get('moto')} · py2sfn-task-tools "
        f"{meta['versions'].get('py2sfn-task-tools')} · {meta['seconds']:.0f} s · 1-minute load "
        f"average at start {meta.get('load_average_at_start')} (per section, before -> after: "
        + ", ".join(
            f"{name} {a} -> {b}"
            for name, (a, b) in meta.get("load_average_per_section", {}).items()
        )
        + ")",
        "",
        "Everything runs locally: moto (`moto.server`, its own process) stands in for DynamoDB "
        f"and S3; the {LATENCY_MS:g} ms runs go through `bench/proxy.py`, which delays each "
        f"request so that it takes {LATENCY_MS:g} ms longer (calibrated, see section 9). AWS "
        "times are medians of the repetitions shown in the JSON; in-process measurements are "
        "CPU time of the measuring process. See `bench/README.md` for the method.",
        "",
        "## Targets",
        "",
    ]
    targets = results.get("targets", [])
    out.append(
        md_table(
            ["target", "goal", "measured", "verdict", "why (when missed)"],
            [
                [t["target"], t["goal"], t["measured"], f"**{t['verdict']}**", t["why"]]
                for t in targets
            ],
        )
    )
    if results.get("errors"):
        out += ["", "**Bench errors:**", ""]
        out += [f"- {name}: `{error}`" for name, error in results["errors"].items()]
    return out


def _fanout_section(results: dict[str, Any]) -> list[str]:
    """Section 6, fan-out write (no lines when it was not measured)."""
    out: list[str] = []
    aws = results.get("fanout_write", {})
    if aws:
        out += [
            "",
            "## 6. Fan-out write (`put_items`)",
            "",
            "sfn-offload `StateDataClient.put_items`; py2sfn-task-tools 1.0.2 `put_items`; floor "
            "= hand-written boto3: ceil(n/25) BatchWriteItem and one PutObject per element over "
            "390,000 bytes, all **concurrent** on 16 threads (sfn-offload's default pool size). "
            "Requests are what botocore sent (a `before-send` hook per client); wire = what the "
            "latency proxy forwarded.",
            "",
        ]
        out.append(_aws_table(aws, kind="fanout"))
    return out


def _lists_section(results: dict[str, Any]) -> list[str]:
    """Section 7, whole lists (no lines when it was not measured)."""
    out: list[str] = []
    lists = results.get("lists", {})
    if lists:
        out += [
            "",
            f"## 7. Reading a whole list (at {LATENCY_MS:g} ms)",
            "",
            "A list stored element by element (each library's `put_items`), read whole by each "
            "implementation's best public path: sfn-offload = a handler under `@state_offload` "
            "receiving the list pointer with the list's digest (as `fan_out` writes it and "
            "`put_items` returns it; its hydrating half) and `StateDataClient.get_items` (by "
            "key, without the digest: it also reads the list's proof pages, one Query, to "
            "check every element); "
            "py2sfn = `get_items` (a paginated Query, then one GET per S3 element, in "
            "sequence); floor = the partition's Query pages and the S3 GETs, concurrent, no "
            "verification. Stored = sfn-offload's partition: item bytes as DynamoDB counts "
            "them and the Query pages moto returns for it (at most 1,000,000 bytes each). "
            "sfn-offload verifies the SHA-256 of every element.",
            "",
        ]
        out.append(_aws_table(lists, kind="list"))
    return out


def _element_section(results: dict[str, Any]) -> list[str]:
    """Section 8, one element per Map iteration (no lines when it was not measured)."""
    out: list[str] = []
    element = results.get("element", {})
    if element:
        out += [
            "",
            f"## 8. Map iterations, each loading its own element (at {LATENCY_MS:g} ms)",
            "",
            "Iterations run one after another (each a Lambda invocation), over indices spread "
            "evenly through the list. sfn-offload = a handler under `@state_offload` receiving "
            "an element reference with the list's digest (what the Map's ItemSelector passes "
            "of a `fan_out` list; the element and its proof page in one BatchGetItem) and "
            "`StateDataClient.get_item_for_map_iteration`; py2sfn = "
            "`get_item_for_map_iteration` (it builds a boto3 resource per call); floor = one "
            "GetItem per iteration, and a GET for an element in S3. Times are for all "
            "iterations together.",
            "",
        ]
        out.append(_aws_table(element, kind="element"))
    return out


def _latency_section(results: dict[str, Any]) -> list[str]:
    """Section 9, the cost of the added latency (no lines when it was not measured)."""
    out: list[str] = []
    lat = results.get("latency", {})
    if lat.get("rows"):
        out += [
            "",
            f"## 9. The cost of {LATENCY_MS:g} ms per request",
            "",
            f"Median time at 0 ms and at {LATENCY_MS:g} ms, and the difference: what the "
            "latency cost each implementation (sequential requests pay it once per request). "
            + _calibration_note(lat.get("calibration")),
            "",
            md_table(
                ["case", "impl", "0 ms", f"{LATENCY_MS:g} ms", "latency cost", "requests"],
                [
                    [
                        r["case"],
                        r["impl"],
                        seconds(r["direct_s"]),
                        seconds(r["latency_s"]),
                        f"+{seconds(max(0.0, r['cost_s']))}",
                        r["requests"],
                    ]
                    for r in lat["rows"]
                ],
            ),
        ]
    return out


def _aws_table(cases: dict[str, Any], *, kind: str) -> str:
    rows = []
    for by_latency in cases.values():
        for latency, run in by_latency.items():
            floor_t = run["impls"]["floor"]["median_s"]
            py_t = run["impls"]["py2sfn"]["median_s"]
            if kind == "fanout":
                what = f"{run['n']:,} x ~{run['element_bytes']:,} B"
            else:
                small = run["n"] - run["large"]
                what = f"{small:,} x {run['small_bytes']:,} B"
                if run["large"]:
                    what += f" + {run['large']} x {run['large_bytes'] / 1000:,.0f} KB (S3)"
                stored = run["stored"]
                what += (
                    f"; {stored['item_bytes'] / 1e6:.2f} MB of items, "
                    f"{stored['query_pages']} Query page(s)"
                )
                if kind == "element":
                    what = (
                        f"{run['iterations']} iterations ({run['s3_iterations']} in S3) over "
                        + what
                    )
            for impl, r in run["impls"].items():
                wire = "-" if r["wire_total"] is None else str(r["wire_total"])
                rows.append(
                    [
                        what,
                        latency,
                        impl,
                        r["requests_total"],
                        wire,
                        _ops(r["requests"]),
                        seconds(r["median_s"]),
                        seconds(r["client_cpu_s"]),
                        f"{r['median_s'] / floor_t:.2f}x",
                        f"{py_t / r['median_s']:.1f}x",
                    ]
                )
    return md_table(
        [
            "case",
            "latency",
            "impl",
            "requests",
            "wire",
            "by operation",
            "time (median)",
            "client CPU",
            "vs floor time",
            "py2sfn time / this",
        ],
        rows,
    )


def _ops(requests: dict[str, int]) -> str:
    return ", ".join(f"{op.split(':', 1)[1]} {count}" for op, count in requests.items()) or "-"


def _calibration_note(calibration: dict[str, Any] | None) -> str:
    if not calibration:
        return ""
    first = calibration["steps"][0]
    return (
        f"Calibration: holding a request {first['hold_ms']:g} ms added {first['added_ms']:.2f} "
        "ms end to end (proxy forwarding and CPU wake-ups after the pause), so the proxy holds "
        f"each request **{calibration['hold_ms']:.2f} ms**: a sequential GetItem then took "
        f"{calibration['direct_ms']:.2f} ms straight to moto and {calibration['proxied_ms']:.2f} "
        f"ms through the proxy, **+{calibration['added_ms']:.2f} ms** (median of "
        f"{calibration['requests']})."
    )


def readme_block(results: dict[str, Any]) -> str:
    """The README's targets table, and which run produced it."""
    meta = results["meta"]
    loads = meta.get("load_average_per_section", {})
    highest = max((max(pair) for pair in loads.values()), default=None)
    lines = [
        f"Produced by `make bench` (its `{meta.get('command', 'bench/run.py')}` part, "
        f"{meta['seconds']:.0f} s) at commit `{meta['commit']}`, {meta['date']}, on "
        f"{meta['cpus']} cores shared with other work (1-minute load average "
        f"{meta.get('load_average_at_start')} at start, at most {highest} during the run). "
        "Every ratio was measured within this one run.",
        "",
        "| target | goal | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    targets = results.get("targets", [])
    lines += [
        f"| {t['target']} | {t['goal']} | {t['measured']} | **{t['verdict']}** |" for t in targets
    ]
    # The reading of the table is generated too: a hand-written summary went stale with the
    # first run after it was written.
    missed = [t for t in targets if t["verdict"] != "PASS"]
    lines += ["", f"{len(targets) - len(missed)} of {len(targets)} targets pass."]
    if missed:
        lines += ["The misses, each with what the same run measured beside it:", ""]
        lines += [f"- {t['target']}: {t['why'] or 'no measurement explains it.'}" for t in missed]
    return "\n".join(lines) + "\n"


def write_readme(results: dict[str, Any], readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    block = f"<!-- bench: targets -->\n{readme_block(results)}<!-- /bench: targets -->"
    new, count = re.subn(
        r"<!-- bench: targets -->.*?<!-- /bench: targets -->",
        lambda _: block,
        text,
        flags=re.S,
    )
    if count != 1:
        raise SystemExit(f"{readme}: no <!-- bench: targets --> block to fill")
    readme.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="rewrite README.md's table")
    parser.add_argument("--results", type=Path, default=ROOT / "bench/results/latest.json")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    if args.readme:
        write_readme(results, ROOT / "README.md")
    else:
        print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
