"""The measurements on moto: fan-out, whole-list and Map-element workers (through the latency
proxy, which is calibrated first, and for writes also directly) and the peak-memory workers,
each in a fresh process."""

from __future__ import annotations

import json
import time
from typing import Any

import common
from common import LATENCY_MS, log
from plan import Plan


def run_all_aws(plan: Plan, moto: str, proxy: str, calibration: dict[str, Any]) -> dict[str, Any]:
    """Fresh table and bucket, the proxy calibrated (into ``calibration``), then every worker."""
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
    return run_aws(plan, moto, proxy)


def aws_cases(plan: Plan) -> dict[str, tuple[str, list[str], tuple[float, ...]]]:
    """name -> (worker case, worker arguments, latencies in ms). Reads run at the simulated
    latency only (what a Lambda function sees); writes also straight to moto, for the cost of
    the latency."""
    both = (0.0, LATENCY_MS)
    cases = {
        "fanout_small": (
            "fanout-small",
            ["--n", str(plan.fanout_small), "--reps", str(plan.small_reps)],
            both,
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
            both,
        ),
    }
    reads = ["--reps", str(plan.list_reps), "--slow-reps", str(plan.list_py2sfn_reps)]
    for i, case in enumerate(plan.lists):
        cases[f"list_{i}"] = ("list", [*case.args(), *reads], (LATENCY_MS,))
    cases["element"] = (
        "element",
        [
            *plan.element_list.args(),
            "--iterations",
            str(plan.element_iterations),
            "--reps",
            str(plan.element_reps),
            "--slow-reps",
            str(plan.element_reps),
        ],
        (LATENCY_MS,),
    )
    return cases


def run_aws(plan: Plan, moto: str, proxy: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, (case, extra, latencies) in aws_cases(plan).items():
        out[name] = {}
        for latency in latencies:
            endpoint = proxy if latency else moto
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
                f"  {name:<14} {latency:>4g} ms  "
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
        for impl in direct["impls"]:
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
