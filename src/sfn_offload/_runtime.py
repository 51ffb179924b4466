"""What a decorated handler keeps across warm invocations, and one invocation's two halves.

:class:`Runtime` holds the options, config, clients and repository of one decorated handler;
:meth:`Runtime.before` hydrates the event and works out the result's budget, and
:meth:`Runtime.after` offloads what does not fit. ``_decorator`` wraps them around the handler.

Options come from the decorator's arguments, else from ``SFN_OFFLOAD_*`` variables (read at the
first invocation, never at import or decoration), else their defaults:

>>> Options.resolve({"margin_bytes": 4_096}, {"margin_bytes": 1, "disabled": True}).margin_bytes
4096
>>> opts = Options.resolve({}, {"disabled": True})
>>> opts.hydrate, opts.offload
(False, False)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._aws import AwsClients
from ._config import OPTION_ENV, OffloadConfig, options_from_env
from ._context import TaskContext
from ._gather import store_iteration_result
from ._hydrate import HydrateResult, ResultWriterMode, hydrate_event
from ._identity import ExecutionIdentity, resolve_identity
from ._limits import hydrate_cap
from ._offload import OffloadStats, offload_result, parse_path
from ._stop import StopExecution, stop_current
from .budget import MARGIN_BYTES, STATE_LIMIT_BYTES, Shape, budget
from .compat.py2sfn import StateDataClient
from .errors import ConfigurationError, PayloadEncodingError, StateShapeError
from .storage.repository import PayloadRepository, ReadStats
from .wire.codec import dumps_parsed, state_size
from .wire.maps import MapRun, parse_map_run
from .wire.paths import Path
from .wire.references import may_contain_references

__all__ = ["Options", "Prepared", "Runtime"]

logger = logging.getLogger("sfn_offload")


#: What an option is when neither an argument nor its variable sets it.
DEFAULTS: Final[Mapping[str, Any]] = {
    "max_inline_bytes": None,
    "ignore_input": False,
    "margin_bytes": MARGIN_BYTES,
    "reserve_bytes": 0,
    "keep_inline": (),
    "fan_out": (),
    "max_hydrate_bytes": None,
    "execution_arn_key": "sfn_execution_arn",
    "hydrate": True,
    "offload": True,
    "result_writer": "strict",
    "disabled": False,
}
_RESULT_WRITER_MODES: Final = ("strict", "tolerant", "off")


@dataclass(frozen=True, kw_only=True)
class Options:
    """The decorator's per-handler options: arguments checked at decoration, the environment
    read and checked at the first invocation (:meth:`resolve`)."""

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
    #: The off switch: events and results pass through as they are (no hydrate, no offload).
    disabled: bool = False

    @classmethod
    def resolve(cls, arguments: Mapping[str, Any], env: Mapping[str, Any]) -> Options:
        """``arguments`` (given to the decorator) > ``env`` (:func:`options_from_env`) >
        :data:`DEFAULTS`. Paths may be strings or parsed tuples. A bad variable is named."""
        from_env = {}
        for name, value in env.items():
            try:  # one variable at a time, so that the error names the one that is wrong
                from_env[name] = _parsed(name, value)
                cls(**{**DEFAULTS, name: from_env[name]})
            except ConfigurationError as exc:
                raise ConfigurationError(
                    f"environment variable {OPTION_ENV[name]}={value!r}: {exc}"
                ) from exc
        given = {name: _parsed(name, value) for name, value in arguments.items()}
        return cls(**{**DEFAULTS, **from_env, **given})

    def __post_init__(self) -> None:
        if self.disabled:
            object.__setattr__(self, "hydrate", False)
            object.__setattr__(self, "offload", False)
        for name in ("disabled", "hydrate", "offload", "ignore_input"):
            value = getattr(self, name)
            if type(value) is not bool:
                raise ConfigurationError(f"{name} must be True or False, got {value!r}")
        if self.result_writer not in _RESULT_WRITER_MODES:
            raise ConfigurationError(
                f"result_writer must be one of {', '.join(_RESULT_WRITER_MODES)}, "
                f"got {self.result_writer!r}"
            )
        if not isinstance(self.execution_arn_key, str) or not self.execution_arn_key:
            raise ConfigurationError(
                f"execution_arn_key must be a non-empty string, got {self.execution_arn_key!r}"
            )
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
        arguments: Mapping[str, Any],
        *,
        config: OffloadConfig | None,
        overrides: dict[str, Any],
        repository: PayloadRepository | None,
        clients: AwsClients | None,
        metrics: Any,
        name: str = "handler",
    ) -> None:
        self._arguments = dict(arguments)
        self._options: Options | None = None
        self._name = name
        self._config = config
        self._overrides = overrides
        self._repository = repository
        self._clients = clients
        self.metrics = metrics

    @property
    def options(self) -> Options:
        """The arguments over the ``SFN_OFFLOAD_*`` variables, read at the first invocation."""
        if self._options is None:
            options = Options.resolve(self._arguments, options_from_env())
            if options.disabled:
                logger.info(
                    "sfn-offload is disabled for %s: events and results pass as they are",
                    self._name,
                )
            self._options = options
        return self._options

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
        # The runtime decoded the event from JSON: the C encoder measures it (dumps_parsed).
        raw = dumps_parsed(event, where="incoming event") if needs_measure(opts) else b""
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


def _parsed(name: str, value: Any) -> Any:
    """Paths of ``keep_inline``/``fan_out`` as tuples; other options as given."""
    if name not in ("keep_inline", "fan_out"):
        return value
    if isinstance(value, str):  # one path, not its characters
        value = (value,)
    return tuple(p if isinstance(p, tuple) else parse_path(p) for p in value)


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
