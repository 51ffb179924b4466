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


def render(results: dict[str, Any]) -> str:
    """``latest.md``: the targets, then one section per measurement present in ``results``."""
    out = _header(results)
    for section in (
        _offload_section,
        _hydrate_cpu_section,
        _decorator_section,
        _cold_start_section,
        _storage_section,
        _fanout_section,
        _lists_section,
        _element_section,
        _latency_section,
        _memory_section,
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
        _md_table(
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
            "receiving the list pointer (its hydrating half) and `StateDataClient.get_items`; "
            "py2sfn = `get_items` (a paginated Query, then one GET per S3 element, in "
            "sequence); floor = the partition's Query pages and the S3 GETs, concurrent, no "
            "verification. Stored = sfn-offload's partition: item bytes as DynamoDB counts "
            "them and the Query pages moto returns for it (at most 1,000,000 bytes each). "
            "sfn-offload verifies size and SHA-256 of every element.",
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
            "an element reference (what the Map's ItemSelector passes) and "
            "`StateDataClient.get_item_for_map_iteration`; py2sfn = "
            "`get_item_for_map_iteration` (it builds a boto3 resource per call); floor = one "
            "GetItem per iteration, and a GET for an element in S3. Times are for all "
            "iterations together.",
            "",
        ]
        out.append(_aws_table(element, kind="element"))
    return out


def _offload_section(results: dict[str, Any]) -> list[str]:
    """Section 1, offload speed (no lines when it was not measured)."""
    out: list[str] = []
    off = results.get("offload", {})
    if off.get("sizes"):
        out += [
            "",
            "## 1. offload() speed (in process, no AWS)",
            "",
            "`sfn_offload.offload()` (as the decorator calls it, budget for a 1 KiB event: "
            f"{off['budget']:,} bytes) on a `MemoryStore` repository, against one `json.dumps` "
            "of the same result (default arguments), in one fresh process: CPU time, the two "
            "interleaved, fastest of the repetitions (median in the JSON). Measuring = "
            "`offload()` with a budget nothing exceeds (it only measures).",
            "",
            _md_table(
                [
                    "result",
                    "JSON bytes",
                    "json.dumps",
                    "offload()",
                    "measuring",
                    "offload/dumps",
                    "pointers",
                ],
                [
                    [
                        f"{r['mb']:g} MB report",
                        f"{r['json_bytes']:,}",
                        _seconds(r["dumps"]["min_s"]),
                        _seconds(r["offload"]["min_s"]),
                        _seconds(r["measuring"]["min_s"]),
                        f"{r['ratio']:.2f}x",
                        "whole result" if r["whole_result"] else r["pointers"],
                    ]
                    for r in off["sizes"]
                ],
            ),
            "",
            _md_table(
                [
                    "~2 KB siblings",
                    "JSON bytes",
                    "json.dumps",
                    "offload()",
                    "offload/dumps",
                    "offload per sibling",
                ],
                [
                    [
                        f"{r['siblings']:,}",
                        f"{r['json_bytes']:,}",
                        _seconds(r["dumps"]["min_s"]),
                        _seconds(r["offload"]["min_s"]),
                        f"{r['ratio']:.2f}x",
                        f"{r['offload_us_per_sibling']:.1f} us",
                    ]
                    for r in off["siblings"]
                ],
            ),
        ]
        once = off["fan_out_once"]
        out += [
            "",
            f"A {once['mb']:g} MB result without fan-out lists, offloaded before `fan_out()` was "
            f"ever used in the process: {_seconds(once['before']['offload']['min_s'])}; after it "
            f"was used once: {_seconds(once['after']['offload']['min_s'])} "
            f"(**{once['after_vs_before']:.3f}x**, each relative to one json.dumps); while a "
            f"FanOut list is kept alive somewhere: {once['while_alive_vs_before']:.2f}x.",
        ]
    return out


def _hydrate_cpu_section(results: dict[str, Any]) -> list[str]:
    """Section 2, library CPU per hydrated pointer (no lines when it was not measured)."""
    out: list[str] = []
    hyd = results.get("hydrate_cpu", {})
    if hyd.get("cases"):
        out += [
            "",
            "## 2. Library CPU per hydrated pointer (in process, no AWS)",
            "",
            "`sfn_offload.hydrate(event, repository)` on a `MemoryStore` repository: CPU time "
            f"per pointer, {hyd['repeat']} interleaved rounds. `json.loads` = decoding the same "
            "payload bytes alone, what any reader pays.",
            "",
            _md_table(
                ["case", "payload", "per pointer (median)", "fastest", "json.loads alone"],
                [
                    [
                        c["case"],
                        f"~{c['payload_bytes']} B",
                        f"{c['median_us']:.1f} us",
                        f"{c['min_us']:.1f} us",
                        f"{c['json_loads_us']:.1f} us",
                    ]
                    for c in hyd["cases"]
                ],
            ),
        ]
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
            _md_table(
                ["case", "impl", "0 ms", f"{LATENCY_MS:g} ms", "latency cost", "requests"],
                [
                    [
                        r["case"],
                        r["impl"],
                        _seconds(r["direct_s"]),
                        _seconds(r["latency_s"]),
                        f"+{_seconds(max(0.0, r['cost_s']))}",
                        r["requests"],
                    ]
                    for r in lat["rows"]
                ],
            ),
        ]
    return out


def _decorator_section(results: dict[str, Any]) -> list[str]:
    """Section 3, decorator overhead (no lines when it was not measured)."""
    out: list[str] = []
    dec = results.get("decorator_overhead", {})
    if dec.get("cases"):
        out += [
            "",
            "## 3. Decorator overhead (in process, no AWS)",
            "",
            "`@state_offload(repository=...)` over a `MemoryStore`-backed repository; microseconds "
            f"per call, median of {dec['repeat']} timeit samples of ~20 ms each. Store requests "
            f"during the whole measurement: {dec['store_requests']}; AWS clients created: "
            f"{dec['aws_clients_created'] or 'none'}.",
            "",
        ]
        rows = []
        for case in dec["cases"]:
            ref_name = "dumps+loads" if "dumps_loads_us" in case else "dumps"
            ref = case.get("dumps_loads_us", case.get("dumps_us"))
            ratio = case.get("overhead_vs_dumps_loads", case.get("overhead_vs_dumps"))
            rows.append(
                [
                    case["case"],
                    f"{case['bare_us']:.2f}",
                    f"{case['decorated_us']:.1f}",
                    f"{case['overhead_us']:.1f}",
                    f"{ref:.1f} ({ref_name})",
                    f"{ratio:.2f}x",
                ]
            )
        out.append(
            _md_table(
                ["case", "bare us", "decorated us", "overhead us", "reference us", "overhead/ref"],
                rows,
            )
        )
    return out


def _cold_start_section(results: dict[str, Any]) -> list[str]:
    """Section 4, cold start (no lines when it was not measured)."""
    out: list[str] = []
    cold = results.get("cold_start", {})
    if cold.get("side_effects"):
        fx = cold["side_effects"]
        out += [
            "",
            "## 4. Cold start",
            "",
            _md_table(
                ["measure", "value"],
                [
                    [
                        "`import sfn_offload` after boto3 + powertools (-X importtime cumulative, "
                        f"median of {cold['repeat']})",
                        f"{cold['sfn_offload_import_ms']:.1f} ms",
                    ],
                    [
                        "the same, wall clock (perf_counter around the import)",
                        f"{cold['import_wall_ms']:.1f} ms",
                    ],
                    [
                        "for scale: boto3 / aws_lambda_powertools",
                        f"{cold['boto3_import_ms']:.0f} ms / {cold['powertools_import_ms']:.0f} ms",
                    ],
                    [
                        "clients created / requests sent / sockets connected at import",
                        f"{fx['clients_created']} / {fx['requests_sent']} / "
                        f"{fx['sockets_connected']}",
                    ],
                    [
                        "boto3.DEFAULT_SESSION after import",
                        "None" if fx["default_session_is_none"] else "SET",
                    ],
                    ["threads started at import", fx["threads_started"]],
                ],
            ),
        ]
    return out


def _storage_section(results: dict[str, Any]) -> list[str]:
    """Section 5, storage efficiency (no lines when it was not measured)."""
    out: list[str] = []
    storage = results.get("storage", {})
    if storage.get("rows"):
        out += [
            "",
            "## 5. Storage efficiency",
            "",
            'Order records (repetitive keys) as `{"status": ..., "order_count": ..., '
            '"report": <payload>}`. Decorator = `sfn_offload.offload()` with the default budget '
            "(what `@state_offload` does after the handler); put_item = `StateDataClient.put_item` "
            "(py2sfn item layout); py2sfn = the bytes its `put_item` stores (`json.dumps` with "
            "default separators). Placement and bytes are the repository's own (MemoryStore "
            "stores, so no network in the timing).",
            "",
        ]
        rows = []
        for r in storage["rows"]:
            d, p, y = r["decorator"], r["put_item"], r["py2sfn_put_item"]
            rows.append(
                [
                    f"{r['payload_mb']:g} MB",
                    r["compression"],
                    f"{r['json_bytes']:,}",
                    d["placement"],
                    f"{d['stored_bytes']:,} ({d['stored_bytes'] / r['json_bytes']:.0%})",
                    f"{d['inline_bytes']:,}",
                    _seconds(d["seconds"]),
                    p["placement"],
                    _seconds(p["seconds"]),
                    f"{y['placement']}, {y['stored_bytes']:,}",
                ]
            )
        out.append(
            _md_table(
                [
                    "payload",
                    "compression",
                    "JSON bytes",
                    "decorator: where",
                    "stored bytes",
                    "left inline",
                    "offload() time",
                    "put_item: where",
                    "put_item time",
                    "py2sfn put_item",
                ],
                rows,
            )
        )
    return out


def _memory_section(results: dict[str, Any]) -> list[str]:
    """Section 10, peak memory (no lines when it was not measured)."""
    out: list[str] = []
    mem = results.get("memory", {})
    if mem.get("rows"):
        out += [
            "",
            "## 10. Peak memory",
            "",
            f"One fresh process per row; method: {mem['method']}. Peak = the most memory the "
            "operation needed above the baseline (imports, warm clients and, for offload, the "
            "payload object already built). Object = RSS growth from building (offload) or "
            "keeping (hydrate) the payload object. Floor: offload = one `json.dumps` + "
            "`put_object`; hydrate = `json.loads(get_object(...).read())` of the same object.",
            "",
            _md_table(
                [
                    "op",
                    "impl",
                    "shape",
                    "payload MB",
                    "object MB",
                    "peak MB",
                    "peak/payload",
                    "time",
                ],
                [
                    [
                        r["op"],
                        r["impl"],
                        r["shape"],
                        f"{r['payload_bytes'] / 1e6:.1f}",
                        f"{r.get('object_bytes', 0) / 1e6:.0f}",
                        f"{r['peak_delta_bytes'] / 1e6:.0f}",
                        f"{r['ratio']}x",
                        _seconds(r["seconds"]),
                    ]
                    for r in mem["rows"]
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
                        _seconds(r["median_s"]),
                        _seconds(r["client_cpu_s"]),
                        f"{r['median_s'] / floor_t:.2f}x",
                        f"{py_t / r['median_s']:.1f}x",
                    ]
                )
    return _md_table(
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


def _md_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _ops(requests: dict[str, int]) -> str:
    return ", ".join(f"{op.split(':', 1)[1]} {count}" for op, count in requests.items()) or "-"


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


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
    lines += [
        f"| {t['target']} | {t['goal']} | {t['measured']} | **{t['verdict']}** |"
        for t in results.get("targets", [])
    ]
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
