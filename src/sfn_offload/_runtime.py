"""What a decorated handler keeps across warm invocations, and one invocation's two halves.

:class:`Runtime` holds the options, config, clients and repository of one decorated handler;
:meth:`Runtime.before` hydrates the event and works out the result's budget, and
:meth:`Runtime.after` offloads what does not fit. ``_decorator`` wraps them around the handler.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ._aws import AwsClients
from ._config import OffloadConfig
from ._context import TaskContext
from ._gather import store_iteration_result
from ._hydrate import HydrateResult, ResultWriterMode, hydrate_event
from ._identity import ExecutionIdentity, resolve_identity
from ._limits import hydrate_cap
from ._offload import OffloadStats, offload_result
from ._stop import StopExecution, stop_current
from .budget import STATE_LIMIT_BYTES, Shape, budget
from .compat.py2sfn import StateDataClient
from .errors import ConfigurationError, PayloadEncodingError, StateShapeError
from .storage.repository import PayloadRepository, ReadStats
from .wire.codec import dumps, state_size
from .wire.paths import Path
from .wire.references import MapRun, may_contain_references, parse_map_run

__all__ = ["Options", "Prepared", "Runtime"]

logger = logging.getLogger("sfn_offload")


@dataclass(frozen=True, kw_only=True)
class Options:
    """The decorator's per-handler options, validated once at decoration."""

    max_inline_bytes: int | None
    ignore_input: bool
    margin_bytes: int
    keep_inline: tuple[Path, ...]
    fan_out: tuple[Path, ...]
    max_hydrate_bytes: int | None
    execution_arn_key: str
    hydrate: bool
    offload: bool
    result_writer: ResultWriterMode
    reserve_bytes: int = 0

    def __post_init__(self) -> None:
        for name in ("max_inline_bytes", "max_hydrate_bytes"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 1):
                raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")
        if type(self.reserve_bytes) is not int or self.reserve_bytes < 0:
            raise ConfigurationError(
                f"reserve_bytes must be a non-negative integer, got {self.reserve_bytes!r}"
            )
        margin = self.margin_bytes
        if type(margin) is not int or not 0 <= margin < STATE_LIMIT_BYTES:
            raise ConfigurationError(
                f"margin_bytes must be in [0, {STATE_LIMIT_BYTES}), got {margin!r}"
            )


class Runtime:
    """What one decorated handler keeps across warm invocations: config, clients, repository.

    Built on the first invocation (not at decoration, which happens at import of the user's
    module), then reused.
    """

    def __init__(
        self,
        options: Options,
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

    def before(self, event: Any, context: Any) -> Prepared:
        """Hydrate the event and work out the result's budget; no I/O without references."""
        opts = self.options
        raw = dumps(event, where="incoming event") if needs_measure(opts) else b""
        identity = resolve_identity(event, context, execution_arn_key=opts.execution_arn_key)
        # One namespace for py2sfn local keys, so hydrating a local Map-iteration event and
        # context.state_data_client.get_item_for_map_iteration(event) read the same item. It is
        # the execution's own (unique across state machines); data py2sfn-task-tools wrote under
        # the bare execution name is still found there.
        legacy_namespace = identity.execution_name
        hydrated = HydrateResult(event, ReadStats())
        if opts.hydrate and (not raw or may_contain_references(raw)):
            hydrated = hydrate_event(
                event,
                self.repository,
                py2sfn_namespace=identity.namespace,
                py2sfn_legacy_namespace=legacy_namespace,
                max_bytes=opts.max_hydrate_bytes or hydrate_cap(context),
                result_writer=opts.result_writer,
                reader=identity,
            )
            self._report(hydrated.stats)
        shape = Shape.of(
            event,
            state_size(raw),
            ignore_input=opts.ignore_input,
            siblings=hydrated.map_iterations,
            reserve=opts.reserve_bytes,
            margin=opts.margin_bytes,
            fixed=opts.max_inline_bytes,
        )
        task_context = TaskContext(
            context,
            execution_arn=identity.execution_arn,
            namespace=identity.namespace,
            client_factory=lambda: StateDataClient(
                namespace=identity.namespace,
                repository=self.repository,
                legacy_namespace=legacy_namespace,
            ),
            stopper=lambda error, cause: self.stop(identity, error, cause),
        )
        return Prepared(hydrated.event, task_context, identity, shape, parse_map_run(event))

    def after(self, prepared: Prepared, result: Any) -> Any:
        """Offload what does not fit the budget; small results pass with no I/O."""
        opts = self.options
        if not opts.offload:
            return result
        if prepared.map_run is not None:
            run, index = prepared.map_run
            namespace = prepared.identity.namespace
            return store_iteration_result(self.repository, run, index, result, namespace=namespace)
        # The repository holds no client until a write needs one: small results do no I/O.
        limit = budget(prepared.shape)
        try:
            done = offload_result(
                result,
                self.repository,
                namespace=prepared.identity.namespace,
                budget=limit,
                keep_inline=opts.keep_inline,
                fan_out_paths=opts.fan_out,
            )
        except RecursionError as exc:  # a walk of a deeply nested result: still a typed error
            raise PayloadEncodingError("handler result is nested too deeply") from exc
        self._report(done.stats)
        if done.stats.inline_bytes > limit:
            raise _no_room(prepared.shape, limit, done.stats.inline_bytes)
        return done.result

    def _report(self, stats: ReadStats | OffloadStats) -> None:
        metrics = stats.metrics()
        if metrics:
            logger.debug("%s", stats)  # sizes, counts and addresses; never payloads
        for name, unit, value in metrics:
            self._metric(name, unit, value)

    def stop(
        self, identity: ExecutionIdentity, error: str | None, cause: str | None
    ) -> dict[str, Any]:
        summary = stop_current(
            identity,
            error,
            cause,
            lambda: self.repository.clients.stepfunctions,
            allowed=self.repository.config.stop_state_machines,
            execution_arn_key=self.options.execution_arn_key,
        )
        if summary["stopped"]:  # not an execution that had already finished
            self._metric("StoppedExecutions", "Count", 1)
        return summary

    def on_stop(self, prepared: Prepared, exc: StopExecution) -> dict[str, Any]:
        return self.stop(prepared.identity, exc.error, exc.cause)

    def _metric(self, name: str, unit: str, value: float) -> None:
        if self.metrics is None or not value:
            return
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=name, unit=getattr(MetricUnit, unit), value=value)


def needs_measure(opts: Options) -> bool:
    # The event is serialized to size the budget and to pre-check for references in C.
    return opts.hydrate or (
        opts.offload and opts.max_inline_bytes is None and not opts.ignore_input
    )


def _no_room(shape: Shape, limit: int, inline_bytes: int) -> StateShapeError:
    if shape.siblings > 1:
        fix = (
            "store the results instead of returning them: add sfn_offload_map to the Map's "
            "ItemSelector and sfn_offload_results to its ResultSelector (docs/maps.md), or, for "
            "a Parallel, fewer branches per state"
        )
    else:
        fix = "lower sfn_offload_reserve if it overstates, or pass less data into this state"
    return StateShapeError(
        f"the result needs {inline_bytes} bytes inline even as pointers, but the state leaves it "
        f"{limit} ({shape.describe()}): {fix}"
    )


@dataclass(frozen=True, slots=True)
class Prepared:
    """One invocation after hydration: what the handler receives and what offload needs."""

    event: Any
    context: TaskContext
    identity: ExecutionIdentity
    shape: Shape
    map_run: tuple[MapRun, int] | None = None
