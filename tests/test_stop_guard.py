"""Issue #14, outcome 3: StopExecution restricted to documented state machines, its arguments
validated with typed errors, and no cause in any message.

State-level claims run real ASL in the local kit: a task whose input names another state
machine's execution (from state data, as an attacker's input could) must not abort it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fakes import EXECUTION_ARN, FakeLambdaContext, memory_repo
from sfn_offload import OffloadConfig, StopExecution, state_offload
from sfn_offload.errors import StopArgumentError, StopExecutionError, StopNotAllowedError
from sfn_offload.storage import AwsClients
from sfn_offload.testing import LocalStepFunctions


class RecordingSfn:
    """A Step Functions client that records StopExecution requests."""

    def __init__(self) -> None:
        self.stops: list[dict[str, Any]] = []

    def stop_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.stops.append(kwargs)
        return {}


def stopping_handler(sfn: RecordingSfn, **config: Any) -> Any:
    repo = memory_repo(clients=AwsClients(stepfunctions_client=sfn), **config)  # type: ignore[arg-type]

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error=event.get("error"), cause=event.get("cause"))

    return handler


# --------------------------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "cause", "named"),
    [(404, None, "error"), ("Bad", 3.5, "cause"), (["x"], "c", "error"), ("E", {"c": 1}, "cause")],
)
def test_stop_arguments_that_are_not_strings_are_a_typed_error(
    error: Any, cause: Any, named: str
) -> None:
    """GIVEN raise StopExecution(error=404) (or a cause that is not a string)
    WHEN the decorated handler runs THEN StopArgumentError naming the argument, not TypeError,
    and no request."""
    sfn = RecordingSfn()
    handler = stopping_handler(sfn)
    with pytest.raises(StopArgumentError, match=f"StopExecution {named} must be a string"):
        handler({"sfn_execution_arn": EXECUTION_ARN, "error": error, "cause": cause}, None)
    assert sfn.stops == []


def test_context_stop_execution_validates_its_arguments_too() -> None:
    sfn = RecordingSfn()
    repo = memory_repo(clients=AwsClients(stepfunctions_client=sfn))  # type: ignore[arg-type]

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return context.stop_execution(error=1)

    with pytest.raises(StopArgumentError):
        handler({"sfn_execution_arn": EXECUTION_ARN}, None)
    assert sfn.stops == []


@pytest.mark.parametrize(
    "event", [{}, {"sfn_execution_arn": EXECUTION_ARN.replace(":execution:", ":express:")}]
)
def test_a_stop_that_becomes_a_failure_does_not_carry_the_cause(event: dict[str, Any]) -> None:
    """Without an ARN, or on Express, the task fails with an exception named after the error;
    its message (which the Lambda runtime logs and puts in the task's Cause) omits the cause."""
    handler = stopping_handler(RecordingSfn())
    secret = "customer 42 has card 4111-1111"
    with pytest.raises(StopExecutionError) as caught:
        handler({**event, "error": "FeatureDisabled", "cause": secret}, FakeLambdaContext())
    assert type(caught.value).__name__ == "FeatureDisabled"
    assert "4111" not in str(caught.value)
    assert all("4111" not in str(arg) for arg in caught.value.args)


# --------------------------------------------------------------------------------------------
# the allow-list
# --------------------------------------------------------------------------------------------

PAYROLL_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:payroll:run-9"


@pytest.mark.parametrize(
    "allowed",
    [
        frozenset({"orders"}),
        frozenset({"arn:aws:states:us-east-1:123456789012:stateMachine:orders"}),
    ],
    ids=["by-name", "by-arn"],
)
def test_an_execution_of_a_state_machine_off_the_list_is_not_stopped(
    allowed: frozenset[str],
) -> None:
    sfn = RecordingSfn()
    handler = stopping_handler(sfn, stop_state_machines=allowed)
    with pytest.raises(StopNotAllowedError, match="payroll:run-9"):
        handler({"sfn_execution_arn": PAYROLL_EXECUTION, "error": "E"}, None)
    assert sfn.stops == []
    handler({"sfn_execution_arn": EXECUTION_ARN, "error": "E"}, None)  # orders: allowed
    assert [s["executionArn"] for s in sfn.stops] == [EXECUTION_ARN]


def test_the_list_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFN_OFFLOAD_STOP_STATE_MACHINES", "orders, billing")
    assert OffloadConfig.from_env().stop_state_machines == frozenset({"orders", "billing"})


# --------------------------------------------------------------------------------------------
# through real ASL
# --------------------------------------------------------------------------------------------

WAITING = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}
#: A task whose execution ARN comes from state data ($.target): what an attacker's input sets.
FROM_DATA = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Task",
            "Resource": "${check}",
            "Parameters": {"sfn_execution_arn.$": "$.target"},
            "End": True,
        }
    },
}
#: The documented form: the ARN comes from the context object, never from data.
FROM_CONTEXT = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Task",
            "Resource": "${check}",
            "Parameters": {"sfn_execution_arn.$": "$$.Execution.Id"},
            "End": True,
        }
    },
}


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStepFunctions]:
    with LocalStepFunctions() as kit:
        monkeypatch.setenv("SFN_OFFLOAD_STOP_STATE_MACHINES", "orders")

        @state_offload
        def check(event: Any, context: Any) -> Any:
            raise StopExecution(error="FeatureDisabled", cause="flag off")

        kit.register("check", check)
        yield kit


def _start_waiting(local: LocalStepFunctions, name: str) -> str:
    sfn = local.client("stepfunctions")
    role = local.client("iam").create_role(
        RoleName=f"role-{name}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    machine = sfn.create_state_machine(name=name, definition=json.dumps(WAITING), roleArn=role)
    arn: str = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-9")[
        "executionArn"
    ]
    return arn


def test_an_input_naming_another_state_machines_execution_cannot_abort_it(
    local: LocalStepFunctions,
) -> None:
    """GIVEN a payroll execution running, and an orders state machine whose task takes the
    execution ARN from its input (the function may stop 'orders' only)
    WHEN the input names the payroll execution and the task raises StopExecution
    THEN the orders task fails with StopNotAllowedError (a Catch can route it) and payroll
    keeps running."""
    payroll = _start_waiting(local, "payroll")
    run = local.run(FROM_DATA, {"target": payroll}, name="orders")

    assert run.status == "FAILED"
    assert run.error == "StopNotAllowedError"
    described = local.client("stepfunctions").describe_execution(executionArn=payroll)
    assert described["status"] == "RUNNING"


def test_the_documented_form_stops_its_own_execution(local: LocalStepFunctions) -> None:
    run = local.run(FROM_CONTEXT, {}, name="orders")
    assert run.status == "ABORTED"
    assert (run.error, run.cause) == ("FeatureDisabled", "flag off")
