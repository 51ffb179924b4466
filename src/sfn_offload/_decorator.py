"""``@state_offload``: hydrate before the handler, offload after it, StopExecution on raise.

A thin wrapper over the plain functions :func:`~sfn_offload.hydrate` and
:func:`~sfn_offload.offload`. It is written by hand rather than with Powertools'
``lambda_handler_decorator`` because that factory supports neither ``async def`` handlers nor
partials and callable objects, and returns an untyped ``Callable``; this one keeps the handler's
signature (``ParamSpec``) and metadata.

**async def handlers.** The Lambda Python runtime calls the handler and serializes what it
returns; it never awaits. So decorating an ``async def`` handler gives a plain function that runs
the coroutine to completion (on a per-thread event loop kept across warm invocations, see
:mod:`sfn_offload._loop`) and returns the offloaded result; ``handler.aio(event, context)`` is the
awaitable form for async callers.

Order with Powertools (outermost first)::

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @idempotent(...)               # keys on the event as sent, caches the offloaded result
    @state_offload                 # hydrates before, offloads after everything below
    @event_parser(model=Order)     # parses the hydrated event
    def handler(event, context): ...

``idempotent`` goes above: below, it would cache the whole un-offloaded result in one DynamoDB
item (over 400 KB fails) and a replay would lose :func:`fan_out` marks; above, it caches the
small offloaded result, so a replay returns the very pointers the first invocation returned.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    ParamSpec,
    Protocol,
    TypedDict,
    TypeVar,
    overload,
)

from ._aws import AwsClients
from ._config import OffloadConfig
from ._context import TaskContext
from ._hydrate import ResultWriterMode
from ._keywords import reject_unknown
from ._loop import check_no_running_loop, run_coroutine
from ._retry import retry_deadline
from ._runtime import Options, Runtime
from ._stop import StopExecution
from .errors import ConfigurationError
from .storage.repository import PayloadRepository

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from typing_extensions import Unpack

__all__ = ["AsyncTaskHandler", "state_offload"]

logger = logging.getLogger("sfn_offload")

P = ParamSpec("P")
E = TypeVar("E")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
#: What a decorated handler may return besides the handler's own result: the result with parts
#: replaced by pointers, or a stop summary.
JsonObject = dict[str, Any]


def _is_async(handler: Callable[..., Any]) -> bool:
    """True for ``async def`` functions, and for partials/callable objects that call one."""
    target: Any = handler
    while isinstance(target, functools.partial):
        # inspect unwraps partials of functions, but not a partial of an object with an
        # async __call__: look through the partial to the object itself.
        target = target.func
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )


def _wrap(handler: Callable[..., Any], runtime: Runtime) -> Callable[..., Any]:
    if not _is_async(handler):

        def sync_wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            # Retries of this invocation's requests stop before the Lambda's time runs out.
            with retry_deadline(context):
                prepared = runtime.before(event, context)
                try:
                    result = handler(prepared.event, prepared.context, *args, **kwargs)
                except StopExecution as exc:
                    return runtime.on_stop(prepared, exc)
                return runtime.after(prepared, result)

        functools.update_wrapper(sync_wrapper, handler)
        return sync_wrapper

    name = getattr(handler, "__name__", None) or type(handler).__name__

    # What the Lambda runtime calls: it never awaits, it serializes what it gets back. The
    # library's steps run on this thread, the handler's coroutine on the thread's kept loop.
    def async_sync_wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        check_no_running_loop(name)  # before any I/O: a refused call does no work
        with retry_deadline(context):
            prepared = runtime.before(event, context)
            try:
                result = run_coroutine(
                    lambda: handler(prepared.event, prepared.context, *args, **kwargs), name=name
                )
            except StopExecution as exc:
                return runtime.on_stop(prepared, exc)
            return runtime.after(prepared, result)

    # The awaitable form, for async callers: the handler runs on the caller's loop, and the
    # library's blocking steps (hydrate, offload, StopExecution) in worker threads, so other
    # tasks on that loop keep running meanwhile.
    async def aio(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        with retry_deadline(context):
            prepared = await asyncio.to_thread(runtime.before, event, context)
            try:
                result = await handler(prepared.event, prepared.context, *args, **kwargs)
            except StopExecution as exc:
                return await asyncio.to_thread(runtime.on_stop, prepared, exc)
            return await asyncio.to_thread(runtime.after, prepared, result)

    functools.update_wrapper(async_sync_wrapper, handler)
    functools.update_wrapper(aio, handler)
    async_sync_wrapper.aio = aio  # type: ignore[attr-defined]
    return async_sync_wrapper


class AsyncTaskHandler(Protocol[P, R_co]):
    """A decorated ``async def`` handler: call it (the Lambda runtime does) or await ``.aio``.

    Calling it runs the handler to completion and returns its (offloaded) result, which is what
    the Lambda Python runtime needs: it calls handlers and serializes what they return, and
    never awaits. ``aio(event, context)`` is the same invocation as a coroutine, for async
    callers (the library's blocking I/O then runs in worker threads).
    """

    def __call__(
        self, event: Any, context: Any, /, *args: P.args, **kwargs: P.kwargs
    ) -> R_co | JsonObject: ...

    def aio(
        self, event: Any, context: Any, /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, R_co | JsonObject]: ...


class StateOffloadOptions(TypedDict, total=False):
    """The keyword options of :func:`state_offload` (described in its docstring).

    Each is optional; every one but the objects (``config``, ``metrics``, ``repository``,
    ``boto3_session``, ``boto_config``) can also come from its ``SFN_OFFLOAD_*`` variable.
    """

    config: OffloadConfig | None
    table: str | None
    bucket: str | None
    max_inline_bytes: int | None
    ignore_input: bool | None
    margin_bytes: int | None
    reserve_bytes: int | None
    keep_inline: Sequence[str] | None
    fan_out: Sequence[str] | None
    max_hydrate_bytes: int | None
    execution_arn_key: str | None
    hydrate: bool | None
    offload: bool | None
    result_writer: ResultWriterMode | None
    disabled: bool | None
    metrics: Any
    repository: PayloadRepository | None
    boto3_session: boto3.session.Session | None
    boto_config: Config | None


class _Decorator(Protocol):
    """What ``state_offload(...)`` with options returns: a decorator for sync or async handlers."""

    @overload
    def __call__(
        self, handler: Callable[Concatenate[E, TaskContext, P], Coroutine[Any, Any, R]], /
    ) -> AsyncTaskHandler[P, R]: ...

    @overload
    def __call__(
        self, handler: Callable[Concatenate[E, TaskContext, P], R], /
    ) -> Callable[Concatenate[Any, Any, P], R | JsonObject]: ...


@overload
def state_offload(
    handler: Callable[Concatenate[E, TaskContext, P], Coroutine[Any, Any, R]], /
) -> AsyncTaskHandler[P, R]: ...


@overload
def state_offload(
    handler: Callable[Concatenate[E, TaskContext, P], R], /
) -> Callable[Concatenate[Any, Any, P], R | JsonObject]: ...


@overload
def state_offload(**options: Unpack[StateOffloadOptions]) -> _Decorator: ...


# Over 60 lines only by its docstring, the reference of every option; the code is ~35 lines.
def state_offload(
    handler: Callable[..., Any] | None = None, /, **options: Unpack[StateOffloadOptions]
) -> Any:
    """Make a Lambda handler Step Functions-payload-proof.

    Use bare (``@state_offload``) or with options (``@state_offload(keep_inline=["status"])``).
    The result is a plain function for sync and ``async def`` handlers alike (the Lambda runtime
    calls it and never awaits); a decorated ``async def`` handler also has ``.aio(event,
    context)``, the same invocation as a coroutine, for callers already in an event loop.

    >>> from sfn_offload.storage import MemoryStore, PayloadRepository
    >>> repo = PayloadRepository(OffloadConfig(table="state"), dynamodb=MemoryStore())
    >>> @state_offload(repository=repo, max_inline_bytes=2_000)
    ... async def report(event, context):
    ...     return {"status": "ok", "rows": list(range(1_000))}
    >>> out = report({}, None)                      # what the Lambda runtime does
    >>> out["status"], out["rows"]["backend"]
    ('ok', 'dynamodb')
    >>> import asyncio
    >>> asyncio.run(report.aio({}, None)) == out    # from async code
    True

    Every option but the objects (``config``, ``metrics``, ``repository``, ``boto3_session``,
    ``boto_config``) can also be set by an ``SFN_OFFLOAD_*`` environment variable
    (``SFN_OFFLOAD_MARGIN_BYTES=16384``, ``SFN_OFFLOAD_KEEP_INLINE=status,summary.count``...):
    an argument wins over its variable, a variable over the default, and variables are read at
    the first invocation, never at import or decoration. ``SFN_OFFLOAD_DISABLED=true`` (or
    ``disabled=True``) is the off switch: the handler gets the event as it came and its result
    is returned as it is; ``raise StopExecution`` still stops the execution.

    >>> import os
    >>> os.environ["SFN_OFFLOAD_DISABLED"] = "true"
    >>> @state_offload(repository=repo, max_inline_bytes=2_000)
    ... def passthrough(event, context):
    ...     return {"status": "ok", "rows": list(range(1_000))}
    >>> passthrough({}, None)["rows"][:3]           # read at this first call: not offloaded
    [0, 1, 2]
    >>> del os.environ["SFN_OFFLOAD_DISABLED"]

    Args:
        config: an :class:`OffloadConfig` (default: from the environment, at first invocation).
        table, bucket: shortcuts overriding the config's table/bucket.
        max_inline_bytes: fixed inline budget for the result (default: computed per invocation,
            see :func:`inline_budget`).
        ignore_input: size the budget without the incoming event (ResultPath replaces it).
        margin_bytes: headroom kept below the limit (default 8,192).
        reserve_bytes: bytes of the state this task cannot see (the part of the input its
            ``Parameters`` left out, which ``ResultPath`` merges the result into); the event's
            ``sfn_offload_reserve`` adds to it (see :mod:`sfn_offload.budget`).
        keep_inline: paths (``"status"``, ``"summary.count"``) never offloaded, for Choice states.
        fan_out: paths of lists to store element by element for a Map state (or return the list
            through :func:`fan_out`).
        max_hydrate_bytes: cap on the JSON bytes loaded into one event.
        execution_arn_key: top-level event key holding ``$$.Execution.Id``.
        hydrate, offload: switch either half off.
        disabled: switch both off (the handler still gets a :class:`TaskContext`, and
            ``StopExecution`` still works).
        result_writer: how a Distributed Map's ResultWriter output in the event is hydrated:
            ``"strict"`` (the list of outputs; FAILED/PENDING children raise
            :class:`MapRunFailedError`), ``"tolerant"`` (succeeded, failed and pending
            records), or ``"off"``.
        metrics: a Powertools ``Metrics`` to receive counts and bytes.
        repository, boto3_session, boto_config: injection for tests and custom clients.
    """
    reject_unknown(options, StateOffloadOptions, "state_offload")
    given: dict[str, Any] = dict(options)
    config, metrics, repository = (given.pop(k, None) for k in ("config", "metrics", "repository"))
    session, boto_config = given.pop("boto3_session", None), given.pop("boto_config", None)
    overrides = {k: given.pop(k) for k in ("table", "bucket") if given.get(k) is not None}
    # None is "not given": the SFN_OFFLOAD_* variable, else the default, applies (read at the
    # first invocation). Arguments are checked now, so a bad one fails at import.
    arguments = {name: value for name, value in given.items() if value is not None}
    Options.resolve(arguments, {})
    clients = None
    if session is not None or boto_config is not None:
        clients = AwsClients(boto3_session=session, boto_config=boto_config)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise ConfigurationError(f"@state_offload needs a callable handler, got {fn!r}")
        runtime = Runtime(
            arguments,
            name=getattr(fn, "__qualname__", None) or type(fn).__name__,
            config=config,
            overrides=overrides,
            repository=repository,
            clients=clients,
            metrics=metrics,
        )
        return _wrap(fn, runtime)

    if handler is not None:
        return decorate(handler)
    return decorate
