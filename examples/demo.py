"""`make demo`: run the order-report state machine end to end on moto (no AWS account).

Three runs of ``examples/order_report/state_machine.asl.json`` in moto's Step Functions engine,
with the real Python handlers as its Lambda functions:

1. with ``@state_offload``: SUCCEEDED; per state, inline bytes against the 262,144 limit; what
   was offloaded where; the AWS requests the tasks made;
2. the same handlers without the decorator: FAILED with ``States.DataLimitExceeded``;
3. with the feature flag off: ``StopExecution`` leaves the execution ABORTED with its error and
   cause.

Exits non-zero if any expectation fails.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))  # `python examples/demo.py` from the repository root

from examples.order_report import handlers  # noqa: E402
from sfn_offload.budget import STATE_LIMIT_BYTES  # noqa: E402
from sfn_offload.testing import Execution, LocalStepFunctions  # noqa: E402

DEFINITION = ROOT / "order_report" / "state_machine.asl.json"
TASKS = ("check_feature", "load_orders", "price_shard", "aggregate")
failures: list[str] = []


def expect(condition: bool, message: str) -> None:
    print(f"  {'ok  ' if condition else 'FAIL'} {message}")
    if not condition:
        failures.append(message)


def step(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.perf_counter()


def run(local: LocalStepFunctions, suffix: str, flag: bool) -> Execution:
    print(f"  running the state machine ({suffix})...", flush=True)
    return local.run(
        DEFINITION, {"tenant": "acme", "report_enabled": flag}, name=f"order-report-{suffix}"
    )


def register(local: LocalStepFunctions, pick: Callable[[str], Any]) -> None:
    for name in TASKS:
        local.register(name, pick(name))


def show_sizes(execution: Execution) -> None:
    print(f"  {'state':<14}{'input bytes':>14}{'output bytes':>14}   of {STATE_LIMIT_BYTES:,}")
    for size in execution.state_sizes():
        inp = "-" if size.input_bytes is None else f"{size.input_bytes:,}"
        out = "-" if size.output_bytes is None else f"{size.output_bytes:,}"
        share = f"{100 * size.largest / STATE_LIMIT_BYTES:5.1f}%"
        print(f"  {size.name:<14}{inp:>14}{out:>14}   {share}")


def main() -> int:
    started = time.perf_counter()
    import os

    os.environ["SFN_OFFLOAD_COMPRESSION"] = "gzip"  # show compressed sizes too

    t = step("1/3  with @state_offload: the pipeline succeeds")
    with LocalStepFunctions() as local:
        register(local, lambda name: getattr(handlers, name))
        good = run(local, "decorated", flag=True)
        print(f"  finished in {time.perf_counter() - t:.1f} s: {good.status}")
        show_sizes(good)
        stored = local.stored()
        by_backend: dict[str, list[int]] = {}
        for payload in stored:
            entry = by_backend.setdefault(payload.backend, [0, 0, 0])
            entry[0] += 1
            entry[1] += payload.json_bytes
            entry[2] += payload.stored_bytes
        print("  offloaded payloads:")
        for backend, (count, raw, packed) in sorted(by_backend.items()):
            print(
                f"    {backend:<9}{count:>5} payload(s) {raw:>12,} JSON bytes "
                f"-> {packed:>10,} stored (gzip)"
            )
        largest = max(stored, key=lambda p: p.json_bytes)
        print(f"    largest: {largest.backend} {largest.key} ({largest.json_bytes:,} bytes)")
        calls = ", ".join(f"{svc}.{op} {n}" for (svc, op), n in sorted(local.aws_calls.items()))
        print(f"  AWS requests made by the tasks: {calls}")
        expect(good.status == "SUCCEEDED", "decorated run SUCCEEDED")
        expect(
            all(s.largest <= STATE_LIMIT_BYTES for s in good.state_sizes()),
            "every state's input and output fits 262,144 bytes",
        )
        expect(
            isinstance(good.output, dict) and good.output.get("orders") == 14_000,
            "the aggregate saw all 14,000 orders through pointers",
        )
        expect(sum(p.json_bytes for p in stored) > 2_000_000, "several MB were offloaded")

    t = step("2/3  the same handlers without the decorator")
    with LocalStepFunctions() as local:
        register(local, lambda name: getattr(handlers, f"{name}_plain"))
        plain = run(local, "plain", flag=True)
        print(f"  finished in {time.perf_counter() - t:.1f} s: {plain.status} {plain.error}")
        print(f"  cause: {plain.cause}")
        expect(
            plain.status == "FAILED" and plain.error == "States.DataLimitExceeded",
            "undecorated run FAILED with States.DataLimitExceeded",
        )

    t = step("3/3  feature flag off: raise StopExecution")
    with LocalStepFunctions() as local:
        register(local, lambda name: getattr(handlers, name))
        stopped = run(local, "stopped", flag=False)
        print(f"  finished in {time.perf_counter() - t:.1f} s: {stopped.status}")
        print(f"  error: {stopped.error}; cause: {stopped.cause}")
        expect(stopped.status == "ABORTED", "execution ABORTED by StopExecution")
        expect(stopped.error == "ReportDisabled", "error recorded as ReportDisabled")
        expect(local.invocations == ["check_feature"], "no task ran after the stop")

    print(
        f"\n{'PASS' if not failures else 'FAIL'}: demo finished in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
