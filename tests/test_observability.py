"""What the decorator tells the operator: debug logs (sizes, counts, pointers; never payloads,
never StopExecution's error/cause) and Powertools metrics.

Step Functions is a botocore ``Stubber`` here (exact request shapes, no wire logs); payloads
live in memory stores.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics
from botocore.stub import Stubber

from fakes import EXECUTION_ARN, FakeLambdaContext, memory_repo
from sfn_offload import StopExecution, fan_out, state_offload
from sfn_offload.storage import AwsClients, PayloadRepository

PAYLOAD_MARK = "PAYLOAD-BODY-7c1e"
ERROR_MARK = "ErrorMark9f2a"
CAUSE_MARK = "cause-mark-55d0"


@pytest.fixture
def stubbed() -> Iterator[tuple[PayloadRepository, Stubber]]:
    """A memory repository whose Step Functions client is stubbed."""
    client = boto3.client("stepfunctions", region_name="us-east-1")
    stubber = Stubber(client)
    with stubber:
        yield memory_repo(clients=AwsClients(stepfunctions_client=client)), stubber
    stubber.assert_no_pending_responses()


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    # Powertools keeps metrics in class-level storage shared by every Metrics instance.
    m = Metrics(namespace="SfnOffloadTests", service="orders")
    m.clear_metrics()
    yield m
    m.clear_metrics()


def _expect_stop(stubber: Stubber, **params: str) -> None:
    stubber.add_response(
        "stop_execution",
        {"stopDate": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)},
        {"executionArn": EXECUTION_ARN, **params},
    )


def _pointer(repo: PayloadRepository, key: str, value: Any) -> dict[str, Any]:
    return repo.write_value(key, 0, repo.encode(value)).to_dict()


def _all_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), record.exc_text or "", str(record.args)]
    return "\n".join(parts)


def test_debug_logs_give_pointers_sizes_and_counts_but_never_payloads_or_error_cause(
    caplog: pytest.LogCaptureFixture, stubbed: tuple[PayloadRepository, Stubber]
) -> None:
    """GIVEN every logger at DEBUG, an event with two pointers to marked payloads, a handler
    that stops the execution with a marked error and cause and returns a marked large result
    WHEN it runs
    THEN the log says how many references were hydrated, how many parts were offloaded (with
    their pointers and sizes) and which execution was stopped, and no record anywhere holds
    payload text or the error/cause strings."""
    repo, stubber = stubbed
    _expect_stop(stubber, error=ERROR_MARK, cause=CAUSE_MARK)
    event = {
        "sfn_execution_arn": EXECUTION_ARN,
        "a": _pointer(repo, "run-42:a", {"text": PAYLOAD_MARK * 10}),
        "b": _pointer(repo, "run-42:b", [PAYLOAD_MARK]),
    }
    caplog.set_level(logging.DEBUG)

    @state_offload(repository=repo, max_inline_bytes=2_000)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        context.stop_execution(error=ERROR_MARK, cause=CAUSE_MARK)
        return {"status": "ok", "report": PAYLOAD_MARK * 1_000, "seen": event["b"]}

    out = handler(event, FakeLambdaContext())

    assert out["status"] == "ok"
    messages = [r.getMessage() for r in caplog.records]
    hydrated = [m for m in messages if m.startswith("hydrated ")]
    offloaded = [m for m in messages if m.startswith("offloaded ")]
    stopped = [m for m in messages if m.startswith("stopped execution")]
    assert hydrated == [
        "hydrated 2 reference(s): 2 DynamoDB item(s), 0 S3 object(s), "
        f"{sum(p['size'] for p in (event['a'], event['b']))} stored bytes, "
        f"{sum(p['size'] for p in (event['a'], event['b']))} JSON bytes"
    ]
    assert len(offloaded) == 1
    assert "offloaded 1 part(s) (17002 JSON bytes, 17002 stored)" in offloaded[0]
    assert "budget 2000" in offloaded[0]
    assert out["report"]["key"] in offloaded[0]
    assert stopped == [f"stopped execution {EXECUTION_ARN} (error=True)"]
    for record in caplog.records:
        text = _all_text(record)
        assert PAYLOAD_MARK not in text, record.name
        assert ERROR_MARK not in text, record.name
        assert CAUSE_MARK not in text, record.name


def test_raised_stop_execution_logs_neither_error_nor_cause(
    caplog: pytest.LogCaptureFixture, stubbed: tuple[PayloadRepository, Stubber]
) -> None:
    """GIVEN every logger at DEBUG and a handler raising StopExecution with marked strings
    THEN the stop is logged with the ARN only."""
    repo, stubber = stubbed
    _expect_stop(stubber, error=ERROR_MARK, cause=CAUSE_MARK)
    caplog.set_level(logging.DEBUG)

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error=ERROR_MARK, cause=CAUSE_MARK)

    handler({"sfn_execution_arn": EXECUTION_ARN}, FakeLambdaContext())

    assert any(EXECUTION_ARN in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if ERROR_MARK in _all_text(r)]
    assert not [r for r in caplog.records if CAUSE_MARK in _all_text(r)]


def test_a_stop_of_a_closed_execution_is_logged_with_its_status_only(
    caplog: pytest.LogCaptureFixture, stubbed: tuple[PayloadRepository, Stubber]
) -> None:
    """GIVEN a service that refuses to stop an execution that already SUCCEEDED
    THEN the debug log says so (ARN and status), without error or cause."""
    repo, stubber = stubbed
    stubber.add_client_error(
        "stop_execution",
        service_error_code="ValidationException",
        expected_params={"executionArn": EXECUTION_ARN, "error": ERROR_MARK, "cause": CAUSE_MARK},
    )
    stubber.add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION_ARN,
            "stateMachineArn": EXECUTION_ARN.replace(":execution:", ":stateMachine:").rsplit(
                ":", 1
            )[0],
            "status": "SUCCEEDED",
            "startDate": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        },
        {"executionArn": EXECUTION_ARN},
    )
    caplog.set_level(logging.DEBUG)

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error=ERROR_MARK, cause=CAUSE_MARK)

    out = handler({"sfn_execution_arn": EXECUTION_ARN}, FakeLambdaContext())

    assert out == {"stopped": False, "execution_arn": EXECUTION_ARN, "status": "SUCCEEDED"}
    assert f"execution {EXECUTION_ARN} already SUCCEEDED; nothing to stop" in caplog.messages
    assert not [r for r in caplog.records if ERROR_MARK in _all_text(r)]


def test_no_offload_or_hydrate_log_lines_for_a_plain_small_invocation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN an event without references and a small result
    THEN the library logs nothing at all."""
    caplog.set_level(logging.DEBUG, logger="sfn_offload")

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        return {"ok": True}

    handler({"n": 1}, FakeLambdaContext())

    assert [r for r in caplog.records if r.name.startswith("sfn_offload")] == []


def _values(metrics: Metrics) -> dict[str, tuple[str, list[float]]]:
    return {
        name: (str(entry["Unit"]), list(entry["Value"]))
        for name, entry in metrics.metric_set.items()
    }


def test_metrics_are_added_for_hydration_offload_fan_out_and_stop(
    metrics: Metrics, stubbed: tuple[PayloadRepository, Stubber]
) -> None:
    """GIVEN a Powertools Metrics passed as metrics=
    WHEN one invocation hydrates two pointers, offloads one part, fans out three elements and
    stops the execution
    THEN HydratedPointers, HydratedBytes, OffloadedParts, OffloadedBytes, FannedOutElements and
    StoppedExecutions are added with those values, and serialize into the EMF namespace."""
    repo, stubber = stubbed
    _expect_stop(stubber)
    event = {
        "sfn_execution_arn": EXECUTION_ARN,
        "a": _pointer(repo, "run-42:a", "a" * 100),
        "b": _pointer(repo, "run-42:b", [1, 2, 3]),
    }

    @state_offload(repository=repo, metrics=metrics, max_inline_bytes=2_000)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        context.stop_execution()
        return {"report": "r" * 5_000, "shards": fan_out([{"i": i} for i in range(3)])}

    handler(event, FakeLambdaContext())

    assert _values(metrics) == {
        "HydratedPointers": ("Count", [2.0]),
        "HydratedBytes": ("Bytes", [102.0 + 7.0]),  # '"aaa...a"' and '[1,2,3]'
        "OffloadedParts": ("Count", [1.0]),
        "OffloadedBytes": ("Bytes", [5_002.0]),
        "FannedOutElements": ("Count", [3.0]),
        "StoppedExecutions": ("Count", [1.0]),
    }
    emf = metrics.serialize_metric_set()
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SfnOffloadTests"
    assert {m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "HydratedPointers",
        "HydratedBytes",
        "OffloadedParts",
        "OffloadedBytes",
        "FannedOutElements",
        "StoppedExecutions",
    }


def test_no_metrics_are_added_when_nothing_happened(metrics: Metrics) -> None:
    """GIVEN metrics= and an invocation without references, offload or stop
    THEN no metric is added (zero values are not reported)."""

    @state_offload(repository=memory_repo(), metrics=metrics)
    def handler(event: Any, context: Any) -> Any:
        return {"ok": True}

    handler({"n": 1}, FakeLambdaContext())

    assert metrics.metric_set == {}


def test_stopping_an_execution_that_already_finished_is_not_counted_as_stopped(
    metrics: Metrics, stubbed: tuple[PayloadRepository, Stubber]
) -> None:
    """GIVEN a service that refuses to stop an execution that already SUCCEEDED
    WHEN the handler raises StopExecution
    THEN no StoppedExecutions metric is added (nothing was stopped)."""
    repo, stubber = stubbed
    stubber.add_client_error("stop_execution", service_error_code="ValidationException")
    stubber.add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION_ARN,
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
            "status": "SUCCEEDED",
            "startDate": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        },
    )

    @state_offload(repository=repo, metrics=metrics)
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution()

    assert handler({"sfn_execution_arn": EXECUTION_ARN}, FakeLambdaContext())["stopped"] is False
    assert "StoppedExecutions" not in metrics.metric_set
