"""``raise StopExecution(...)`` and ``context.stop_execution(...)`` on moto's Step Functions.

moto 5.2.5 accepts StopExecution's ``error`` and ``cause`` but drops them; the ``sfn`` fixture
shims its response handler to record the request as sent and to keep error/cause on the
execution, so DescribeExecution shows them as AWS would.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto.core.exceptions import JsonRESTError
from moto.stepfunctions.models import stepfunctions_backends
from moto.stepfunctions.responses import StepFunctionResponse

from conftest import AwsResources
from fakes import ACCOUNT, FakeLambdaContext, memory_repo
from sfn_offload import StopExecution, state_offload
from sfn_offload._context import StopResult
from sfn_offload.errors import StopExecutionError
from sfn_offload.storage import AwsClients
from sfn_offload.wire import is_pointer

REGION = "us-east-1"
WAIT_FOREVER = {
    "StartAt": "Wait",
    "States": {"Wait": {"Type": "Wait", "Seconds": 86_400, "End": True}},
}


@dataclass
class Sfn:
    """moto Step Functions with a long-waiting state machine and a StopExecution recorder."""

    client: Any
    machine_arn: str
    #: The JSON body of every StopExecution request, as the service received it.
    stop_requests: list[dict[str, Any]] = field(default_factory=list)
    #: When True, stopping a closed execution fails as a strict service might.
    refuse_closed: bool = False

    def start(self, name: str) -> str:
        arn: str = self.client.start_execution(stateMachineArn=self.machine_arn, name=name)[
            "executionArn"
        ]
        return arn

    def describe(self, arn: str) -> dict[str, Any]:
        response: dict[str, Any] = self.client.describe_execution(executionArn=arn)
        return response

    def set_status(self, arn: str, status: str) -> None:
        stepfunctions_backends[ACCOUNT][REGION].describe_execution(arn).status = status


@pytest.fixture
def sfn(moto_resources: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Sfn:
    client = boto3.client("stepfunctions", region_name=REGION)
    machine = client.create_state_machine(
        name="orders",
        definition=json.dumps(WAIT_FOREVER),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/orders-sfn",
    )
    state = Sfn(client, machine["stateMachineArn"])
    original = StepFunctionResponse.stop_execution

    def stop_execution(response: StepFunctionResponse) -> Any:
        body = json.loads(response.body)
        state.stop_requests.append(body)
        backend = stepfunctions_backends[ACCOUNT][REGION]
        execution = backend.describe_execution(body["executionArn"])
        if state.refuse_closed and execution.status != "RUNNING":
            raise JsonRESTError("ValidationException", "Execution is already closed")
        result = original(response)
        # What moto drops: keep error/cause on the execution, as the real service does.
        execution.error = body.get("error")
        execution.cause = body.get("cause")
        return result

    monkeypatch.setattr(StepFunctionResponse, "stop_execution", stop_execution)
    return state


# --------------------------------------------------------------------------------------------
# raise StopExecution
# --------------------------------------------------------------------------------------------


def test_raising_stop_execution_aborts_the_running_execution(sfn: Sfn) -> None:
    """GIVEN a running Standard execution whose ARN is in the event
    WHEN the decorated handler raises StopExecution(error="FeatureDisabled", cause=...)
    THEN the execution is ABORTED with that error and cause, and the invocation ends cleanly
    with a small summary."""
    arn = sfn.start("order-1")

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error="FeatureDisabled", cause="orders-v2 flag is off")

    out = handler({"sfn_execution_arn": arn, "order": 1}, FakeLambdaContext())

    assert out == {"stopped": True, "execution_arn": arn, "status": "ABORTED"}
    described = sfn.describe(arn)
    assert described["status"] == "ABORTED"
    assert (described["error"], described["cause"]) == ("FeatureDisabled", "orders-v2 flag is off")


def test_an_async_handler_raising_stop_execution_aborts_the_execution(sfn: Sfn) -> None:
    """GIVEN an ``async def`` handler
    WHEN it raises StopExecution
    THEN the decorated handler, called as the Lambda runtime calls it, returns the summary
    and the execution is ABORTED."""
    arn = sfn.start("order-async")

    @state_offload(repository=memory_repo())
    async def handler(event: Any, context: Any) -> Any:
        await asyncio.sleep(0)
        raise StopExecution(error="InvalidInput")

    out = handler({"sfn_execution_arn": arn}, FakeLambdaContext())

    assert out["stopped"] is True
    assert sfn.describe(arn)["status"] == "ABORTED"


def test_error_and_cause_are_cut_to_the_api_limits_with_a_visible_marker(sfn: Sfn) -> None:
    """GIVEN an error of 300 characters and a cause of 40,000
    WHEN StopExecution is raised
    THEN the request carries error cut to 256 and cause to 32,768 characters, each ending in
    "...[truncated]" after the original text's start."""
    arn = sfn.start("order-long")
    error, cause = "E" * 300, "c" * 40_000

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error=error, cause=cause)

    handler({"sfn_execution_arn": arn}, FakeLambdaContext())

    sent = sfn.stop_requests[0]
    assert len(sent["error"]) == 256
    assert len(sent["cause"]) == 32_768
    assert sent["error"] == "E" * (256 - 14) + "...[truncated]"
    assert sent["cause"] == "c" * (32_768 - 14) + "...[truncated]"
    assert sfn.describe(arn)["status"] == "ABORTED"


def test_error_and_cause_exactly_at_the_limits_are_sent_whole(sfn: Sfn) -> None:
    """GIVEN an error of exactly 256 and a cause of exactly 32,768 characters
    THEN both are sent unchanged (no marker)."""
    arn = sfn.start("order-exact")
    error, cause = "e" * 256, "C" * 32_768

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error=error, cause=cause)

    handler({"sfn_execution_arn": arn}, FakeLambdaContext())

    assert (sfn.stop_requests[0]["error"], sfn.stop_requests[0]["cause"]) == (error, cause)


@pytest.mark.parametrize(
    ("kwargs", "sent_fields"),
    [
        ({}, {"executionArn"}),
        ({"error": "OnlyError"}, {"executionArn", "error"}),
        ({"cause": "only a cause"}, {"executionArn", "cause"}),
        ({"error": "E", "cause": "C"}, {"executionArn", "error", "cause"}),
        ({"error": "", "cause": ""}, {"executionArn", "error", "cause"}),
    ],
)
def test_only_the_given_fields_are_sent(
    sfn: Sfn, kwargs: dict[str, str], sent_fields: set[str]
) -> None:
    """GIVEN StopExecution with none, one or both of error/cause
    THEN the request holds exactly the executionArn and the given fields (a caller sending
    neither needs no KMS permission on encrypted executions)."""
    arn = sfn.start("order-fields")

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(**kwargs)

    handler({"sfn_execution_arn": arn}, FakeLambdaContext())

    assert set(sfn.stop_requests[0]) == sent_fields
    assert sfn.stop_requests[0]["executionArn"] == arn


def test_stopping_an_execution_that_already_finished_is_tolerated(sfn: Sfn) -> None:
    """GIVEN an execution that was already stopped (moto accepts a second stop)
    WHEN a handler raises StopExecution for it again
    THEN the invocation ends cleanly and the execution stays ABORTED."""
    arn = sfn.start("order-twice")
    sfn.client.stop_execution(executionArn=arn)

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error="Again")

    out = handler({"sfn_execution_arn": arn}, FakeLambdaContext())

    assert out["execution_arn"] == arn
    assert sfn.describe(arn)["status"] == "ABORTED"


@pytest.mark.parametrize("status", ["SUCCEEDED", "ABORTED", "FAILED"])
def test_a_refused_stop_of_a_closed_execution_is_tolerated(sfn: Sfn, status: str) -> None:
    """GIVEN a service that refuses StopExecution on a closed execution, and an execution that
    is already SUCCEEDED/ABORTED/FAILED
    WHEN a handler raises StopExecution
    THEN the invocation ends cleanly, reporting that nothing was stopped and the status found."""
    arn = sfn.start(f"order-closed-{status.lower()}")
    sfn.set_status(arn, status)
    sfn.refuse_closed = True

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error="TooLate")

    out = handler({"sfn_execution_arn": arn}, FakeLambdaContext())

    assert out == {"stopped": False, "execution_arn": arn, "status": status}
    assert len(sfn.stop_requests) == 1


def test_stopping_an_execution_that_does_not_exist_is_an_error(sfn: Sfn) -> None:
    """GIVEN an execution ARN that does not exist
    WHEN a handler raises StopExecution
    THEN StopExecutionError names the ARN and the AWS error code."""
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:orders:never-started"

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error="Whatever")

    with pytest.raises(StopExecutionError, match=r"never-started.*ExecutionDoesNotExist"):
        handler({"sfn_execution_arn": arn}, FakeLambdaContext())


def test_a_transport_error_is_a_stop_execution_error_chained_to_it() -> None:
    """GIVEN a Step Functions client that cannot reach its endpoint
    WHEN a handler raises StopExecution
    THEN StopExecutionError names the ARN and is chained to the botocore error."""

    class Unreachable:
        def stop_execution(self, **kwargs: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://states.us-east-1.amazonaws.com")

    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:orders:offline"
    repo = memory_repo(clients=AwsClients(stepfunctions_client=Unreachable()))  # type: ignore[arg-type]

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error="Offline")

    with pytest.raises(StopExecutionError, match="offline") as caught:
        handler({"sfn_execution_arn": arn}, FakeLambdaContext())
    assert isinstance(caught.value.__cause__, EndpointConnectionError)


# --------------------------------------------------------------------------------------------
# when the API cannot stop: fail the task with an exception named after the error
# --------------------------------------------------------------------------------------------

EXPRESS_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:express:orders-express:run-7:8a4f-11ee"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"sfn_execution_arn": EXPRESS_ARN}, "Express execution"),
        ({"order": 1}, "carries none"),
    ],
    ids=["express", "no-arn"],
)
def test_when_the_api_cannot_stop_the_task_fails_with_an_exception_named_after_the_error(
    sfn: Sfn, event: dict[str, Any], reason: str
) -> None:
    """GIVEN an Express execution ARN, or no execution ARN at all
    WHEN the handler raises StopExecution(error="FeatureDisabled", cause=...)
    THEN the handler raises an exception whose class name is "FeatureDisabled" (what an ASL
    Catch matches), which is a StopExecutionError; no StopExecution request is sent."""

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error="FeatureDisabled", cause="flag off")

    with pytest.raises(StopExecutionError) as caught:
        handler(event, FakeLambdaContext())

    assert type(caught.value).__name__ == "FeatureDisabled"
    assert reason in str(caught.value)
    assert "flag off" not in str(caught.value)  # the Lambda runtime logs messages: no cause
    assert sfn.stop_requests == []


def test_without_an_error_the_failing_exception_is_named_stop_execution() -> None:
    """GIVEN no execution ARN and StopExecution() without error
    THEN the raised exception's class name is "StopExecution"."""

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution()

    with pytest.raises(StopExecutionError) as caught:
        handler({}, FakeLambdaContext())

    assert type(caught.value).__name__ == "StopExecution"


def test_a_long_error_name_is_cut_for_the_exception_name_too() -> None:
    """GIVEN no execution ARN and an error of 300 characters
    THEN the exception's class name is the error cut to 256 characters."""

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error="X" * 300)

    with pytest.raises(StopExecutionError) as caught:
        handler({}, FakeLambdaContext())

    assert len(type(caught.value).__name__) == 256


def test_the_execution_arn_key_option_names_where_the_arn_is(sfn: Sfn) -> None:
    """GIVEN execution_arn_key="execution" and the ARN under that key
    THEN StopExecution stops that execution."""
    arn = sfn.start("order-key")

    @state_offload(repository=memory_repo(), execution_arn_key="execution")
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution()

    assert handler({"execution": arn}, FakeLambdaContext())["stopped"] is True
    assert sfn.describe(arn)["status"] == "ABORTED"


# --------------------------------------------------------------------------------------------
# context.stop_execution
# --------------------------------------------------------------------------------------------


def test_context_stop_execution_stops_and_the_handler_continues(sfn: Sfn) -> None:
    """GIVEN a handler that calls context.stop_execution() (no error, no cause) and returns
    WHEN it runs
    THEN the execution is ABORTED with no error/cause sent, the call returned the summary, and
    the handler's own (large) result is still offloaded as usual."""
    arn = sfn.start("order-explicit")
    summaries: list[Any] = []

    @state_offload(repository=memory_repo(), max_inline_bytes=5_000)
    def handler(event: Any, context: Any) -> Any:
        summaries.append(context.stop_execution(error=None, cause=None))
        return {"report": "r" * 10_000}

    out = handler({"sfn_execution_arn": arn}, FakeLambdaContext())

    assert summaries == [{"stopped": True, "execution_arn": arn, "status": "ABORTED"}]
    assert isinstance(summaries[0], StopResult)
    assert sfn.stop_requests == [{"executionArn": arn}]
    assert sfn.describe(arn)["status"] == "ABORTED"
    assert is_pointer(out["report"])


def test_context_stop_execution_can_be_awaited_in_an_async_handler(sfn: Sfn) -> None:
    """GIVEN an ``async def`` handler that awaits context.stop_execution(error=..., cause=...)
    THEN the awaited value is the summary and the execution is ABORTED with that error."""
    arn = sfn.start("order-await")

    @state_offload(repository=memory_repo())
    async def handler(event: Any, context: Any) -> Any:
        summary = await context.stop_execution(error="Cancelled", cause="user cancelled")
        return {"summary": dict(summary)}

    out = handler({"sfn_execution_arn": arn}, FakeLambdaContext())

    assert out == {"summary": {"stopped": True, "execution_arn": arn, "status": "ABORTED"}}
    assert (sfn.describe(arn)["error"], sfn.describe(arn)["cause"]) == (
        "Cancelled",
        "user cancelled",
    )


def test_context_stop_execution_without_an_arn_raises_the_named_exception() -> None:
    """GIVEN no execution ARN in the event
    WHEN the handler calls context.stop_execution(error="NoArn")
    THEN an exception named "NoArn" (a StopExecutionError) propagates from the call."""

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        context.stop_execution(error="NoArn")
        return "not reached"

    with pytest.raises(StopExecutionError) as caught:
        handler({}, FakeLambdaContext())

    assert type(caught.value).__name__ == "NoArn"


def test_context_stop_execution_on_an_express_execution_raises_when_awaited_too() -> None:
    """GIVEN an Express execution and an async handler awaiting context.stop_execution()
    THEN the named exception propagates out of the awaited handler."""

    @state_offload(repository=memory_repo())
    async def handler(event: Any, context: Any) -> Any:
        await context.stop_execution(error="ExpressStop")

    with pytest.raises(StopExecutionError) as caught:
        handler({"sfn_execution_arn": EXPRESS_ARN}, FakeLambdaContext())

    assert type(caught.value).__name__ == "ExpressStop"
