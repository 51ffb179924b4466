"""``@state_offload``: hydrate before the handler, offload after it, StopExecution on raise.

A thin wrapper over the plain functions :func:`~sfn_offload.hydrate` and
:func:`~sfn_offload.offload`. It is written by hand rather than with Powertools'
``lambda_handler_decorator`` because that factory supports neither ``async def`` handlers nor
partials and callable objects, and returns an untyped ``Callable``; this one keeps the handler's
signature (``ParamSpec``) and metadata.

Order with Powertools (outermost first)::

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @state_offload                 # hydrates before, offloads after everything below
    @idempotent(...)               # sees the hydrated event, caches the un-offloaded result
    @event_parser(model=Order)     # parses the hydrated event
    def handler(event, context): ...
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar, overload

from ._aws import AwsClients
from ._config import OffloadConfig
from ._context import TaskContext
from ._hydrate import HydrateResult, ResultWriterMode, hydrate_event
from ._identity import ExecutionIdentity, resolve_identity
from ._offload import OffloadStats, offload_result, parse_path
from ._retry import retry_deadline
from ._stop import StopExecution, send_stop, stop_failure
from .budget import MARGIN_BYTES, STATE_LIMIT_BYTES, inline_budget
from .compat.py2sfn import StateDataClient
from .errors import ConfigurationError
from .storage.repository import PayloadRepository, ReadStats
from .wire.codec import dumps
from .wire.references import may_contain_references

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

__all__ = ["state_offload"]

logger = logging.getLogger("sfn_offload")

P = ParamSpec("P")
E = TypeVar("E")
R = TypeVar("R")
#: What a decorated handler may return besides the handler's own result: the result with parts
#: replaced by pointers, or a stop summary.
JsonObject = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class _Options:
    max_inline_bytes: int | None
    ignore_input: bool
    margin_bytes: int
    keep_inline: tuple[tuple[str | int, ...], ...]
    fan_out: tuple[tuple[str | int, ...], ...]
    max_hydrate_bytes: int | None
    execution_arn_key: str
    hydrate: bool
    offload: bool
    result_writer: ResultWriterMode


class _Runtime:
    """What one decorated handler keeps across warm invocations: config, clients, repository.

    Built on the first invocation (not at decoration, which happens at import of the user's
    module), then reused.
    """

    def __init__(
        self,
        options: _Options,
        *,
        config: OffloadConfig | None,
        overrides: dict[str, Any],
        repository: PayloadRepository | None,
        clients: AwsClients | None,
        metrics: Any,
    ) -> None:
        self.options = options
        self._config = config
        self._overrides = overrides
        self._repository = repository
        self._clients = clients
        self.metrics = metrics

    @property
    def repository(self) -> PayloadRepository:
        if self._repository is None:
            base = self._config or OffloadConfig.from_env()
            cfg = base.replace(**self._overrides) if self._overrides else base
            clients = self._clients or AwsClients(
                endpoint_urls=cfg.endpoint_urls, max_pool_connections=cfg.max_workers
            )
            self._repository = PayloadRepository(cfg, clients=clients)
        return self._repository

    # -- one invocation -----------------------------------------------------------------

    def before(self, event: Any, context: Any) -> _Prepared:
        """Hydrate the event and work out the result's budget; no I/O without references."""
        opts = self.options
        raw = dumps(event, where="incoming event") if _needs_measure(opts) else b""
        identity = resolve_identity(event, context, execution_arn_key=opts.execution_arn_key)
        # One namespace for py2sfn local keys, so hydrating a local Map-iteration event and
        # context.state_data_client.get_item_for_map_iteration(event) read the same item.
        client_namespace = identity.execution_name or identity.namespace
        hydrated = HydrateResult(event, ReadStats())
        if opts.hydrate and (not raw or may_contain_references(raw)):
            hydrated = hydrate_event(
                event,
                self.repository,
                py2sfn_namespace=client_namespace,
                max_bytes=opts.max_hydrate_bytes,
                result_writer=opts.result_writer,
            )
            self._report_hydration(hydrated.stats)
        budget = inline_budget(
            len(raw),
            max_inline_bytes=opts.max_inline_bytes,
            ignore_input=opts.ignore_input,
            margin_bytes=opts.margin_bytes,
            map_siblings=hydrated.map_iterations,
        )
        task_context = TaskContext(
            context,
            execution_arn=identity.execution_arn,
            namespace=identity.namespace,
            client_factory=lambda: StateDataClient(
                namespace=client_namespace, repository=self.repository
            ),
            stopper=lambda error, cause: self.stop(identity, error, cause),
        )
        return _Prepared(hydrated.event, task_context, identity, budget)

    def after(self, prepared: _Prepared, result: Any) -> Any:
        """Offload what does not fit the budget; small results pass with no I/O."""
        opts = self.options
        if not opts.offload:
            return result
        # The repository holds no client until a write needs one: small results do no I/O.
        done = offload_result(
            result,
            self.repository,
            namespace=prepared.identity.namespace,
            budget=prepared.budget,
            keep_inline=opts.keep_inline,
            fan_out_paths=opts.fan_out,
        )
        self._report_offload(done.stats)
        return done.result

    def _report_hydration(self, stats: ReadStats) -> None:
        if not stats.pointers:
            return
        logger.debug(
            "hydrated %d reference(s): %d DynamoDB item(s), %d S3 object(s), "
            "%d stored bytes, %d JSON bytes",
            stats.pointers,
            stats.dynamodb_items,
            stats.s3_objects,
            stats.stored_bytes,
            stats.json_bytes,
        )
        self._metric("HydratedPointers", "Count", stats.pointers)
        self._metric("HydratedBytes", "Bytes", stats.json_bytes)

    def _report_offload(self, stats: OffloadStats) -> None:
        if not (stats.offloaded or stats.fanned_out_lists):
            return
        logger.debug(
            "offloaded %d part(s) (%d JSON bytes, %d stored) and %d fan-out list(s) "
            "(%d elements); result %d -> %d inline bytes, budget %d: %s",
            stats.offloaded,
            stats.offloaded_bytes,
            stats.stored_bytes,
            stats.fanned_out_lists,
            stats.fanned_out_elements,
            stats.result_bytes,
            stats.inline_bytes,
            stats.budget,
            stats.pointers,
        )
        self._metric("OffloadedParts", "Count", stats.offloaded)
        self._metric("OffloadedBytes", "Bytes", stats.offloaded_bytes)
        self._metric("FannedOutElements", "Count", stats.fanned_out_elements)

    def stop(
        self, identity: ExecutionIdentity, error: str | None, cause: str | None
    ) -> dict[str, Any]:
        if identity.execution_arn is None:
            raise stop_failure(
                error,
                cause,
                "StopExecution needs the execution ARN, but the input carries none (pass "
                f"$$.Execution.Id as {self.options.execution_arn_key!r})",
            )
        if identity.express:
            raise stop_failure(
                error,
                cause,
                f"Express execution {identity.execution_arn} cannot be stopped by the API",
            )
        summary = send_stop(
            self.repository.clients.stepfunctions, identity.execution_arn, error, cause
        )
        if summary["stopped"]:  # not an execution that had already finished
            self._metric("StoppedExecutions", "Count", 1)
        return summary

    def on_stop(self, prepared: _Prepared, exc: StopExecution) -> dict[str, Any]:
        return self.stop(prepared.identity, exc.error, exc.cause)

    def _metric(self, name: str, unit: str, value: float) -> None:
        if self.metrics is None or not value:
            return
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=name, unit=getattr(MetricUnit, unit), value=value)


def _needs_measure(opts: _Options) -> bool:
    # The event is serialized to size the budget and to pre-check for references in C.
    return opts.hydrate or (
        opts.offload and opts.max_inline_bytes is None and not opts.ignore_input
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One invocation after hydration: what the handler receives and what offload needs."""

    event: Any
    context: TaskContext
    identity: ExecutionIdentity
    budget: int


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


def _wrap(handler: Callable[..., Any], runtime: _Runtime) -> Callable[..., Any]:
    if _is_async(handler):

        async def async_wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            # Retries of this invocation's requests stop before the Lambda's time runs out.
            with retry_deadline(context):
                prepared = runtime.before(event, context)
                try:
                    result = await handler(prepared.event, prepared.context, *args, **kwargs)
                except StopExecution as exc:
                    return runtime.on_stop(prepared, exc)
                return runtime.after(prepared, result)

        wrapper: Callable[..., Any] = async_wrapper
    else:

        def sync_wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            with retry_deadline(context):
                prepared = runtime.before(event, context)
                try:
                    result = handler(prepared.event, prepared.context, *args, **kwargs)
                except StopExecution as exc:
                    return runtime.on_stop(prepared, exc)
                return runtime.after(prepared, result)

        wrapper = sync_wrapper
    functools.update_wrapper(wrapper, handler)
    return wrapper


class _Decorator(Protocol):
    """What ``state_offload(...)`` with options returns: a decorator for sync or async handlers."""

    @overload
    def __call__(
        self, handler: Callable[Concatenate[E, TaskContext, P], Coroutine[Any, Any, R]], /
    ) -> Callable[Concatenate[Any, Any, P], Coroutine[Any, Any, R | JsonObject]]: ...

    @overload
    def __call__(
        self, handler: Callable[Concatenate[E, TaskContext, P], R], /
    ) -> Callable[Concatenate[Any, Any, P], R | JsonObject]: ...


@overload
def state_offload(
    handler: Callable[Concatenate[E, TaskContext, P], Coroutine[Any, Any, R]], /
) -> Callable[Concatenate[Any, Any, P], Coroutine[Any, Any, R | JsonObject]]: ...


@overload
def state_offload(
    handler: Callable[Concatenate[E, TaskContext, P], R], /
) -> Callable[Concatenate[Any, Any, P], R | JsonObject]: ...


@overload
def state_offload(
    *,
    config: OffloadConfig | None = None,
    table: str | None = None,
    bucket: str | None = None,
    max_inline_bytes: int | None = None,
    ignore_input: bool = False,
    margin_bytes: int = MARGIN_BYTES,
    keep_inline: Sequence[str] = (),
    fan_out: Sequence[str] = (),
    max_hydrate_bytes: int | None = None,
    execution_arn_key: str = "sfn_execution_arn",
    hydrate: bool = True,
    offload: bool = True,
    result_writer: ResultWriterMode = "strict",
    metrics: Any = None,
    repository: PayloadRepository | None = None,
    boto3_session: boto3.session.Session | None = None,
    boto_config: Config | None = None,
) -> _Decorator: ...


def state_offload(
    handler: Callable[..., Any] | None = None,
    /,
    *,
    config: OffloadConfig | None = None,
    table: str | None = None,
    bucket: str | None = None,
    max_inline_bytes: int | None = None,
    ignore_input: bool = False,
    margin_bytes: int = MARGIN_BYTES,
    keep_inline: Sequence[str] = (),
    fan_out: Sequence[str] = (),
    max_hydrate_bytes: int | None = None,
    execution_arn_key: str = "sfn_execution_arn",
    hydrate: bool = True,
    offload: bool = True,
    result_writer: ResultWriterMode = "strict",
    metrics: Any = None,
    repository: PayloadRepository | None = None,
    boto3_session: boto3.session.Session | None = None,
    boto_config: Config | None = None,
) -> Any:
    """Make a Lambda handler Step Functions-payload-proof.

    Use bare (``@state_offload``) or with options (``@state_offload(keep_inline=["status"])``).

    Args:
        config: an :class:`OffloadConfig` (default: from the environment, at first invocation).
        table, bucket: shortcuts overriding the config's table/bucket.
        max_inline_bytes: fixed inline budget for the result (default: computed per invocation,
            see :func:`inline_budget`).
        ignore_input: size the budget without the incoming event (ResultPath replaces it).
        margin_bytes: headroom kept below the limit (default 8,192).
        keep_inline: paths (``"status"``, ``"summary.count"``) never offloaded, for Choice states.
        fan_out: paths of lists to store element by element for a Map state (or return the list
            through :func:`fan_out`).
        max_hydrate_bytes: cap on the JSON bytes loaded into one event.
        execution_arn_key: top-level event key holding ``$$.Execution.Id``.
        hydrate, offload: switch either half off.
        result_writer: how a Distributed Map's ResultWriter output in the event is hydrated:
            ``"strict"`` (the list of outputs; FAILED/PENDING children raise
            :class:`MapRunFailedError`), ``"tolerant"`` (succeeded, failed and pending
            records), or ``"off"``.
        metrics: a Powertools ``Metrics`` to receive counts and bytes.
        repository, boto3_session, boto_config: injection for tests and custom clients.
    """
    for name, value in (
        ("max_inline_bytes", max_inline_bytes),
        ("max_hydrate_bytes", max_hydrate_bytes),
    ):
        if value is not None and (type(value) is not int or value < 1):
            raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")
    if type(margin_bytes) is not int or not 0 <= margin_bytes < STATE_LIMIT_BYTES:
        raise ConfigurationError(
            f"margin_bytes must be in [0, {STATE_LIMIT_BYTES}), got {margin_bytes!r}"
        )
    options = _Options(
        max_inline_bytes=max_inline_bytes,
        ignore_input=ignore_input,
        margin_bytes=margin_bytes,
        keep_inline=tuple(parse_path(p) for p in keep_inline),
        fan_out=tuple(parse_path(p) for p in fan_out),
        max_hydrate_bytes=max_hydrate_bytes,
        execution_arn_key=execution_arn_key,
        hydrate=hydrate,
        offload=offload,
        result_writer=result_writer,
    )
    overrides = {k: v for k, v in (("table", table), ("bucket", bucket)) if v is not None}
    clients = None
    if boto3_session is not None or boto_config is not None:
        clients = AwsClients(boto3_session=boto3_session, boto_config=boto_config)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise ConfigurationError(f"@state_offload needs a callable handler, got {fn!r}")
        runtime = _Runtime(
            options,
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
