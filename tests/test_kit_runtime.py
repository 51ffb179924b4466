"""The local kit behaves as AWS where moto does not: handlers are invoked as the Lambda Python
runtime invokes them, ``lambda:invoke`` results carry the envelope AWS adds, and every execution
is checked against the payload and history quotas, through real ASL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sfn_offload import state_offload
from sfn_offload.budget import ENVELOPE_BYTES, STATE_LIMIT_BYTES
from sfn_offload.errors import QuotaExceededError, SfnOffloadError
from sfn_offload.testing import LocalStepFunctions, QuotaWarning, map_workers
from sfn_offload.testing.map_workers import MAX_MAP_WORKERS
from sfn_offload.testing.quotas import state_bytes
from sfn_offload.wire import is_pointer


@pytest.fixture
def local_sfn() -> Iterator[LocalStepFunctions]:
    with LocalStepFunctions() as local:
        yield local


def _invoke(function: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": f"${{{function}}}", "Payload.$": "$"},
        **extra,
    }


def _one(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {**state, "End": True}}}


def _task_result(history: list[dict[str, Any]]) -> str:
    [succeeded] = [e for e in history if e["type"] == "TaskSucceeded"]
    return str(succeeded["taskSucceededEventDetails"]["output"])


class OrderRejected(Exception):
    pass


# --------------------------------------------------------------------------------------------
# the lambda:invoke envelope
# --------------------------------------------------------------------------------------------


def test_lambda_invoke_results_carry_the_envelope_aws_adds(local_sfn: LocalStepFunctions) -> None:
    """GIVEN a handler behind arn:aws:states:::lambda:invoke and one behind its plain ARN
    THEN the first result is wrapped (ExecutedVersion, Payload, SdkHttpMetadata with the
    headers Lambda sends, SdkResponseMetadata, StatusCode), the second is the output alone."""
    local_sfn.register("echo", lambda event, context: {"got": event["n"]})
    run = local_sfn.run(
        {
            "StartAt": "Invoke",
            "States": {
                "Invoke": _invoke("echo", ResultPath="$.invoked", Next="Plain"),
                "Plain": {
                    "Type": "Task",
                    "Resource": "${echo}",
                    "ResultPath": "$.plain",
                    "End": True,
                },
            },
        },
        {"n": 3},
    )

    wrapped = run.output["invoked"]
    assert run.output["plain"] == {"got": 3}
    assert sorted(wrapped) == [
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    ]
    assert wrapped["Payload"] == {"got": 3}
    assert (wrapped["StatusCode"], wrapped["ExecutedVersion"]) == (200, "$LATEST")
    http = wrapped["SdkHttpMetadata"]
    assert http["HttpStatusCode"] == 200
    assert http["HttpHeaders"]["x-amzn-RequestId"] == wrapped["SdkResponseMetadata"]["RequestId"]
    assert http["AllHttpHeaders"] == {k: [v] for k, v in http["HttpHeaders"].items()}
    overhead = state_bytes(wrapped) - state_bytes(wrapped["Payload"])
    assert 700 < overhead <= ENVELOPE_BYTES  # realistic headers, inside the budget's allowance


def test_the_budget_leaves_room_for_the_envelope_and_the_merged_input(
    local_sfn: LocalStepFunctions,
) -> None:
    """GIVEN a 150 KB input and a decorated handler returning 150 KB, merged by ResultPath
    WHEN it runs behind lambda:invoke (strict quotas)
    THEN part of the result was offloaded, and the task result in its envelope and the merged
    state output both fit 262,144 bytes; the envelope took no more than its allowance."""

    @state_offload
    def report(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"status": "ok", "rows": ["r" * 100] * 1_500}

    local_sfn.register("report", report)
    run = local_sfn.run(
        _one(_invoke("report", ResultPath="$.report")),
        {"notes": ["n" * 100] * 1_500},
        strict_quotas=True,
    )

    assert run.status == "SUCCEEDED", run.cause
    payload = run.output["report"]["Payload"]
    assert is_pointer(payload["rows"])
    task_result = json.loads(_task_result(run.history))
    assert state_bytes(task_result) <= STATE_LIMIT_BYTES
    assert state_bytes(task_result) - state_bytes(task_result["Payload"]) <= ENVELOPE_BYTES
    assert max(run.quotas.largest_by_state().values()) <= STATE_LIMIT_BYTES


# --------------------------------------------------------------------------------------------
# invoked as the Lambda Python runtime does
# --------------------------------------------------------------------------------------------


def test_an_undecorated_async_handler_fails_as_on_aws_and_a_decorated_one_succeeds(
    local_sfn: LocalStepFunctions,
) -> None:
    """GIVEN the same async def handler registered bare and decorated
    THEN the kit does not await what a handler returns: the bare one fails with the runtime's
    Runtime.MarshalError, as on AWS, and the decorated one succeeds."""

    async def report(event: Any, context: Any) -> dict[str, str]:
        return {"status": "ok"}

    local_sfn.register("bare", report)
    local_sfn.register("decorated", state_offload(report))

    bare = local_sfn.run(_one(_invoke("bare")))
    good = local_sfn.run(_one(_invoke("decorated", OutputPath="$.Payload")))

    assert bare.status == "FAILED"
    assert bare.error == "Runtime.MarshalError"
    assert json.loads(bare.cause or "")["errorMessage"] == (
        "Unable to marshal response: Object of type coroutine is not JSON serializable"
    )
    assert good.output == {"status": "ok"}


def test_a_handler_error_has_the_runtimes_shape_and_its_bare_class_name(
    local_sfn: LocalStepFunctions,
) -> None:
    """GIVEN a decorated handler raising OrderRejected, caught by name in ASL
    THEN the Catch matched the bare class name, and the cause is the runtime's error object:
    errorMessage, errorType, requestId, and a stackTrace ending at the raise."""

    @state_offload
    def reject(event: Any, context: Any) -> Any:
        raise OrderRejected("order 7 has no lines")

    local_sfn.register("reject", reject)
    run = local_sfn.run(
        {
            "StartAt": "T",
            "States": {
                "T": _invoke(
                    "reject",
                    Catch=[
                        {"ErrorEquals": ["OrderRejected"], "ResultPath": "$.err", "Next": "Done"}
                    ],
                    End=True,
                ),
                "Done": {"Type": "Pass", "End": True},
            },
        },
    )

    assert run.status == "SUCCEEDED"
    assert run.output["err"]["Error"] == "OrderRejected"
    cause = json.loads(run.output["err"]["Cause"])
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (cause["errorType"], cause["errorMessage"]) == ("OrderRejected", "order 7 has no lines")
    assert 'raise OrderRejected("order 7 has no lines")' in cause["stackTrace"][-1]


def test_decimals_are_written_as_the_runtime_writes_them(local_sfn: LocalStepFunctions) -> None:
    import decimal

    @state_offload
    def price(event: Any, context: Any) -> dict[str, Any]:
        return {"price": decimal.Decimal("1.10"), "qty": decimal.Decimal("2")}

    local_sfn.register("price", price)
    run = local_sfn.run(_one({"Type": "Task", "Resource": "${price}"}))

    assert run.output == {"price": 1.1, "qty": 2}


# --------------------------------------------------------------------------------------------
# quotas moto does not enforce
# --------------------------------------------------------------------------------------------

#: its output is small: moto checks outputs, not the input it was started with or entered
_PASS = _one({"Type": "Pass", "Result": {"ok": True}})
_BIG_INPUT = {"blob": "x" * 300_000}  # StartExecution refuses this on AWS; moto takes it


def test_an_oversized_payload_warns_by_default_naming_state_and_size(
    local_sfn: LocalStepFunctions,
) -> None:
    with pytest.warns(QuotaWarning, match=r"state 'T': PassStateEntered input is 300,011 bytes"):
        run = local_sfn.run(_PASS, _BIG_INPUT)

    assert run.status == "SUCCEEDED"  # moto let it run
    assert not run.quotas.ok
    assert run.quotas.largest_by_state() == {"T": 300_011}


def test_strict_quotas_turn_the_warning_into_a_failure() -> None:
    with LocalStepFunctions(strict_quotas=True) as local:
        with pytest.raises(QuotaExceededError, match="over the 262,144-byte limit") as caught:
            local.run(_PASS, _BIG_INPUT)
        assert isinstance(caught.value, AssertionError)
        assert isinstance(caught.value, SfnOffloadError)
        with pytest.warns(QuotaWarning):
            local.run(_PASS, _BIG_INPUT, strict_quotas=False)  # per-run override


def test_an_inline_map_writing_more_than_25000_history_events_fails_when_strict(
    local_sfn: LocalStepFunctions,
) -> None:
    """GIVEN an Inline Map of 1,000 iterations of 12 Pass states (26 events each)
    THEN moto runs it, and the kit says the history would exceed what a Standard execution may
    write (25,000 events), which AWS would fail whatever the tasks do."""
    chain: dict[str, Any] = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(11)}
    chain["P11"] = {"Type": "Pass", "End": True}
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "P0", "States": chain},
                "ResultPath": None,
                "End": True,
            }
        },
    }

    with pytest.raises(QuotaExceededError, match=r"history has 26,006 events, over the 25,000"):
        local_sfn.run(definition, {"items": list(range(1_000))}, strict_quotas=True)


@pytest.mark.parametrize("mode", ["INLINE", "DISTRIBUTED"])
def test_a_map_runs_at_most_40_iterations_at_once_in_item_order(
    local_sfn: LocalStepFunctions, mode: str
) -> None:
    """GIVEN a Map of 120 items without MaxConcurrency (moto starts a thread per item) THEN the
    kit runs at most 40 at a time, as AWS runs an Inline Map, and the results keep their order;
    a lower MaxConcurrency still holds."""
    running, peak = 0, [0]
    lock = threading.Lock()

    def work(event: dict[str, Any], context: Any) -> int:
        nonlocal running
        with lock:
            running += 1
            peak[0] = max(peak[0], running)
        time.sleep(0.1)  # long enough for iterations to overlap
        with lock:
            running -= 1
        return int(event["n"]) * 2

    local_sfn.register("work", work)
    each = {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "${work}", "End": True}}}
    each["ProcessorConfig"] = {"Mode": mode, "ExecutionType": "STANDARD"}
    definition = {
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemProcessor": each, "End": True}},
    }
    items = [{"n": n} for n in range(120)]
    run = local_sfn.run(definition, items)
    assert run.output == [n * 2 for n in range(120)]
    assert 1 < peak[0] <= MAX_MAP_WORKERS == 40

    peak[0] = 0
    definition["States"]["Each"]["MaxConcurrency"] = 3
    assert local_sfn.run(definition, items[:30]).output == [n * 2 for n in range(30)]
    assert 1 < peak[0] <= 3


@pytest.mark.parametrize("writer", [False, True], ids=["no-ResultWriter", "ResultWriter"])
def test_a_distributed_maps_result_list_counts_unless_a_result_writer_exports_it(
    local_sfn: LocalStepFunctions, writer: bool
) -> None:
    """GIVEN 100 children returning 3,000 bytes each (300,000 bytes of results) and a
    ResultSelector that keeps only their count WHEN the Map has no ResultWriter THEN it fails
    with States.DataLimitExceeded, as on AWS (the list counts before ResultSelector); with a
    ResultWriter the results go to S3 and the execution succeeds."""
    local_sfn.register("work", lambda event, context: "r" * 3_000)
    each = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "W",
        "States": {"W": {"Type": "Task", "Resource": "${work}", "End": True}},
    }
    the_map: dict[str, Any] = {
        "Type": "Map",
        "ItemProcessor": each,
        "ResultSelector": {"count.$": "States.ArrayLength($)"},
        "End": True,
    }
    if writer:
        the_map["ResultWriter"] = {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": local_sfn.bucket, "Prefix": "results"},
        }
        del the_map["ResultSelector"]
    run = local_sfn.run({"StartAt": "Each", "States": {"Each": the_map}}, list(range(100)))
    if writer:
        assert run.status == "SUCCEEDED", run.cause
        assert set(run.output) == {"MapRunArn", "ResultWriterDetails"}
    else:
        assert (run.status, run.error) == ("FAILED", "States.DataLimitExceeded")


@pytest.mark.parametrize("mode", ["INLINE", "DISTRIBUTED"])
def test_one_worker_runs_thousands_of_iterations_without_deep_recursion(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """GIVEN the kit's Map workers capped at 1 (moto's worker takes each next job by calling
    itself) WHEN a Map runs 3,000 iterations THEN it succeeds in order: the kit runs those calls
    as a loop, so 100,000 children on 40 workers stay far from Python's recursion limit."""
    monkeypatch.setattr(map_workers, "MAX_MAP_WORKERS", 1)
    each = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    each["ProcessorConfig"] = {"Mode": mode, "ExecutionType": "STANDARD"}
    definition = {
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemProcessor": each, "End": True}},
    }
    with LocalStepFunctions() as kit:
        run = kit.run(definition, list(range(3_000)), timeout=300)
    assert run.status == "SUCCEEDED", run.cause
    assert run.output == list(range(3_000))
