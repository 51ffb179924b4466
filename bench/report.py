"""``latest.md``: the benchmark results as Markdown tables, one section per measurement."""

from __future__ import annotations

from typing import Any

from common import LATENCY_MS


def render(results: dict[str, Any]) -> str:
    """``latest.md``: the targets, then one section per measurement present in ``results``."""
    out = _header(results)
    for section in (
        _fanout_section,
        _hydrate_section,
        _latency_section,
        _decorator_section,
        _cold_start_section,
        _storage_section,
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
        f"{meta['date']} · {meta['mode']} run · commit {meta['commit']} · Python "
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
        f"request so that it takes {LATENCY_MS:g} ms longer (calibrated, see section 3). Times "
        "are medians of the repetitions shown in the JSON. "
        "See `bench/README.md` for the method.",
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
    """Section 1, fan-out write (no lines when it was not measured)."""
    out: list[str] = []
    aws = results.get("fanout_write", {})
    if aws:
        out += [
            "",
            "## 1. Fan-out write (`put_items`)",
            "",
            "sfn-offload `StateDataClient.put_items`; py2sfn-task-tools 1.0.2 `put_items`; floor "
            "= hand-written boto3: ceil(n/25) BatchWriteItem and one PutObject per element over "
            "390,000 bytes, all **concurrent** on 16 threads (sfn-offload's default pool size). "
            "Requests are what botocore sent (a `before-send` hook per client); wire = what the "
            "latency proxy forwarded.",
            "",
        ]
        out.append(_aws_table(aws, fanout=True))
    return out


def _hydrate_section(results: dict[str, Any]) -> list[str]:
    """Section 2, hydration (no lines when it was not measured)."""
    out: list[str] = []
    hyd = results.get("hydrate", {})
    if hyd:
        out += [
            "",
            "## 2. Hydrating Map results (pointers)",
            "",
            "sfn-offload `sfn_offload.hydrate(event, repository)` on an event holding a list of "
            "v1 pointers (what `@state_offload` iterations return); py2sfn: a `get_item` loop "
            "over the items its `put_items` wrote; floor: ceil(n/100) BatchGetItem and one "
            "GetObject per S3 payload, all in flight together on 16 threads, `json.loads`, no "
            "verification. sfn-offload also verifies size and SHA-256 of every payload.",
            "",
        ]
        out.append(_aws_table(hyd, fanout=False))
    return out


def _latency_section(results: dict[str, Any]) -> list[str]:
    """Section 3, the cost of the added latency (no lines when it was not measured)."""
    out: list[str] = []
    lat = results.get("latency", {})
    if lat.get("rows"):
        out += [
            "",
            f"## 3. The cost of {LATENCY_MS:g} ms per request",
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
    """Section 4, decorator overhead (no lines when it was not measured)."""
    out: list[str] = []
    dec = results.get("decorator_overhead", {})
    if dec.get("cases"):
        out += [
            "",
            "## 4. Decorator overhead (in process, no AWS)",
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
    """Section 5, cold start (no lines when it was not measured)."""
    out: list[str] = []
    cold = results.get("cold_start", {})
    if cold.get("side_effects"):
        fx = cold["side_effects"]
        out += [
            "",
            "## 5. Cold start",
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
    """Section 6, storage efficiency (no lines when it was not measured)."""
    out: list[str] = []
    storage = results.get("storage", {})
    if storage.get("rows"):
        out += [
            "",
            "## 6. Storage efficiency",
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
    """Section 7, peak memory (no lines when it was not measured)."""
    out: list[str] = []
    mem = results.get("memory", {})
    if mem.get("rows"):
        out += [
            "",
            "## 7. Peak memory",
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


def _aws_table(cases: dict[str, Any], *, fanout: bool) -> str:
    rows = []
    for by_latency in cases.values():
        for latency, run in by_latency.items():
            floor_t = run["impls"]["floor"]["median_s"]
            py_t = run["impls"]["py2sfn"]["median_s"]
            if fanout:
                what = f"{run['n']:,} x ~{run['element_bytes']:,} B"
            else:
                what = (
                    f"{run['n']:,} ({run['dynamodb_payloads']} DynamoDB + {run['s3_payloads']} S3)"
                )
            for impl in ("sfn-offload", "py2sfn", "floor"):
                r = run["impls"][impl]
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
