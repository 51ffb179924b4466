"""Targets: each measurement against its goal, PASS or FAIL, and why when it missed.

A missed target is a result, not an error: the reasons name what the test bed allows (the
floor's own numbers) and what costs sfn-offload the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common import IMPLS, LATENCY_MS


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
        targets.append(_fanout_requests(direct, label))
        targets.append(_fanout_speed(direct, slow, label))
    return targets


def _fanout_requests(direct: dict[str, Any], label: str) -> Target:
    n = direct["n"]
    sfn_req = _impl(direct, "sfn-offload")["requests_total"]
    floor_req = _impl(direct, "floor")["requests_total"]
    ratio = sfn_req / floor_req
    return Target(
        f"fan-out {n:,} {label}: requests vs floor",
        "<= 1.05x the floor",
        f"{sfn_req} vs {floor_req} = {ratio:.3f}x",
        ratio <= 1.05,
        "" if ratio <= 1.05 else "more requests than the minimum: see the per-operation counts",
    )


def _fanout_speed(direct: dict[str, Any], slow: dict[str, Any], label: str) -> Target:
    sfn_t = _impl(slow, "sfn-offload")["median_s"]
    py_t = _impl(slow, "py2sfn")["median_s"]
    floor_t = _impl(slow, "floor")["median_s"]
    speedup = py_t / sfn_t
    ceiling = py_t / floor_t
    return Target(
        f"fan-out {direct['n']:,} {label}: speed vs py2sfn at {LATENCY_MS:g} ms",
        ">= 4x faster",
        f"{py_t:.2f} s / {sfn_t:.2f} s = {speedup:.1f}x (floor {ceiling:.1f}x)",
        speedup >= 4,
        _fanout_slow_why(direct, slow) if speedup < 4 else "",
    )


def _fanout_slow_why(direct: dict[str, Any], slow: dict[str, Any]) -> str:
    """Why sfn-offload missed 4x: the floor's own ceiling, client CPU, the latency's cost."""
    sfn_t = _impl(slow, "sfn-offload")["median_s"]
    py_t = _impl(slow, "py2sfn")["median_s"]
    floor_t = _impl(slow, "floor")["median_s"]
    ceiling = py_t / floor_t
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
    return why + (
        f"Client CPU (serializing, hashing, signing, sending): py2sfn {cpu['py2sfn']:.2f} "
        f"s, sfn-offload {cpu['sfn-offload']:.2f} s, floor {cpu['floor']:.2f} s; the "
        "rest is waiting for moto, which serves requests on one GIL-bound core of a "
        "2-core machine, so concurrency cannot hide its service time the way it hides "
        f"DynamoDB's and S3's. The {LATENCY_MS:g} ms itself added py2sfn "
        f"+{cost['py2sfn']:.2f} s (one round trip per request, in sequence), sfn-offload "
        f"+{cost['sfn-offload']:.2f} s, floor +{cost['floor']:.2f} s."
    )


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
