"""Decorated handlers, sync and ``async def``, under the real Lambda Python runtime's dispatch.

Each invocation goes through ``awslambdaric`` (see ``lambda_runtime.py``): the runtime calls the
decorated object, never awaits, serializes its return value with its own marshaller, and
reports exceptions as ``errorType`` (the bare class name Step Functions matches) and
``errorMessage``.
"""

from __future__ import annotations

import asyncio
import decimal
import json
from collections.abc import Callable, Coroutine
from typing import Any

import boto3
import pytest

from conftest import AwsResources
from fakes import memory_repo
from lambda_runtime import ACCOUNT, invoke
from sfn_offload import StopExecution, fan_out, hydrate, state_offload
from sfn_offload.storage import PayloadRepository
from sfn_offload.wire import is_pointer

KINDS = ["sync", "async"]


class OrderRejected(Exception):
    """A user error class: Step Functions matches it by its bare name."""


def decorated(kind: str, body: Callable[[Any, Any], Any], **options: Any) -> Callable[..., Any]:
    """``body`` as a sync or an ``async def`` handler, decorated with ``options``."""
    if kind == "sync":

        def sync_handler(event: Any, context: Any) -> Any:
            return body(event, context)

        return state_offload(**options)(sync_handler)

    async def async_handler(event: Any, context: Any) -> Any:
        await asyncio.sleep(0)  # a real suspension point
        return body(event, context)

    return state_offload(**options)(async_handler)


@pytest.mark.parametrize("kind", KINDS)
def test_a_small_result_is_posted_as_the_handlers_json(kind: str) -> None:
    handler = decorated(
        kind, lambda e, c: {"status": "ok", "echo": e["n"]}, repository=memory_repo()
    )

    response = invoke(handler, {"n": 7})

    assert response.ok
    assert response.payload == {"status": "ok", "echo": 7}


@pytest.mark.parametrize("kind", KINDS)
def test_a_big_result_is_posted_as_a_pointer_that_loads_back(kind: str) -> None:
    repo = memory_repo()
    rows = [{"id": i, "text": "x" * 100} for i in range(3_000)]
    handler = decorated(kind, lambda e, c: {"status": "ok", "rows": rows}, repository=repo)

    response = invoke(handler, {})

    assert response.ok
    assert response.payload["status"] == "ok"
    assert is_pointer(response.payload["rows"])
    assert len(response.body) < 2_000
    assert hydrate(response.payload, repo)["rows"] == rows


@pytest.mark.parametrize("kind", KINDS)
def test_a_fanned_out_list_is_posted_as_a_map_iterable_pointer(kind: str) -> None:
    handler = decorated(
        kind,
        lambda e, c: {"shards": fan_out([{"n": i} for i in range(5)])},
        repository=memory_repo(),
    )

    response = invoke(handler, {})

    assert response.ok
    assert response.payload["shards"]["count"] == 5
    assert response.payload["shards"]["items"] == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("kind", KINDS)
def test_stop_execution_aborts_the_execution_and_posts_the_summary(
    kind: str, moto_resources: AwsResources
) -> None:
    sfn = boto3.client("stepfunctions", region_name=moto_resources.region)
    machine = sfn.create_state_machine(
        name="orders",
        definition=json.dumps(
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86_400, "End": True}}}
        ),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/orders",
    )
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=f"run-{kind}")[
        "executionArn"
    ]

    def stop(event: Any, context: Any) -> Any:
        raise StopExecution(error="FeatureDisabled", cause="flag off")

    response = invoke(decorated(kind, stop, repository=memory_repo()), {"sfn_execution_arn": arn})

    assert response.ok
    assert response.payload == {"stopped": True, "execution_arn": arn, "status": "ABORTED"}
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"


@pytest.mark.parametrize("kind", KINDS)
def test_a_handler_exception_is_reported_by_its_bare_class_name(kind: str) -> None:
    def reject(event: Any, context: Any) -> Any:
        raise OrderRejected("order 7 has no lines")

    response = invoke(decorated(kind, reject, repository=memory_repo()), {})

    assert not response.ok
    error = response.payload
    assert error["errorType"] == "OrderRejected"
    assert error["errorMessage"] == "order 7 has no lines"
    assert "raise OrderRejected" in error["stackTrace"][-1]


@pytest.mark.parametrize("kind", KINDS)
def test_a_library_error_is_reported_by_its_class_name_with_the_path(kind: str) -> None:
    handler = decorated(kind, lambda e, c: {"tags": {"a", "b"}}, repository=memory_repo())

    error = invoke(handler, {}).payload

    assert error["errorType"] == "PayloadEncodingError"
    assert "$.tags is of type set" in error["errorMessage"]


def test_an_undecorated_async_handler_fails_to_marshal_and_the_decorated_one_does_not() -> None:
    """The failure this library removes: the runtime cannot serialize a coroutine."""
    coroutines: list[Coroutine[Any, Any, Any]] = []

    async def report(event: Any, context: Any) -> dict[str, str]:
        return {"status": "ok"}

    def bare(event: Any, context: Any) -> Any:
        coroutines.append(report(event, context))  # kept, to close it (never awaited)
        return coroutines[-1]

    failed = invoke(bare, {})
    for coroutine in coroutines:
        coroutine.close()
    ok = invoke(state_offload(repository=memory_repo())(report), {})

    assert failed.payload["errorType"] == "Runtime.MarshalError"
    assert failed.payload["errorMessage"] == (
        "Unable to marshal response: Object of type coroutine is not JSON serializable"
    )
    assert ok.payload == {"status": "ok"}


@pytest.mark.parametrize("kind", KINDS)
def test_decimals_from_dynamodb_are_posted_as_json_numbers(kind: str) -> None:
    """GIVEN a handler returning what boto3's DynamoDB resource API reads: Decimals
    THEN the decorated handler posts them as numbers, as a plain handler would."""
    item = {"sku": "A-1", "price": decimal.Decimal("1.10"), "qty": decimal.Decimal("3")}

    response = invoke(decorated(kind, lambda e, c: item, repository=memory_repo()), {})

    assert response.ok
    assert b'"price": 1.10' in response.body
    assert response.payload == {"sku": "A-1", "price": 1.1, "qty": 3}


def test_offloaded_decimals_are_stored_as_the_runtime_writes_them_and_measured_so() -> None:
    """GIVEN a big result full of Decimals
    THEN the stored payload is, byte for byte, the compact form of what the runtime would post
    for it, and it loads back as plain JSON numbers."""
    rows = [{"id": decimal.Decimal(i), "price": decimal.Decimal("19.90")} for i in range(2_000)]
    repo: PayloadRepository = memory_repo()
    handler = decorated(
        "sync", lambda e, c: {"rows": rows}, repository=repo, max_inline_bytes=5_000
    )
    response = invoke(handler, {})
    plain = invoke(lambda e, c: rows, {})  # an undecorated handler posting the same rows

    pointer = response.payload["rows"]
    compact = plain.body.replace(b", ", b",").replace(b": ", b":")  # no string holds a space
    assert b"19.90" in compact
    assert pointer["size"] == len(compact)
    assert hydrate(response.payload, repo)["rows"][1] == {"id": 1, "price": 19.9}
