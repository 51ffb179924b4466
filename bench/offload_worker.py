"""Offload speed: ``offload()`` against one ``json.dumps`` of the same result, in a fresh process.

Run by ``bench/run.py`` (``python bench/offload_worker.py --mb 1 10 50 --siblings 1000 ...``);
prints one JSON object. A fresh process, because one measurement is "a process that used
``fan_out()`` once": before it, no FanOut list may ever have existed here.

Method: CPU time of this process (``time.process_time``), which other processes on the shared
machine do not add to; ``offload()`` and its baseline, one ``json.dumps`` of the same result
(default arguments: what a handler author would compare with), are interleaved repetition by
repetition after a warm-up, so drift hits both alike, and every ratio compares the two within
this one process. Reported: the minimum and the median of the repetitions; ratios use the
minimum (the least disturbed run of each). ``offload()`` runs on a ``MemoryStore`` repository
with the decorator's default budget for a 1 KiB event, so the time is the library's own.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import common

from sfn_offload import OffloadConfig, fan_out
from sfn_offload.budget import inline_budget
from sfn_offload.steps import offload_result
from sfn_offload.storage import MemoryStore, PayloadRepository

BUDGET = inline_budget(1024)
NAMESPACE = "run-42.9724030d"


def _repository() -> PayloadRepository:
    return PayloadRepository(
        OffloadConfig(table=common.TABLE, bucket=common.BUCKET),
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
    )


def _cpu(fn: Callable[[], Any]) -> float:
    gc.collect()
    start = time.process_time()
    fn()
    return time.process_time() - start


def _interleaved(variants: dict[str, Callable[[], Any]], reps: int) -> dict[str, dict[str, float]]:
    """CPU seconds of each variant: one discarded warm-up round, then ``reps`` rounds."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(reps + 1):
        for name, fn in variants.items():
            took = _cpu(fn)
            if round_:
                samples[name].append(took)
    return {
        name: {"min_s": round(min(s), 5), "median_s": round(statistics.median(s), 5)}
        for name, s in samples.items()
    }


def _offload(result: Any) -> Callable[[], Any]:
    return lambda: offload_result(result, _repository(), namespace=NAMESPACE, budget=BUDGET)


def _measuring_only(result: Any) -> Callable[[], Any]:
    """offload() with a budget nothing exceeds: it measures the result and returns it."""
    return lambda: offload_result(result, _repository(), namespace=NAMESPACE, budget=1 << 40)


def report_result(payload_bytes: int) -> dict[str, Any]:
    """What the storage benchmark offloads: small fields and a large report of order records."""
    records = common.orders(payload_bytes)
    payload = {"tenant": "acme", "generated_at": "2024-06-01T00:00:00Z", "orders": records}
    return {"status": "ok", "order_count": len(records), "report": payload}


def by_size(sizes_mb: list[float], reps: dict[float, int]) -> list[dict[str, Any]]:
    rows = []
    for mb in sizes_mb:
        result = report_result(int(mb * 1_000_000))
        done = offload_result(result, _repository(), namespace=NAMESPACE, budget=BUDGET)
        times = _interleaved(
            {
                "dumps": lambda r=result: json.dumps(r),
                "offload": _offload(result),
                "measuring": _measuring_only(result),
            },
            reps[mb],
        )
        rows.append(
            {
                "mb": mb,
                "json_bytes": common.compact_size(result),
                "pointers": done.stats.offloaded,
                "whole_result": done.stats.whole_result,
                **times,
                "ratio": round(times["offload"]["min_s"] / times["dumps"]["min_s"], 3),
            }
        )
        log(rows[-1])
    return rows


def sibling(i: int) -> dict[str, Any]:
    """A ~2 KB member: a few order records."""
    return {"id": i, "orders": common.orders(2_000, seed=i)}


def by_siblings(counts: list[int], reps: int) -> list[dict[str, Any]]:
    members = [(f"part-{i:05d}", sibling(i)) for i in range(max(counts))]
    rows = []
    for n in counts:
        result = dict(members[:n])
        done = offload_result(result, _repository(), namespace=NAMESPACE, budget=BUDGET)
        times = _interleaved(
            {"dumps": lambda r=result: json.dumps(r), "offload": _offload(result)}, reps
        )
        rows.append(
            {
                "siblings": n,
                "json_bytes": common.compact_size(result),
                "whole_result": done.stats.whole_result,
                **times,
                "ratio": round(times["offload"]["min_s"] / times["dumps"]["min_s"], 3),
                "offload_us_per_sibling": round(times["offload"]["min_s"] / n * 1e6, 2),
            }
        )
        log(rows[-1])
    return rows


def fan_out_once(mb: float, reps: int) -> dict[str, Any]:
    """offload() of a result without fan-out lists: before fan_out() was ever used in this
    process, after it was used once (its list gone), and while a FanOut list is kept alive."""
    result = report_result(int(mb * 1_000_000))
    variants = {"dumps": lambda: json.dumps(result), "offload": _offload(result)}

    def ratio(times: dict[str, dict[str, float]]) -> float:
        return times["offload"]["min_s"] / times["dumps"]["min_s"]

    before = _interleaved(variants, reps)
    used = offload_result(
        {"rows": fan_out([{"id": i} for i in range(100)])},
        _repository(),
        namespace=NAMESPACE,
        budget=BUDGET,
    )
    assert used.stats.fanned_out_lists == 1
    del used
    gc.collect()
    after = _interleaved(variants, reps)
    kept = fan_out([{"id": 1}])  # a FanOut list kept alive elsewhere (a cache, say)
    while_alive = _interleaved(variants, reps)
    del kept
    out = {
        "mb": mb,
        "before": before,
        "after": after,
        "while_alive": while_alive,
        "after_vs_before": round(ratio(after) / ratio(before), 3),
        "while_alive_vs_before": round(ratio(while_alive) / ratio(before), 3),
    }
    log(out)
    return out


def log(message: Any) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, nargs="+", required=True)
    parser.add_argument("--mb-reps", type=int, nargs="+", required=True)
    parser.add_argument("--siblings", type=int, nargs="+", required=True)
    parser.add_argument("--sibling-reps", type=int, required=True)
    parser.add_argument("--fan-out-mb", type=float, required=True)
    parser.add_argument("--fan-out-reps", type=int, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    # First: nothing here may have made a FanOut list before this measurement starts.
    once = fan_out_once(args.fan_out_mb, args.fan_out_reps)
    out = {
        "budget": BUDGET,
        "fan_out_once": once,
        "sizes": by_size(args.mb, dict(zip(args.mb, args.mb_reps, strict=True))),
        "siblings": by_siblings(args.siblings, args.sibling_reps),
    }
    out["worker_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
