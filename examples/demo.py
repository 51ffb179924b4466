"""`make demo`: run the order-report state machine end to end on moto (no AWS account).

Three runs of ``examples/order_report/state_machine.asl.json`` in moto's Step Functions engine,
with the real Python handlers as its Lambda functions:

1. with ``@state_offload``: SUCCEEDED; per state, inline bytes against the 262,144 limit; what
   was offloaded where (its JSON bytes, and the bytes stored, gzip-compressed); the AWS
   requests the tasks made;
2. the same handlers without the decorator: FAILED with ``States.DataLimitExceeded``, naming
   the state that failed and the bytes its task returned against the limit;
3. with the feature flag off: ``StopExecution`` leaves the execution ABORTED with its error and
   cause.

Exits non-zero if any expectation fails.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))  # `python examples/demo.py` from the repository root

from examples.order_report import handlers  # noqa: E402
from sfn_offload.budget import STATE_LIMIT_BYTES  # noqa: E402
from sfn_offload.testing import Execution, LocalStepFunctions, StoredPayload  # noqa: E402
from sfn_offload.wire.codec import dumps  # noqa: E402

DEFINITION = ROOT / "order_report" / "state_machine.asl.json"
TASKS = ("check_feature", "load_orders", "price_shard", "aggregate")
failures: list[str] = []


#: moto's engine logs every state that fails with the state's whole parse tree (~3 KB); the
#: failure itself is the execution's error and cause, which the demo prints.
MOTO_ENGINE_LOG = "moto.stepfunctions.parser.asl.component.eval_component"


class HideExecutionFailures(logging.Filter):
    """Drop moto's log of a failure the execution reports; any other engine error still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        first = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        return not str(first).startswith("Exception=FailureEventException")


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


def measured(name: str, handler: Callable[..., Any], sizes: dict[str, int]) -> Any:
    """``handler``, recording the bytes of each result it returns: compact UTF-8 JSON, as the
    state sizes above and the 262,144-byte limit count them."""

    def call(event: Any, context: Any) -> Any:
        result = handler(event, context)
        sizes[name] = len(dumps(result, where=f"{name}'s result"))
        return result

    return call


def failed_state(execution: Execution) -> str | None:
    """The state that was running when the execution failed."""
    for event in reversed(execution.history):
        name = event.get("stateEnteredEventDetails", {}).get("name")
        if name:
            return str(name)
    return None


def show_stored(stored: list[StoredPayload]) -> None:
    # JSON bytes: the payload as a state would carry it; stored bytes: what the table or bucket
    # holds for it (gzip-compressed when that is smaller, so fewer).
    print("  offloaded payloads (JSON bytes, and the bytes stored for them):")
    for backend in sorted({p.backend for p in stored}):
        mine = [p for p in stored if p.backend == backend]
        gzipped = sum("gzip" in p.encoding for p in mine)
        how = "gzip" if gzipped == len(mine) else "gzip where smaller" if gzipped else "as JSON"
        print(
            f"    {backend:<9}{len(mine):>5} payload(s) "
            f"{sum(p.json_bytes for p in mine):>12,} JSON bytes -> "
            f"{sum(p.stored_bytes for p in mine):>10,} bytes stored ({how})"
        )
    largest = max(stored, key=lambda p: p.json_bytes)
    print(
        f"    largest: {largest.backend} {largest.key}: {largest.json_bytes:,} JSON bytes, "
        f"{largest.stored_bytes:,} bytes stored "
        f"({'gzip' if 'gzip' in largest.encoding else 'as JSON'})"
    )


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
    logging.getLogger(MOTO_ENGINE_LOG).addFilter(HideExecutionFailures())

    t = step("1/3  with @state_offload: the pipeline succeeds")
    with LocalStepFunctions() as local:
        register(local, lambda name: getattr(handlers, name))
        good = run(local, "decorated", flag=True)
        print(f"  finished in {time.perf_counter() - t:.1f} s: {good.status}")
        show_sizes(good)
        stored = local.stored()
        show_stored(stored)
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
    returned: dict[str, int] = {}
    with LocalStepFunctions() as local:
        register(local, lambda name: measured(name, getattr(handlers, f"{name}_plain"), returned))
        plain = run(local, "plain", flag=True)
        print(f"  finished in {time.perf_counter() - t:.1f} s: {plain.status} {plain.error}")
        state, task = failed_state(plain), local.invocations[-1]
        size = returned.get(task, 0)
        print(
            f"  failed in state {state}: its task {task} returned {size:,} bytes of JSON, "
            f"{size / STATE_LIMIT_BYTES:.1f}x the {STATE_LIMIT_BYTES:,}-byte limit "
            f"(over by {size - STATE_LIMIT_BYTES:,})"
        )
        print(f"  moto's cause: {plain.cause}")
        expect(
            plain.status == "FAILED" and plain.error == "States.DataLimitExceeded",
            "undecorated run FAILED with States.DataLimitExceeded",
        )
        expect(
            state == "LoadOrders" and size > STATE_LIMIT_BYTES,
            "the failing state and its oversized result are named",
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
