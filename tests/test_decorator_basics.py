"""``@state_offload`` as a decorator: forms, handler kinds, metadata, switches and validation."""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any

import boto3
import pytest
from botocore.config import Config

from conftest import AwsResources
from fakes import TABLE, FakeLambdaContext, memory_repo, requests
from sfn_offload import ConfigurationError, OffloadConfig, TaskContext, state_offload
from sfn_offload.storage import PayloadRepository
from sfn_offload.wire import is_pointer

BIG = "x" * 20_000  # over the 10,000-byte budget the tests below set


def _pointer(repo: PayloadRepository, key: str, value: Any) -> dict[str, Any]:
    return repo.write_value(key, 0, repo.encode(value)).to_dict()


# --------------------------------------------------------------------------------------------
# bare and with options
# --------------------------------------------------------------------------------------------


def test_bare_decorator_with_a_small_result_needs_no_configuration_and_does_no_io() -> None:
    """GIVEN a bare @state_offload and no table/bucket configured anywhere
    WHEN the handler returns a small result
    THEN the result comes back as it is (nothing needed a store)."""

    @state_offload
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"echo": event["n"], "ctx": type(context).__name__}

    assert handler({"n": 7}, FakeLambdaContext()) == {"echo": 7, "ctx": "TaskContext"}


def test_bare_decorator_reads_the_environment_at_first_invocation_not_at_decoration(
    moto_resources: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a bare @state_offload applied before SFN_OFFLOAD_TABLE/BUCKET are set
    WHEN the variables are set and the handler returns 300 KB, twice, with the table renamed
    in the environment between the calls
    THEN both results are offloaded to the table configured at the first invocation (the
    configuration is built once and reused across warm invocations)."""

    @state_offload
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"status": "ok", "report": "r" * 300_000}

    monkeypatch.setenv("SFN_OFFLOAD_TABLE", moto_resources.table)
    monkeypatch.setenv("SFN_OFFLOAD_BUCKET", moto_resources.bucket)
    first = handler({}, FakeLambdaContext())
    monkeypatch.setenv("SFN_OFFLOAD_TABLE", "some-other-table")
    second = handler({}, FakeLambdaContext())

    assert first["status"] == "ok"
    assert first["report"]["table"] == moto_resources.table
    assert second["report"] == first["report"]
    item = moto_resources.dynamodb().get_item(
        TableName=moto_resources.table,
        Key={"partition_key": {"S": first["report"]["key"]}, "sort_key": {"N": "0"}},
    )
    assert item["Item"]["size"]["N"] == str(first["report"]["size"])


def test_decorator_with_options_applies_them() -> None:
    """GIVEN @state_offload(...) with max_inline_bytes and keep_inline
    WHEN the handler returns a result over that budget
    THEN the large part is offloaded and the kept field stays inline."""
    repo = memory_repo()

    @state_offload(repository=repo, max_inline_bytes=10_000, keep_inline=["status"])
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"status": "ok", "report": BIG}

    out = handler({}, FakeLambdaContext())

    assert out["status"] == "ok"
    assert is_pointer(out["report"])
    assert out["report"]["table"] == TABLE


def test_table_and_bucket_shortcuts_override_the_given_config(
    moto_resources: AwsResources,
) -> None:
    """GIVEN a config naming another table and bucket, and the table=/bucket= shortcuts
    WHEN a result with a 20 KB and a 500 KB part is offloaded, and the output is fed back in
    THEN the pointers name the shortcut table and bucket, and the allow-list follows them (the
    output hydrates)."""
    base = OffloadConfig(table="base-table", bucket="base-bucket")

    @state_offload(
        config=base,
        table=moto_resources.table,
        bucket=moto_resources.bucket,
        max_inline_bytes=10_000,
    )
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if "report" in event:
            return {"sizes": [len(event["report"]), len(event["blob"])]}
        return {"report": BIG, "blob": "y" * 500_000}

    out = handler({}, FakeLambdaContext())

    assert out["report"]["backend"] == "dynamodb"
    assert out["report"]["table"] == moto_resources.table
    assert out["blob"]["backend"] == "s3"
    assert out["blob"]["bucket"] == moto_resources.bucket
    assert handler(out, FakeLambdaContext()) == {"sizes": [20_000, 500_000]}


def test_an_injected_boto3_session_and_config_are_used(moto_resources: AwsResources) -> None:
    """GIVEN boto3_session= (with its own region) and boto_config= instead of a repository
    WHEN a result is offloaded and read back
    THEN the work goes through clients of that session (moto sees the item)."""
    session = boto3.session.Session(region_name=moto_resources.region)

    @state_offload(
        table=moto_resources.table,
        bucket=moto_resources.bucket,
        boto3_session=session,
        boto_config=Config(connect_timeout=2),
        max_inline_bytes=10_000,
    )
    def handler(event: dict[str, Any], context: Any) -> Any:
        return len(event["report"]) if "report" in event else {"report": BIG}

    out = handler({}, FakeLambdaContext())

    assert out["report"]["table"] == moto_resources.table
    assert moto_resources.dynamodb().scan(TableName=moto_resources.table)["Count"] == 1
    assert handler(out, FakeLambdaContext()) == len(BIG)


# --------------------------------------------------------------------------------------------
# handler kinds
# --------------------------------------------------------------------------------------------


def test_sync_handler_sees_the_hydrated_event_and_its_result_is_offloaded() -> None:
    """GIVEN a sync handler and an event holding a pointer
    WHEN it is invoked
    THEN it receives the data, a TaskContext, and its large result leaves as a pointer."""
    repo = memory_repo()
    event = {"rows": _pointer(repo, "run:rows", [1, 2, 3])}
    seen: list[Any] = []

    @state_offload(repository=repo, max_inline_bytes=10_000)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append((event["rows"], context))
        return {"report": BIG}

    out = handler(event, FakeLambdaContext())

    assert seen[0][0] == [1, 2, 3]
    assert isinstance(seen[0][1], TaskContext)
    assert is_pointer(out["report"])


def test_async_handler_is_run_by_a_plain_call_with_the_hydrated_event_and_offloaded_after() -> None:
    """GIVEN an ``async def`` handler and an event holding a pointer
    WHEN the decorated handler is called, as the Lambda runtime calls it (no await)
    THEN the wrapper is a plain function, the handler saw the data, and the offloaded result
    comes back (not a coroutine)."""
    repo = memory_repo()
    event = {"rows": _pointer(repo, "run:rows", ["a", "b"])}

    @state_offload(repository=repo, max_inline_bytes=10_000)
    async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"rows": event["rows"], "report": BIG}

    assert not inspect.iscoroutinefunction(handler)
    out = handler(event, FakeLambdaContext())

    assert out["rows"] == ["a", "b"]
    assert is_pointer(out["report"])


def test_functools_partial_of_a_sync_function_is_supported() -> None:
    """GIVEN functools.partial binding a keyword of a sync handler
    WHEN it is decorated and invoked
    THEN the bound keyword reaches the handler and the event is hydrated."""
    repo = memory_repo()

    def handler(event: dict[str, Any], context: Any, *, greeting: str) -> dict[str, Any]:
        return {"msg": f"{greeting} {event['who']}"}

    decorated = state_offload(repository=repo)(functools.partial(handler, greeting="hi"))
    event = {"who": _pointer(repo, "run:who", "jerry")}

    assert decorated(event, FakeLambdaContext()) == {"msg": "hi jerry"}
    assert decorated.__wrapped__.keywords == {"greeting": "hi"}  # type: ignore[attr-defined]


def test_functools_partial_of_an_async_function_is_run() -> None:
    """GIVEN functools.partial of an ``async def`` handler
    WHEN it is decorated and called
    THEN the call runs the coroutine and returns its result; .aio awaits the same."""

    async def handler(event: dict[str, Any], context: Any, *, factor: int) -> int:
        return int(event["n"]) * factor

    decorated = state_offload(repository=memory_repo())(functools.partial(handler, factor=3))

    assert decorated({"n": 5}, FakeLambdaContext()) == 15
    assert asyncio.run(decorated.aio({"n": 5}, FakeLambdaContext())) == 15


class SyncTask:
    """A handler object with a sync __call__."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.calls += 1
        return {"seen": event["data"], "report": BIG}


class AsyncTask:
    """A handler object with an async __call__."""

    async def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"seen": event["data"], "report": BIG}


def test_callable_object_with_sync_call_is_supported() -> None:
    """GIVEN an object whose __call__ is sync
    WHEN it is decorated and invoked
    THEN it is called once with the hydrated event and its result is offloaded."""
    repo = memory_repo()
    task = SyncTask()
    decorated = state_offload(repository=repo, max_inline_bytes=10_000)(task)

    out = decorated({"data": _pointer(repo, "run:data", {"k": 1})}, FakeLambdaContext())

    assert task.calls == 1
    assert out["seen"] == {"k": 1}
    assert is_pointer(out["report"])
    assert decorated.__wrapped__ is task  # type: ignore[attr-defined]
    assert decorated.__doc__ == SyncTask.__doc__


def test_callable_object_with_async_call_is_run() -> None:
    """GIVEN an object whose __call__ is ``async def``
    WHEN it is decorated and called
    THEN the call hydrates, runs the coroutine and offloads."""
    repo = memory_repo()
    decorated = state_offload(repository=repo, max_inline_bytes=10_000)(AsyncTask())

    out = decorated({"data": _pointer(repo, "run:data", [9])}, FakeLambdaContext())

    assert out["seen"] == [9]
    assert is_pointer(out["report"])


def test_partial_of_a_callable_object_with_async_call_is_run() -> None:
    """GIVEN functools.partial wrapping an object whose __call__ is ``async def``
    WHEN it is decorated and called
    THEN the partial is looked through: the call returns the handler's result rather than an
    un-awaited coroutine."""

    class Greeter:
        async def __call__(self, event: dict[str, Any], context: Any, *, name: str) -> str:
            return f"{event['greeting']} {name}"

    decorated = state_offload(repository=memory_repo())(functools.partial(Greeter(), name="z"))

    assert decorated({"greeting": "hello"}, FakeLambdaContext()) == "hello z"


def test_extra_positional_and_keyword_arguments_are_forwarded() -> None:
    """GIVEN a handler taking more than (event, context)
    WHEN the wrapper is called with extra arguments
    THEN they reach the handler unchanged."""

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any, extra: int, *, flag: bool) -> list[Any]:
        return [event, extra, flag]

    assert handler({"a": 1}, FakeLambdaContext(), 5, flag=True) == [{"a": 1}, 5, True]


# --------------------------------------------------------------------------------------------
# metadata
# --------------------------------------------------------------------------------------------


def test_metadata_of_a_function_is_kept() -> None:
    """GIVEN a documented handler function
    WHEN it is decorated bare and with options
    THEN __name__, __qualname__, __doc__, __module__ and __wrapped__ are the handler's, and
    inspect.signature shows the handler's parameters."""

    def order_report(event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Build the order report."""
        return event

    for decorated in (state_offload(order_report), state_offload(ignore_input=True)(order_report)):
        assert decorated.__name__ == "order_report"
        assert decorated.__qualname__ == order_report.__qualname__
        assert decorated.__doc__ == "Build the order report."
        assert decorated.__module__ == __name__
        assert decorated.__wrapped__ is order_report  # type: ignore[attr-defined]
        assert list(inspect.signature(decorated).parameters) == ["event", "context"]


def test_metadata_of_an_async_function_is_kept() -> None:
    """GIVEN a documented ``async def`` handler
    WHEN it is decorated
    THEN its name, docstring and __wrapped__ are kept."""

    async def fetch(event: Any, context: Any) -> Any:
        """Fetch things."""
        return event

    decorated = state_offload(fetch)

    assert (decorated.__name__, decorated.__doc__) == ("fetch", "Fetch things.")
    assert decorated.__wrapped__ is fetch  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# switches, errors, validation
# --------------------------------------------------------------------------------------------


def test_hydrate_false_passes_pointers_through_without_any_request() -> None:
    """GIVEN hydrate=False and an event holding a pointer
    WHEN the handler runs
    THEN it sees the pointer itself and no store was asked for anything."""
    repo = memory_repo()
    pointer = _pointer(repo, "run:rows", [1])
    repo.dynamodb.requests.clear()  # type: ignore[attr-defined]

    @state_offload(repository=repo, hydrate=False)
    def handler(event: dict[str, Any], context: Any) -> bool:
        return is_pointer(event["rows"])

    assert handler({"rows": pointer}, FakeLambdaContext()) is True
    assert requests(repo) == {}


def test_offload_false_returns_an_oversize_result_untouched() -> None:
    """GIVEN offload=False
    WHEN the handler returns 400 KB
    THEN the very same object comes back and nothing was written."""
    repo = memory_repo()
    result = {"report": "x" * 400_000}

    @state_offload(repository=repo, offload=False)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return result

    assert handler({}, FakeLambdaContext()) is result
    assert requests(repo) == {}


def test_handler_exceptions_propagate_unchanged() -> None:
    """GIVEN a handler raising an ordinary exception
    WHEN it is invoked (sync and async)
    THEN the same exception reaches the caller (Step Functions sees its class name)."""

    class OrderRejected(Exception):
        pass

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> None:
        raise OrderRejected("nope")

    @state_offload(repository=memory_repo())
    async def async_handler(event: Any, context: Any) -> None:
        raise OrderRejected("async nope")

    with pytest.raises(OrderRejected, match=r"^nope$"):
        handler({}, FakeLambdaContext())
    with pytest.raises(OrderRejected, match=r"^async nope$"):
        async_handler({}, FakeLambdaContext())
    with pytest.raises(OrderRejected, match=r"^async nope$"):
        asyncio.run(async_handler.aio({}, FakeLambdaContext()))


def test_a_non_callable_is_refused() -> None:
    """GIVEN something that is not callable
    WHEN it is decorated
    THEN ConfigurationError names it."""
    with pytest.raises(ConfigurationError, match="needs a callable handler"):
        state_offload(max_inline_bytes=100)("not a function")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_inline_bytes": 0}, "max_inline_bytes must be a positive integer"),
        ({"max_inline_bytes": 1.5}, "max_inline_bytes must be a positive integer"),
        ({"max_hydrate_bytes": -1}, "max_hydrate_bytes must be a positive integer"),
        ({"max_hydrate_bytes": True}, "max_hydrate_bytes must be a positive integer"),
        ({"margin_bytes": -1}, "margin_bytes must be in"),
        ({"margin_bytes": 262_144}, "margin_bytes must be in"),
        ({"keep_inline": ["[]"]}, "cannot parse path"),
    ],
)
def test_invalid_options_are_refused_at_decoration(options: dict[str, Any], message: str) -> None:
    """GIVEN an invalid option value
    WHEN the decorator is built
    THEN ConfigurationError says which option and why (at cold start, not mid-invocation)."""
    with pytest.raises(ConfigurationError, match=message):
        state_offload(**options)
