"""Which execution a task runs in, and the ``TaskContext`` a decorated handler receives."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import boto3
import pytest

from conftest import AwsResources
from fakes import ACCOUNT, EXECUTION_ARN, TABLE, FakeLambdaContext, memory_repo
from sfn_offload import StateDataClient, StopExecution, TaskContext, state_offload
from sfn_offload._context import StopResult
from sfn_offload._identity import ExecutionIdentity, resolve_identity
from sfn_offload.errors import StopExecutionError


def _namespace(name: str, arn: str) -> str:
    return f"{name}.{hashlib.sha256(arn.encode()).hexdigest()[:8]}"


# --------------------------------------------------------------------------------------------
# resolve_identity
# --------------------------------------------------------------------------------------------


def test_the_execution_arn_key_gives_the_identity() -> None:
    """GIVEN event["sfn_execution_arn"] (from $$.Execution.Id)
    THEN the identity has that ARN, the execution name, and a namespace of name plus 8 hex
    characters of the ARN's SHA-256."""
    ident = resolve_identity({"sfn_execution_arn": EXECUTION_ARN}, FakeLambdaContext())

    assert ident == ExecutionIdentity(
        EXECUTION_ARN,
        "run-42",
        _namespace("run-42", EXECUTION_ARN),
        express=False,
        source="event.sfn_execution_arn",
    )


def test_meta_sfn_execution_arn_gives_the_identity() -> None:
    """GIVEN the ARN under event["meta"]["sfn_execution_arn"]
    THEN it is used."""
    ident = resolve_identity({"meta": {"sfn_execution_arn": EXECUTION_ARN}}, None)

    assert (ident.execution_arn, ident.execution_name, ident.source) == (
        EXECUTION_ARN,
        "run-42",
        "event.meta.sfn_execution_arn",
    )


def test_the_top_level_key_wins_over_meta() -> None:
    """GIVEN both the top-level key and meta name different executions
    THEN the top-level key wins."""
    other = EXECUTION_ARN.replace("run-42", "run-99")
    event = {"sfn_execution_arn": EXECUTION_ARN, "meta": {"sfn_execution_arn": other}}

    assert resolve_identity(event, None).execution_name == "run-42"


def test_a_custom_execution_arn_key_is_read() -> None:
    """GIVEN execution_arn_key="execution_id"
    THEN the ARN is read from that key."""
    ident = resolve_identity(
        {"execution_id": EXECUTION_ARN}, None, execution_arn_key="execution_id"
    )

    assert ident.execution_arn == EXECUTION_ARN


@pytest.mark.parametrize(
    ("function_arn", "expected"),
    [
        (
            f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders-task",
            f"arn:aws:states:eu-west-1:{ACCOUNT}:execution:orders:run-42",
        ),
        (
            f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:orders-task:live",
            f"arn:aws-cn:states:cn-north-1:{ACCOUNT}:execution:orders:run-42",
        ),
        (
            f"arn:aws-us-gov:lambda:us-gov-west-1:{ACCOUNT}:function:orders-task",
            f"arn:aws-us-gov:states:us-gov-west-1:{ACCOUNT}:execution:orders:run-42",
        ),
    ],
    ids=["aws", "aws-cn", "aws-us-gov"],
)
def test_py2sfn_meta_with_the_function_arn_builds_the_execution_arn_in_its_partition(
    function_arn: str, expected: str
) -> None:
    """GIVEN py2sfn's meta.sfn_execution_name and meta.sfn_state_machine_name, and a Lambda
    context whose invoked_function_arn is in the aws, aws-cn or aws-us-gov partition
    WHEN a decorated handler runs
    THEN context.execution_arn is the execution ARN in that partition, region and account,
    and context.state_data_client's namespace is the execution's (unique across state
    machines), reading py2sfn's (the execution name) as a fallback."""
    event = {"meta": {"sfn_execution_name": "run-42", "sfn_state_machine_name": "orders"}}
    seen: list[Any] = []

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> None:
        seen.append((context.execution_arn, context.state_data_client.namespace))

    handler(event, FakeLambdaContext(invoked_function_arn=function_arn))

    assert seen == [(expected, _namespace("run-42", expected))]
    ident = resolve_identity(event, FakeLambdaContext(invoked_function_arn=function_arn))
    assert (ident.namespace, ident.source) == (
        _namespace("run-42", expected),
        "event.meta (py2sfn)",
    )


def test_py2sfn_meta_without_a_function_arn_gives_the_name_but_no_arn() -> None:
    """GIVEN py2sfn meta but a context without a usable invoked_function_arn
    THEN the execution name (for py2sfn keys) is known, the ARN is not, and StopExecution
    fails the task with the error's name."""
    event = {"meta": {"sfn_execution_name": "run-42", "sfn_state_machine_name": "orders"}}
    ident = resolve_identity(event, FakeLambdaContext(invoked_function_arn="not-an-arn"))

    assert (ident.execution_arn, ident.execution_name) == (None, "run-42")
    assert ident.namespace == _namespace("run-42", "orders:run-42")

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution(error="NeedsArn")

    with pytest.raises(StopExecutionError) as caught:
        handler(event, FakeLambdaContext(invoked_function_arn="not-an-arn"))
    assert type(caught.value).__name__ == "NeedsArn"


def test_an_express_arn_is_marked_express() -> None:
    """GIVEN an Express execution ARN (with its trailing id)
    THEN the identity is express, with the execution's name."""
    arn = f"arn:aws:states:us-east-1:{ACCOUNT}:express:orders:run-7:8f1d-11ee"
    ident = resolve_identity({"meta": {"sfn_execution_arn": arn}}, None)

    assert (ident.express, ident.execution_name) == (True, "run-7")


@pytest.mark.parametrize(
    "value", ["", "run-42", "arn:aws:lambda:us-east-1:123456789012:function:f", 42, None]
)
def test_values_that_are_not_execution_arns_are_ignored(value: object) -> None:
    """GIVEN an sfn_execution_arn value that is not a Step Functions execution ARN
    THEN it is ignored (no identity from it)."""
    ident = resolve_identity({"sfn_execution_arn": value}, FakeLambdaContext("fn"))

    assert (ident.execution_arn, ident.namespace) == (None, "lambda-fn")


def test_without_identity_offload_still_works_under_the_function_namespace() -> None:
    """GIVEN an event without any execution identity
    WHEN the handler's result must be offloaded
    THEN the pointer key starts with "lambda-<function name>:", and it loads back."""
    repo = memory_repo()

    @state_offload(repository=repo, max_inline_bytes=2_000)
    def handler(event: Any, context: Any) -> Any:
        return {"report": "r" * 5_000, "arn": context.execution_arn}

    out = handler({"plain": True}, FakeLambdaContext("billing-task"))

    assert out["arn"] is None
    assert out["report"]["key"].startswith("lambda-billing-task:report:")


def test_without_identity_or_function_name_the_anonymous_namespace_is_used() -> None:
    """GIVEN neither identity nor a Lambda context
    THEN the namespace is the anonymous one."""
    assert resolve_identity({}, None).namespace == "sfn-offload-anonymous"
    assert resolve_identity([1, 2], object()).namespace == "sfn-offload-anonymous"


def test_offloaded_keys_use_the_execution_namespace_so_same_names_never_collide() -> None:
    """GIVEN two state machines that both run an execution named "run-42"
    WHEN each returns the same large result
    THEN the keys differ (the namespace includes a hash of the full ARN)."""
    repo = memory_repo()
    other = EXECUTION_ARN.replace(":orders:", ":invoices:")

    @state_offload(repository=repo, max_inline_bytes=2_000)
    def handler(event: Any, context: Any) -> Any:
        return {"report": "r" * 5_000}

    first = handler({"sfn_execution_arn": EXECUTION_ARN}, FakeLambdaContext())
    second = handler({"sfn_execution_arn": other}, FakeLambdaContext())

    assert first["report"]["key"].startswith(_namespace("run-42", EXECUTION_ARN) + ":")
    assert second["report"]["key"].startswith(_namespace("run-42", other) + ":")
    assert first["report"]["key"] != second["report"]["key"]


def test_py2sfn_meta_identity_stops_the_right_execution_on_moto(
    moto_resources: AwsResources,
) -> None:
    """GIVEN a running execution "run-42" of state machine "orders" and a py2sfn-style event
    (meta name + machine name only)
    WHEN the handler raises StopExecution
    THEN the ARN built from the function ARN is the real one: that execution is ABORTED."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(
        name="orders",
        definition=json.dumps(
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
        ),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/orders",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="run-42")["executionArn"]
    event = {"meta": {"sfn_execution_name": "run-42", "sfn_state_machine_name": "orders"}}

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        raise StopExecution()

    assert handler(event, FakeLambdaContext()) == {
        "stopped": True,
        "execution_arn": arn,
        "status": "ABORTED",
    }
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"


# --------------------------------------------------------------------------------------------
# TaskContext
# --------------------------------------------------------------------------------------------

LAMBDA_ATTRIBUTES = (
    "function_name",
    "function_version",
    "invoked_function_arn",
    "memory_limit_in_mb",
    "aws_request_id",
    "log_group_name",
    "log_stream_name",
    "identity",
    "client_context",
    "tenant_id",
)


def test_every_lambda_context_attribute_and_method_passes_through_unchanged() -> None:
    """GIVEN a Lambda context
    WHEN a decorated handler reads its context
    THEN every attribute is the original's (the same objects), get_remaining_time_in_millis()
    returns the original's current value, and lambda_context is the original."""
    lambda_context = FakeLambdaContext(remaining_ms=1_234)
    lambda_context.identity = object()  # type: ignore[assignment]
    lambda_context.client_context = object()  # type: ignore[assignment]
    seen: dict[str, Any] = {}

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> None:
        seen.update({name: getattr(context, name) for name in LAMBDA_ATTRIBUTES})
        seen["remaining"] = context.get_remaining_time_in_millis()
        lambda_context._remaining_ms = 999
        seen["remaining later"] = context.get_remaining_time_in_millis()
        seen["original"] = context.lambda_context
        seen["type"] = type(context)

    handler({}, lambda_context)

    for name in LAMBDA_ATTRIBUTES:
        assert seen[name] is getattr(lambda_context, name), name
    assert (seen["remaining"], seen["remaining later"]) == (1_234, 999)
    assert seen["original"] is lambda_context
    assert seen["type"] is TaskContext


def test_unknown_and_private_attributes_raise_attribute_error() -> None:
    """GIVEN a TaskContext
    THEN an attribute the Lambda context lacks, and a private name, raise AttributeError
    (hasattr works, copy/pickle probes do not recurse)."""
    ctx = TaskContext(
        FakeLambdaContext(),
        execution_arn=None,
        client_factory=lambda: None,
        stopper=lambda error, cause: {},
    )

    assert not hasattr(ctx, "no_such_attribute")
    assert not hasattr(ctx, "_private")
    assert "execution_arn=None" in repr(ctx)


def test_state_data_client_is_created_once_on_first_use_with_the_execution_name() -> None:
    """GIVEN a decorated handler in execution run-42
    WHEN it uses context.state_data_client twice
    THEN it is the same StateDataClient, namespaced by the execution's namespace (the name and
    a hash of the ARN: same-named executions of two state machines never share keys) and using
    the decorator's table."""
    repo = memory_repo()
    seen: list[Any] = []

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        client = context.state_data_client
        seen.append(client is context.state_data_client)
        seen.append(isinstance(client, StateDataClient))
        return client.put_item("characters", {"name": "jerry"})["partition_key"]

    key = handler({"sfn_execution_arn": EXECUTION_ARN}, FakeLambdaContext())

    assert seen == [True, True]
    assert key == "run-42.6eec097a:characters"
    assert StateDataClient(TABLE, "run-42.6eec097a", repository=repo).get_item("characters") == {
        "name": "jerry"
    }


def test_state_data_client_is_not_built_unless_used() -> None:
    """GIVEN a TaskContext whose client factory counts calls
    THEN nothing is built until state_data_client is read, and then only once."""
    built: list[int] = []

    def factory() -> StateDataClient:
        built.append(1)
        return StateDataClient(TABLE, "run-1", repository=memory_repo())

    ctx = TaskContext(
        FakeLambdaContext(), execution_arn=None, client_factory=factory, stopper=lambda e, c: {}
    )

    assert built == []
    assert ctx.state_data_client is ctx.state_data_client
    assert built == [1]


def test_stop_execution_passes_error_and_cause_and_returns_an_awaitable_dict() -> None:
    """GIVEN a TaskContext with a recording stopper
    WHEN stop_execution is called with and without arguments
    THEN the stopper gets (error, cause), and the result is a dict that can also be awaited."""
    calls: list[tuple[Any, Any]] = []

    def stopper(error: str | None, cause: str | None) -> dict[str, Any]:
        calls.append((error, cause))
        return {"stopped": True}

    ctx = TaskContext(
        FakeLambdaContext(),
        execution_arn=EXECUTION_ARN,
        client_factory=lambda: None,
        stopper=stopper,
    )

    plain = ctx.stop_execution()
    awaited = asyncio.run(_await(ctx.stop_execution(error="E", cause="C")))

    assert calls == [(None, None), ("E", "C")]
    assert plain == {"stopped": True}
    assert isinstance(plain, StopResult)
    assert awaited == {"stopped": True}
    assert ctx.execution_arn == EXECUTION_ARN


async def _await(result: StopResult) -> Any:
    return await result


def test_execution_arn_is_the_current_executions_arn_or_none() -> None:
    """GIVEN events with and without an execution ARN
    THEN context.execution_arn is that ARN, or None."""
    seen: list[Any] = []

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> None:
        seen.append(context.execution_arn)

    handler({"sfn_execution_arn": EXECUTION_ARN}, FakeLambdaContext())
    handler({}, FakeLambdaContext())

    assert seen == [EXECUTION_ARN, None]
