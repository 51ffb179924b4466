"""The in-process sections of ``latest.md`` (offload speed, library CPU, decorator overhead,
cold start, storage, peak memory) and the Markdown helpers ``report.py`` shares with them."""

from __future__ import annotations

from typing import Any


def offload_section(results: dict[str, Any]) -> list[str]:
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
            md_table(
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
                        seconds(r["dumps"]["min_s"]),
                        seconds(r["offload"]["min_s"]),
                        seconds(r["measuring"]["min_s"]),
                        f"{r['ratio']:.2f}x",
                        "whole result" if r["whole_result"] else r["pointers"],
                    ]
                    for r in off["sizes"]
                ],
            ),
            "",
            _siblings_table(off["siblings"]),
        ]
        once = off["fan_out_once"]
        out += [
            "",
            f"A {once['mb']:g} MB result without fan-out lists, offloaded before `fan_out()` was "
            f"ever used in the process: {seconds(once['before']['offload']['min_s'])}; after it "
            f"was used once: {seconds(once['after']['offload']['min_s'])} "
            f"(**{once['after_vs_before']:.3f}x**, each relative to one json.dumps); while a "
            f"FanOut list is kept alive somewhere: {once['while_alive_vs_before']:.2f}x.",
        ]
    return out


def _siblings_table(siblings: list[dict[str, Any]]) -> str:
    return md_table(
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
                seconds(r["dumps"]["min_s"]),
                seconds(r["offload"]["min_s"]),
                f"{r['ratio']:.2f}x",
                f"{r['offload_us_per_sibling']:.1f} us",
            ]
            for r in siblings
        ],
    )


def hydrate_cpu_section(results: dict[str, Any]) -> list[str]:
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
            md_table(
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


def decorator_section(results: dict[str, Any]) -> list[str]:
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
            md_table(
                ["case", "bare us", "decorated us", "overhead us", "reference us", "overhead/ref"],
                rows,
            )
        )
    return out


def cold_start_section(results: dict[str, Any]) -> list[str]:
    """Section 4, cold start (no lines when it was not measured)."""
    out: list[str] = []
    cold = results.get("cold_start", {})
    if cold.get("side_effects"):
        fx = cold["side_effects"]
        out += [
            "",
            "## 4. Cold start",
            "",
            md_table(
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


def storage_section(results: dict[str, Any]) -> list[str]:
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
                    seconds(d["seconds"]),
                    p["placement"],
                    seconds(p["seconds"]),
                    f"{y['placement']}, {y['stored_bytes']:,}",
                ]
            )
        out.append(
            md_table(
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


def memory_section(results: dict[str, Any]) -> list[str]:
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
            md_table(
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
                        seconds(r["seconds"]),
                    ]
                    for r in mem["rows"]
                ],
            ),
        ]
    return out


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
