"""`make bench`: sfn-offload vs py2sfn-task-tools 1.0.2 vs the floor, side by side, on moto.

Writes ``bench/results/latest.md`` and ``bench/results/latest.json`` and prints PASS/FAIL per
target. A missed target is a result, not an error: the exit code is 0 unless the benchmark itself
fails. ``--quick`` runs every measurement with small counts (a smoke run, ~30 s).

See ``bench/README.md`` for what each measurement does and how to read it.
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
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import common
import local_bench
from common import BUCKET, ROOT

RESULTS = Path(__file__).resolve().parent / "results"
LATENCY_MS = 10.0
IMPLS = ("sfn-offload", "py2sfn", "floor")


@dataclass(frozen=True)
class Plan:
    fanout_small: int = 10_000
    small_reps: int = 3
    fanout_large: int = 300
    large_size: int = 500_000
    large_reps: int = 3
    hydrate_n: int = 1_000
    hydrate_s3: int = 50
    hydrate_size: int = 450_000
    hydrate_reps: int = 5
    hydrate_py2sfn_reps: int = 2  # 1,000 sequential get_item calls per repetition
    hydrate_ddb_only: bool = True
    decorator_repeat: int = 25
    import_repeat: int = 7
    storage_mb: tuple[float, ...] = (1, 10)
    memory_mb: float = 50
    calibration_requests: int = 200
    worker_timeout: float = 900


QUICK = Plan(
    fanout_small=500,
    small_reps=1,
    fanout_large=6,
    large_reps=1,
    hydrate_n=60,
    hydrate_s3=3,
    hydrate_reps=1,
    hydrate_py2sfn_reps=1,
    hydrate_ddb_only=False,
    decorator_repeat=3,
    import_repeat=2,
    storage_mb=(0.2, 1),
    memory_mb=3,
    calibration_requests=20,
    worker_timeout=300,
)


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------------------------
# AWS measurements (workers on moto, directly and through the latency proxy)
# --------------------------------------------------------------------------------------------


def aws_cases(plan: Plan) -> dict[str, tuple[str, list[str]]]:
    """name -> (worker case, worker arguments)."""
    cases = {
        "fanout_small": (
            "fanout-small",
            ["--n", str(plan.fanout_small), "--reps", str(plan.small_reps)],
        ),
        "fanout_large": (
            "fanout-large",
            [
                "--n",
                str(plan.fanout_large),
                "--size",
                str(plan.large_size),
                "--reps",
                str(plan.large_reps),
            ],
        ),
        "hydrate_mixed": (
            "hydrate",
            [
                "--n",
                str(plan.hydrate_n),
                "--s3-count",
                str(plan.hydrate_s3),
                "--size",
                str(plan.hydrate_size),
                "--reps",
                str(plan.hydrate_reps),
                "--slow-reps",
                str(plan.hydrate_py2sfn_reps),
            ],
        ),
    }
    if plan.hydrate_ddb_only:
        cases["hydrate_dynamodb_only"] = (
            "hydrate",
            [
                "--n",
                str(plan.hydrate_n),
                "--s3-count",
                "0",
                "--reps",
                str(plan.hydrate_reps),
                "--slow-reps",
                "1",
            ],
        )
    return cases


def run_aws(plan: Plan, moto: str, proxy: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, (case, extra) in aws_cases(plan).items():
        out[name] = {}
        # The DynamoDB-only hydration is there for its request counts: no latency run.
        runs = (
            [(0.0, moto)] if name == "hydrate_dynamodb_only" else [(0.0, moto), (LATENCY_MS, proxy)]
        )
        for latency, endpoint in runs:
            started = time.perf_counter()
            env = common.clean_env(DYNAMODB_ENDPOINT_URL=endpoint, S3_ENDPOINT_URL=endpoint)
            result = common.run_json(
                [
                    str(common.BENCH / "aws_worker.py"),
                    case,
                    *extra,
                    "--moto",
                    moto,
                    "--endpoint",
                    endpoint,
                    "--latency-ms",
                    str(latency),
                ],
                env=env,
                timeout=plan.worker_timeout,
            )
            out[name][f"{latency:g}ms"] = result
            impls = result["impls"]
            log(
                f"  {name:<22} {latency:>4g} ms  "
                + "  ".join(
                    f"{impl} {r['median_s']:.3f}s/{r['requests_total']}req"
                    for impl, r in impls.items()
                )
                + f"  ({time.perf_counter() - started:.0f} s)"
            )
    return out


def run_memory(plan: Plan, moto: str) -> dict[str, Any]:
    session = common.admin_session()
    common.reset_moto(moto)
    common.create_resources(
        session.client("dynamodb", endpoint_url=moto), session.client("s3", endpoint_url=moto)
    )
    rows = []
    for shape in ("records", "text"):
        pointer = None
        for op, impl in (
            ("offload", "sfn-offload"),
            ("offload", "floor"),
            ("hydrate", "sfn-offload"),
            ("hydrate", "floor"),
        ):
            args = [str(common.BENCH / "memory_worker.py"), op, impl, "--shape", shape]
            args += ["--mb", str(plan.memory_mb), "--moto", moto]
            if op == "hydrate":
                args += ["--pointer", json.dumps(pointer)]
            row = common.run_json(args, timeout=plan.worker_timeout)
            if op == "offload" and impl == "sfn-offload":
                pointer = row.pop("pointer")
                if pointer.get("backend") != "s3":
                    raise RuntimeError(f"expected the {shape} payload in S3, got {pointer}")
            row["ratio"] = round(row["peak_delta_bytes"] / row["payload_bytes"], 2)
            rows.append(row)
            log(
                f"  memory {op:<8} {impl:<12} {shape:<8} peak +{row['peak_delta_bytes'] / 1e6:.0f}"
                f" MB = {row['ratio']}x of {row['payload_bytes'] / 1e6:.1f} MB"
            )
    common.reset_moto(moto)
    return {
        "payload_mb": plan.memory_mb,
        "method": rows[0]["method"] if rows else None,
        "rows": rows,
    }


# --------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    ok: bool
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.name,
            "goal": self.goal,
            "measured": self.measured,
            "verdict": "PASS" if self.ok else "FAIL",
            "why": self.why,
        }


def _impl(run: dict[str, Any], impl: str) -> dict[str, Any]:
    result: dict[str, Any] = run["impls"][impl]
    return result


def fanout_targets(aws: dict[str, Any]) -> list[Target]:
    targets = []
    for name, label in (("fanout_small", "small"), ("fanout_large", "large")):
        if name not in aws:
            continue
        direct, slow = aws[name]["0ms"], aws[name][f"{LATENCY_MS:g}ms"]
        n = direct["n"]
        sfn_req = _impl(direct, "sfn-offload")["requests_total"]
        floor_req = _impl(direct, "floor")["requests_total"]
        ratio = sfn_req / floor_req
        targets.append(
            Target(
                f"fan-out {n:,} {label}: requests vs floor",
                "<= 1.05x the floor",
                f"{sfn_req} vs {floor_req} = {ratio:.3f}x",
                ratio <= 1.05,
                ""
                if ratio <= 1.05
                else "more requests than the minimum: see the per-operation counts",
            )
        )
        sfn_t = _impl(slow, "sfn-offload")["median_s"]
        py_t = _impl(slow, "py2sfn")["median_s"]
        floor_t = _impl(slow, "floor")["median_s"]
        speedup = py_t / sfn_t
        ceiling = py_t / floor_t
        why = ""
        if speedup < 4:
            cpu = {impl: _impl(slow, impl)["client_cpu_s"] for impl in IMPLS}
            cost = {
                impl: max(0.0, _impl(slow, impl)["median_s"] - _impl(direct, impl)["median_s"])
                for impl in IMPLS
            }
            if ceiling < 4:
                why = (
                    f"no implementation reaches 4x on this test bed: even the floor is only "
                    f"{ceiling:.1f}x faster than py2sfn, and sfn-offload takes "
                    f"{sfn_t / floor_t:.2f}x the floor's time. "
                )
            else:
                why = f"sfn-offload takes {sfn_t / floor_t:.2f}x the floor's time. "
            if sfn_t / floor_t > 1.15:
                why += (
                    "Its items carry three more attributes than the floor's (sha256, size, "
                    "encoding: the integrity check), which the client serializes and moto "
                    "parses, and it hashes every element. "
                )
            why += (
                f"Client CPU (serializing, hashing, signing, sending): py2sfn {cpu['py2sfn']:.2f} "
                f"s, sfn-offload {cpu['sfn-offload']:.2f} s, floor {cpu['floor']:.2f} s; the "
                "rest is waiting for moto, which serves requests on one GIL-bound core of a "
                "2-core machine, so concurrency cannot hide its service time the way it hides "
                f"DynamoDB's and S3's. The {LATENCY_MS:g} ms itself added py2sfn "
                f"+{cost['py2sfn']:.2f} s (one round trip per request, in sequence), sfn-offload "
                f"+{cost['sfn-offload']:.2f} s, floor +{cost['floor']:.2f} s."
            )
        targets.append(
            Target(
                f"fan-out {n:,} {label}: speed vs py2sfn at {LATENCY_MS:g} ms",
                ">= 4x faster",
                f"{py_t:.2f} s / {sfn_t:.2f} s = {speedup:.1f}x (floor {ceiling:.1f}x)",
                speedup >= 4,
                why,
            )
        )
    return targets


def hydrate_targets(aws: dict[str, Any]) -> list[Target]:
    if "hydrate_mixed" not in aws:
        return []
    direct = aws["hydrate_mixed"]["0ms"]
    slow = aws["hydrate_mixed"][f"{LATENCY_MS:g}ms"]
    n, n_s3 = direct["n"], direct["s3_payloads"]
    sfn_req = _impl(direct, "sfn-offload")["requests_total"]
    py_req = _impl(direct, "py2sfn")["requests_total"]
    floor_req = _impl(direct, "floor")["requests_total"]
    fewer = py_req / sfn_req
    why = ""
    if fewer < 20:
        why = (
            f"sfn-offload sends {sfn_req} requests, the floor sends {floor_req}: no "
            f"implementation can do better than {py_req / floor_req:.1f}x on this mix, because "
            f"each of the {n_s3} S3 payloads needs its own GET (S3 has no batch read) while "
            f"py2sfn's loop spends {py_req} requests; the target assumes a mostly-DynamoDB mix"
        )
        ddb = aws.get("hydrate_dynamodb_only", {}).get("0ms")
        if ddb:
            ddb_ratio = _impl(ddb, "py2sfn")["requests_total"] / max(
                1, _impl(ddb, "sfn-offload")["requests_total"]
            )
            why += f" (with {ddb['n']:,} DynamoDB payloads and no S3 it is {ddb_ratio:.0f}x)"
        why += "."
    sfn_t = _impl(slow, "sfn-offload")["median_s"]
    py_t = _impl(slow, "py2sfn")["median_s"]
    floor_t = _impl(slow, "floor")["median_s"]
    speedup = py_t / sfn_t
    why_t = ""
    if speedup < 10:
        why_t = (
            f"floor reaches {py_t / floor_t:.1f}x; sfn-offload takes {sfn_t / floor_t:.2f}x the "
            "floor's time (decoding the payloads dominates both)."
        )
    return [
        Target(
            f"hydrate {n:,} pointers ({n - n_s3} DynamoDB + {n_s3} S3): requests vs py2sfn",
            ">= 20x fewer",
            f"{py_req} / {sfn_req} = {fewer:.1f}x (floor {floor_req}: {py_req / floor_req:.1f}x)",
            fewer >= 20,
            why,
        ),
        Target(
            f"hydrate {n:,} pointers: speed vs py2sfn at {LATENCY_MS:g} ms",
            ">= 10x faster",
            f"{py_t:.2f} s / {sfn_t:.3f} s = {speedup:.1f}x (floor {py_t / floor_t:.1f}x)",
            speedup >= 10,
            why_t,
        ),
    ]


def decorator_targets(result: dict[str, Any]) -> list[Target]:
    small, large = result["cases"][0], result["cases"][1]
    ok_small = small["overhead_us"] <= 25
    ok_large = small is not large and large["overhead_vs_dumps_loads"] <= 2
    return [
        Target(
            "decorator pass-through overhead, 1 KiB event",
            "<= 25 us",
            f"{small['overhead_us']:.1f} us median, {small['overhead_us_from_min']:.1f} us from "
            f"the fastest samples ({small['overhead_vs_dumps_loads']:.2f}x one dumps+loads)",
            ok_small,
            ""
            if ok_small
            else (
                "a third of it is the one compact json.dumps of the event (sizing the budget and "
                "the byte pre-check for pointers); the rest is execution identity (regex + "
                "SHA-256 of the ARN), TaskContext set-up and the offload decision. If the "
                "fastest samples are well under the median, the machine was busy (see the load "
                "average in the header)."
            ),
        ),
        Target(
            "decorator pass-through overhead, 200 KiB event",
            "<= 2x one json.dumps + json.loads",
            f"{large['overhead_us'] / 1000:.2f} ms vs {large['dumps_loads_us'] / 1000:.2f} ms = "
            f"{large['overhead_vs_dumps_loads']:.2f}x",
            ok_large,
            "" if ok_large else "the event is serialized more than once per invocation",
        ),
    ]


def cold_start_targets(result: dict[str, Any]) -> list[Target]:
    ms = result["sfn_offload_import_ms"]
    effects = result["side_effects"]
    clean = (
        effects["clients_created"] == 0
        and effects["requests_sent"] == 0
        and effects["sockets_connected"] == 0
        and effects["default_session_is_none"]
    )
    return [
        Target(
            "import time beyond boto3 + powertools",
            "<= 30 ms",
            f"{ms:.1f} ms (median of {result['repeat']}, -X importtime cumulative)",
            ms <= 30,
            "" if ms <= 30 else "see the -X importtime tree for the slowest sfn_offload modules",
        ),
        Target(
            "import creates no client and sends no request",
            "0 clients, 0 requests, no default session",
            f"{effects['clients_created']} clients, {effects['requests_sent']} requests, "
            f"{effects['sockets_connected']} connects, default session "
            f"{'unset' if effects['default_session_is_none'] else 'SET'}",
            clean,
            "" if clean else "import has side effects",
        ),
    ]


def memory_targets(result: dict[str, Any]) -> list[Target]:
    rows = result["rows"]
    floors = {(r["op"], r["shape"]): r for r in rows if r["impl"] == "floor"}
    targets = []
    for row in rows:
        if row["impl"] != "sfn-offload":
            continue
        floor = floors.get((row["op"], row["shape"]))
        payload_mb = row["payload_bytes"] / 1e6
        ok = row["peak_delta_bytes"] <= 3 * row["payload_bytes"]
        why = ""
        if not ok and floor is not None:
            extra = (row["peak_delta_bytes"] - floor["peak_delta_bytes"]) / 1e6
            if row["op"] == "hydrate":
                why = (
                    f"the decoded Python object alone is {row['object_bytes'] / 1e6:.0f} MB "
                    f"({row['object_bytes'] / row['payload_bytes']:.1f}x its JSON: dicts, "
                    "strings and floats of small records), so no loader can meet 3x for this "
                    f"shape; the floor (get_object + json.loads) peaks at {floor['ratio']}x. "
                    f"sfn-offload needs {extra:+.0f} MB more than the floor: it keeps the "
                    "response bytes referenced while parsing (the floor lets json.loads drop "
                    "them after decoding to str)."
                )
            else:
                why = (
                    f"the floor (one json.dumps + put_object) peaks at {floor['ratio']}x; "
                    f"sfn-offload needs {extra:+.0f} MB more: offload() still holds the "
                    "whole result's serialization while it measures subtrees (a flat list is "
                    "serialized in one call) or serializes the offloaded part, so one extra "
                    "payload copy is alive at the peak."
                )
        targets.append(
            Target(
                f"peak memory, {row['op']} {payload_mb:.0f} MB ({row['shape']})",
                "<= 3x the payload",
                f"+{row['peak_delta_bytes'] / 1e6:.0f} MB = {row['ratio']}x "
                f"(floor {floor['ratio'] if floor else '?'}x)",
                ok,
                why,
            )
        )
    return targets


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


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


def render(results: dict[str, Any]) -> str:
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
    return "\n".join(out) + "\n"


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


def _sequential_ms(moto: str, proxy: str, count: int) -> tuple[float, float]:
    """Median ms of one GetItem (a missing key) straight to moto and through the proxy."""
    session = common.admin_session()
    key = {"partition_key": {"S": "calibration"}, "sort_key": {"N": "0"}}
    medians = []
    for endpoint in (moto, proxy):
        client = session.client("dynamodb", endpoint_url=endpoint)
        client.describe_table(TableName=common.TABLE)  # connect, load the model
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            client.get_item(TableName=common.TABLE, Key=key)
            samples.append(time.perf_counter() - start)
        medians.append(common.median(samples) * 1000)
    return medians[0], medians[1]


def calibrate_proxy(moto: str, proxy: str, count: int) -> dict[str, Any]:
    """Make the proxy add LATENCY_MS to a request as the client sees it.

    Holding a request 10 ms costs more than 10 ms end to end here: the proxy's own forwarding
    (~0.5 ms) and, on this VM, waking idle CPUs after the pause. The hold time is adjusted
    (twice) so that a sequential request takes LATENCY_MS longer through the proxy than straight
    to moto; both the hold time and the resulting added latency are reported.
    """
    hold = LATENCY_MS
    steps = []
    for _ in range(3):
        common.http("POST", f"{proxy}/__bench_proxy__/delay/{hold}")
        direct, proxied = _sequential_ms(moto, proxy, count)
        added = proxied - direct
        steps.append({"hold_ms": round(hold, 2), "added_ms": round(added, 2)})
        if abs(added - LATENCY_MS) < 0.3 or len(steps) == 3:
            break
        hold = min(LATENCY_MS, max(LATENCY_MS / 2, hold - (added - LATENCY_MS)))
    return {
        "requests": count,
        "direct_ms": round(direct, 2),
        "proxied_ms": round(proxied, 2),
        "hold_ms": round(hold, 2),
        "added_ms": round(added, 2),
        "steps": steps,
    }


def latency_summary(aws: dict[str, Any], calibration: dict[str, Any] | None) -> dict[str, Any]:
    rows = []
    for name, by_latency in aws.items():
        direct, slow = by_latency.get("0ms"), by_latency.get(f"{LATENCY_MS:g}ms")
        if not direct or not slow:
            continue
        for impl in ("sfn-offload", "py2sfn", "floor"):
            d, s = direct["impls"][impl], slow["impls"][impl]
            rows.append(
                {
                    "case": name,
                    "impl": impl,
                    "direct_s": d["median_s"],
                    "latency_s": s["median_s"],
                    "cost_s": round(s["median_s"] - d["median_s"], 4),
                    "requests": s["requests_total"],
                }
            )
    return {"delay_ms": LATENCY_MS, "calibration": calibration, "rows": rows}


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


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
    errors: dict[str, str] = {}
    targets: list[Target] = []
    loads: dict[str, list[float]] = {}
    results["meta"]["load_average_at_start"] = round(os.getloadavg()[0], 2)
    if results["meta"]["load_average_at_start"] > 0.5:
        log(
            f"warning: 1-minute load average is {results['meta']['load_average_at_start']}: other "
            "processes are running, timings (microbenchmarks especially) will be noisy"
        )

    def section(
        key: str, title: str, fn: Callable[[], Any], check: Callable[[Any], list[Target]]
    ) -> None:
        log(f"== {title}")
        t = time.perf_counter()
        load_before = os.getloadavg()[0]
        try:
            results[key] = fn()
            targets.extend(check(results[key]))
        except Exception as exc:
            traceback.print_exc()
            errors[key] = f"{type(exc).__name__}: {str(exc)[:500]}"
            results[key] = {"error": errors[key]}
        loads[key] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        log(
            f"   ({time.perf_counter() - t:.0f} s, load average {loads[key][0]} -> {loads[key][1]})"
        )

    # In-process and import measurements first, on a quiet machine (no servers running yet).
    section(
        "decorator_overhead",
        "4. decorator overhead",
        lambda: local_bench.decorator_overhead(plan.decorator_repeat),
        decorator_targets,
    )
    section(
        "cold_start",
        "5. cold start",
        lambda: local_bench.cold_start(plan.import_repeat),
        cold_start_targets,
    )
    section(
        "storage",
        "6. storage efficiency",
        lambda: local_bench.storage(list(plan.storage_mb)),
        lambda _: [],
    )

    with common.moto_server() as moto, common.latency_proxy(moto, LATENCY_MS) as proxy:
        aws: dict[str, Any] = {}

        calibration: dict[str, Any] = {}

        def all_aws() -> dict[str, Any]:
            common.reset_moto(moto)
            session = common.admin_session()
            common.create_resources(
                session.client("dynamodb", endpoint_url=moto),
                session.client("s3", endpoint_url=moto),
            )
            calibration.update(calibrate_proxy(moto, proxy, plan.calibration_requests))
            log(
                f"  proxy holds each request {calibration['hold_ms']:.2f} ms and adds "
                f"{calibration['added_ms']:.2f} ms to it (median of "
                f"{plan.calibration_requests} sequential GetItem; steps {calibration['steps']})"
            )
            aws.update(run_aws(plan, moto, proxy))
            return aws

        section("aws", "1-3. fan-out, hydration, latency (moto)", all_aws, lambda _: [])
        results.pop("aws", None)
        results["fanout_write"] = {k: v for k, v in aws.items() if k.startswith("fanout")}
        results["hydrate"] = {k: v for k, v in aws.items() if k.startswith("hydrate")}
        results["latency"] = latency_summary(aws, calibration or None)
        try:
            targets.extend(fanout_targets(aws))
            targets.extend(hydrate_targets(aws))
        except Exception as exc:
            traceback.print_exc()
            errors["aws_targets"] = f"{type(exc).__name__}: {exc}"
        section("memory", "7. peak memory", lambda: run_memory(plan, moto), memory_targets)

    order = ["fan-out", "hydrate", "decorator", "import", "peak memory"]
    targets.sort(key=lambda t: next((i for i, p in enumerate(order) if t.name.startswith(p)), 9))
    results["targets"] = [t.as_dict() for t in targets]
    results["errors"] = errors
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_per_section"] = loads

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "latest.md").write_text(render(results))
    log("")
    for t in targets:
        log(f"{'PASS' if t.ok else 'FAIL'}  {t.name}: {t.measured} (goal {t.goal})")
        if t.why:
            log(f"      why: {t.why}")
    log(
        f"\nwrote {args.out / 'latest.md'} and {args.out / 'latest.json'} "
        f"in {results['meta']['seconds']:.0f} s"
    )
    if errors:
        log(f"bench errors in: {', '.join(errors)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
