"""Targets: each measurement against its goal, PASS or FAIL, and why when it missed.

Every target compares numbers measured in this run, so each can fail. A missed target's "why"
holds only numbers measured in the same run (the floor's own ratio, client CPU, request counts,
a component timed apart): no explanation is written in advance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from common import LATENCY_MS

#: DynamoDB returns at most 1 MB of items per Query page (moto: 1,000,000 bytes).
PAGE_BYTES = 1_000_000
LATENCY = f"{LATENCY_MS:g}ms"


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    ok: bool
    why: str = ""

    def __post_init__(self) -> None:
        if self.ok:
            self.why = ""

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


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _cpu_and_requests(run: dict[str, Any]) -> str:
    """Each implementation's wall time, client CPU and requests, as measured."""
    parts = [
        f"{name} {_ms(r['median_s'])} ({_ms(r['client_cpu_s'])} client CPU, "
        f"{r['requests_total']} requests)"
        for name, r in run["impls"].items()
    ]
    return "Measured: " + "; ".join(parts) + "."


# --------------------------------------------------------------------------------------------
# 1. offload speed
# --------------------------------------------------------------------------------------------


def offload_targets(result: dict[str, Any]) -> list[Target]:
    targets = []
    sizes = result["sizes"]
    for row in sizes:
        off, dumps, meas = row["offload"]["min_s"], row["dumps"]["min_s"], row["measuring"]["min_s"]
        targets.append(
            Target(
                f"offload() of a {row['mb']:g} MB result: CPU vs one json.dumps",
                "<= 1.5x",
                f"{_ms(off)} / {_ms(dumps)} = {row['ratio']:.2f}x",
                row["ratio"] <= 1.5,
                f"measuring alone (a budget nothing exceeds) took {_ms(meas)} = "
                f"{meas / dumps:.2f}x one json.dumps; storing the part that left (hash, "
                f"pointer, store) took the other {_ms(max(0.0, off - meas))}.",
            )
        )
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        per_mb = [r["offload"]["min_s"] / r["mb"] for r in (small, large)]
        growth = per_mb[1] / per_mb[0]
        targets.append(
            Target(
                f"offload(): CPU per MB at {large['mb']:g} MB vs at {small['mb']:g} MB",
                "<= 1.5x (linear in size)",
                f"{_ms(per_mb[1])}/MB vs {_ms(per_mb[0])}/MB = {growth:.2f}x",
                growth <= 1.5,
                f"one json.dumps of each grew alike: {_ms(large['dumps']['min_s'] / large['mb'])}"
                f"/MB vs {_ms(small['dumps']['min_s'] / small['mb'])}/MB.",
            )
        )
    targets += _sibling_targets(result["siblings"])
    targets.append(_fan_out_once_target(result["fan_out_once"]))
    return targets


def _sibling_targets(siblings: list[dict[str, Any]]) -> list[Target]:
    targets = []
    if len(siblings) > 1:
        first, last = siblings[0], siblings[-1]
        growth = last["offload_us_per_sibling"] / first["offload_us_per_sibling"]
        ratios = ", ".join(f"{r['siblings']:,}: {r['ratio']:.2f}x" for r in siblings)
        targets.append(
            Target(
                f"offload(): CPU per ~2 KB sibling at {last['siblings']:,} vs "
                f"{first['siblings']:,} siblings",
                f"<= 1.5x (linear; quadratic would be {last['siblings'] / first['siblings']:g}x)",
                f"{last['offload_us_per_sibling']:.1f} us vs {first['offload_us_per_sibling']:.1f}"
                f" us = {growth:.2f}x (vs one json.dumps: {ratios})",
                growth <= 1.5,
                "one json.dumps per sibling: "
                + ", ".join(
                    f"{r['siblings']:,}: {r['dumps']['min_s'] / r['siblings'] * 1e6:.1f} us"
                    for r in siblings
                )
                + ".",
            )
        )
    return targets


def _fan_out_once_target(once: dict[str, Any]) -> Target:
    return Target(
        f"offload() of a {once['mb']:g} MB result after fan_out() was used once in the process",
        "<= 1.05x the CPU before (each relative to one json.dumps)",
        f"{once['after_vs_before']:.3f}x",
        once["after_vs_before"] <= 1.05,
        f"while a FanOut list is alive in the process the same result costs "
        f"{once['while_alive_vs_before']:.2f}x; before: "
        f"{_ms(once['before']['offload']['min_s'])}, after: "
        f"{_ms(once['after']['offload']['min_s'])}.",
    )


# --------------------------------------------------------------------------------------------
# 2. library CPU per hydrated pointer, 3. decorator overhead
# --------------------------------------------------------------------------------------------


def hydrate_cpu_targets(result: dict[str, Any]) -> list[Target]:
    targets = []
    for case in result["cases"]:
        us, loads = case["median_us"], case["json_loads_us"]
        targets.append(
            Target(
                f"library CPU per hydrated pointer: {case['case']}",
                "<= 10 us",
                f"{us:.1f} us median, {case['min_us']:.1f} us fastest (json.loads of the "
                f"payload alone: {loads:.1f} us)",
                us <= 10,
                f"json.loads of the same payload bytes takes {loads:.1f} us per pointer; the "
                f"library's share is the other {us - loads:.1f} us (fastest samples: "
                f"{case['min_us']:.1f} us in all).",
            )
        )
    return targets


def decorator_targets(result: dict[str, Any]) -> list[Target]:
    small, large = result["cases"][0], result["cases"][1]
    ok_small = small["overhead_us"] <= 25
    ok_large = large["overhead_vs_dumps_loads"] <= 2
    return [
        Target(
            "decorator pass-through overhead, 1 KiB event",
            "<= 25 us",
            f"{small['overhead_us']:.1f} us median, {small['overhead_us_from_min']:.1f} us from "
            f"the fastest samples ({small['overhead_vs_dumps_loads']:.2f}x one dumps+loads)",
            ok_small,
            f"one json.dumps + json.loads of the event takes {small['dumps_loads_us']:.1f} us; "
            f"decorated {small['decorated_us']:.1f} us, bare {small['bare_us']:.2f} us.",
        ),
        Target(
            "decorator pass-through overhead, 200 KiB event",
            "<= 2x one json.dumps + json.loads",
            f"{large['overhead_us'] / 1000:.2f} ms vs {large['dumps_loads_us'] / 1000:.2f} ms = "
            f"{large['overhead_vs_dumps_loads']:.2f}x",
            ok_large,
            f"from the fastest samples the overhead is {large['overhead_us_from_min'] / 1000:.2f}"
            " ms.",
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
            f"fastest sample {result['sfn_offload_import_min_ms']:.1f} ms; wall clock around "
            f"the import {result['import_wall_ms']:.1f} ms.",
        ),
        Target(
            "import creates no client and sends no request",
            "0 clients, 0 requests, no default session",
            f"{effects['clients_created']} clients, {effects['requests_sent']} requests, "
            f"{effects['sockets_connected']} connects, default session "
            f"{'unset' if effects['default_session_is_none'] else 'SET'}",
            clean,
            f"{effects['threads_started']} threads started at import.",
        ),
    ]


# --------------------------------------------------------------------------------------------
# 4. fan-out write
# --------------------------------------------------------------------------------------------


def fanout_targets(aws: dict[str, Any]) -> list[Target]:
    targets = []
    for name, label in (("fanout_small", "small"), ("fanout_large", "large")):
        if name not in aws:
            continue
        direct, slow = aws[name]["0ms"], aws[name][LATENCY]
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
        f"sfn-offload sent {_impl(direct, 'sfn-offload')['requests']}, the floor "
        f"{_impl(direct, 'floor')['requests']}.",
    )


def _fanout_speed(direct: dict[str, Any], slow: dict[str, Any], label: str) -> Target:
    sfn_t = _impl(slow, "sfn-offload")["median_s"]
    py_t = _impl(slow, "py2sfn")["median_s"]
    floor_t = _impl(slow, "floor")["median_s"]
    speedup = py_t / sfn_t
    cost = {
        impl: max(0.0, _impl(slow, impl)["median_s"] - _impl(direct, impl)["median_s"])
        for impl in slow["impls"]
    }
    return Target(
        f"fan-out {direct['n']:,} {label}: speed vs py2sfn at {LATENCY_MS:g} ms",
        ">= 4x faster",
        f"{py_t:.2f} s / {sfn_t:.2f} s = {speedup:.1f}x (floor {py_t / floor_t:.1f}x)",
        speedup >= 4,
        f"the floor is {py_t / floor_t:.1f}x faster than py2sfn here and sfn-offload takes "
        f"{sfn_t / floor_t:.2f}x the floor's time. {_cpu_and_requests(slow)} The {LATENCY_MS:g} "
        "ms latency added "
        + ", ".join(f"{impl} +{_ms(c)}" for impl, c in cost.items())
        + " (the rest of each time is the client's CPU and waiting for moto).",
    )


# --------------------------------------------------------------------------------------------
# 5. whole lists, 6. one element per Map iteration
# --------------------------------------------------------------------------------------------

SFN_LIST_READERS = ("sfn-offload", "sfn-offload get_items")


def list_targets(aws: dict[str, Any]) -> list[Target]:
    targets = []
    for name, by_latency in aws.items():
        if not name.startswith("list_") or LATENCY not in by_latency:
            continue
        run = by_latency[LATENCY]
        stored = run["stored"]
        label = _list_label(run)
        bound = math.ceil(stored["item_bytes"] / PAGE_BYTES) + 1
        for reader in SFN_LIST_READERS:
            ops = _impl(run, reader)["requests"]
            query = ops.get("dynamodb:Query", 0)
            other = sum(v for k, v in ops.items() if k.startswith("dynamodb:")) - query
            gets = ops.get("s3:GetObject", 0)
            ok = query + other <= bound and other == 0 and gets == run["large"]
            targets.append(
                Target(
                    f"whole list {label}: {_reader(reader)} requests",
                    f"<= ceil({stored['item_bytes']:,} B / 1 MB) + 1 = {bound} DynamoDB, all "
                    f"Query; {run['large']} S3 GETs",
                    f"{query} Query + {other} other DynamoDB; {gets} GETs",
                    ok,
                    f"the partition holds {stored['items']:,} items that moto returns in "
                    f"{stored['query_pages']} Query pages, naming {stored['s3_objects']} S3 "
                    f"objects; the reader sent {ops}.",
                )
            )
        layouts = (
            f" sfn-offload's partition holds {_partition(stored)}, py2sfn's "
            f"{_partition(run['stored_py2sfn'])}."
        )
        targets += _against_floor_and_py2sfn(run, f"whole list {label}", "get_items", layouts)
    return targets


def element_targets(aws: dict[str, Any]) -> list[Target]:
    run = aws.get("element", {}).get(LATENCY)
    if not run:
        return []
    label = f"Map iterations ({run['iterations']}, {run['s3_iterations']} elements in S3)"
    return _against_floor_and_py2sfn(run, label, "get_item_for_map_iteration")


def _against_floor_and_py2sfn(
    run: dict[str, Any], label: str, py2sfn_path: str, layouts: str = ""
) -> list[Target]:
    sfn, floor, py = _impl(run, "sfn-offload"), _impl(run, "floor"), _impl(run, "py2sfn")
    vs_floor = sfn["median_s"] / floor["median_s"]
    vs_py = py["median_s"] / sfn["median_s"]
    return [
        Target(
            f"{label}: sfn-offload requests vs floor",
            "<= the floor's",
            f"{sfn['requests_total']} vs {floor['requests_total']} ({_ops(sfn['requests'])})",
            sfn["requests_total"] <= floor["requests_total"],
            f"the floor sent {_ops(floor['requests'])}.",
        ),
        Target(
            f"{label}: sfn-offload time vs floor at {LATENCY_MS:g} ms",
            "<= 1.25x",
            f"{_ms(sfn['median_s'])} / {_ms(floor['median_s'])} = {vs_floor:.2f}x",
            vs_floor <= 1.25,
            _cpu_and_requests(run) + layouts,
        ),
        Target(
            f"{label}: sfn-offload time vs py2sfn {py2sfn_path} at {LATENCY_MS:g} ms",
            "no slower (>= 1.0x)",
            f"{_ms(py['median_s'])} / {_ms(sfn['median_s'])} = {vs_py:.2f}x (floor "
            f"{py['median_s'] / floor['median_s']:.2f}x)",
            vs_py >= 1.0,
            _cpu_and_requests(run) + layouts,
        ),
    ]


def _partition(stored: dict[str, int]) -> str:
    return (
        f"{stored['item_bytes']:,} B of items ({stored['item_bytes'] / stored['items']:.0f} B "
        f"each) in {stored['query_pages']} Query page(s)"
    )


def _list_label(run: dict[str, Any]) -> str:
    small = run["n"] - run["large"]
    text = f"{small:,} x {run['small_bytes']:,} B"
    if run["large"]:
        text += f" + {run['large']} x {run['large_bytes'] / 1000:,.0f} KB in S3"
    return text


def _reader(name: str) -> str:
    return {"sfn-offload": "decorator", "sfn-offload get_items": "StateDataClient.get_items"}.get(
        name, name
    )


def _ops(requests: dict[str, int]) -> str:
    return ", ".join(f"{op.split(':', 1)[1]} {count}" for op, count in requests.items()) or "-"


# --------------------------------------------------------------------------------------------
# 7. peak memory
# --------------------------------------------------------------------------------------------


def memory_targets(result: dict[str, Any]) -> list[Target]:
    rows = result["rows"]
    floors = {(r["op"], r["shape"]): r for r in rows if r["impl"] == "floor"}
    targets = []
    for row in rows:
        if row["impl"] != "sfn-offload":
            continue
        floor = floors.get((row["op"], row["shape"]))
        payload_mb = row["payload_bytes"] / 1e6
        why = ""
        if floor is not None:
            extra = (row["peak_delta_bytes"] - floor["peak_delta_bytes"]) / 1e6
            why = (
                f"the floor peaks at {floor['ratio']}x; sfn-offload needs {extra:+.0f} MB more "
                "than the floor."
            )
            if row["op"] == "hydrate":
                why = (
                    f"the decoded Python object alone is {row['object_bytes'] / 1e6:.0f} MB "
                    f"({row['object_bytes'] / row['payload_bytes']:.1f}x its JSON); " + why
                )
        targets.append(
            Target(
                f"peak memory, {row['op']} {payload_mb:.0f} MB ({row['shape']})",
                "<= 3x the payload",
                f"+{row['peak_delta_bytes'] / 1e6:.0f} MB = {row['ratio']}x "
                f"(floor {floor['ratio'] if floor else '?'}x)",
                row["peak_delta_bytes"] <= 3 * row["payload_bytes"],
                why,
            )
        )
    return targets
