"""``TaskContext``: the Lambda context, plus what a Step Functions task needs.

In a decorated handler ``context`` is a :class:`TaskContext`. Every attribute of the Lambda
context (``function_name``, ``aws_request_id``, ``invoked_function_arn``...) and
``get_remaining_time_in_millis()`` behave exactly as before (they are read from the wrapped
object); on top of them:

- ``state_data_client``: a py2sfn-compatible :class:`~sfn_offload.StateDataClient` whose
  namespace is the execution name (so keys match what py2sfn-task-tools wrote), created on first
  use;
- ``stop_execution(error=None, cause=None)``: stop the running execution now (see
  :mod:`sfn_offload._stop`); the result can be returned or awaited (py2sfn's was ``async``);
- ``execution_arn``: the current execution's ARN, or ``None``;
- ``namespace``: the key prefix this execution's payloads are stored under (for
  :func:`~sfn_offload.write_item_file` and other explicit writes).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from .compat.py2sfn import StateDataClient

__all__ = ["StopResult", "TaskContext"]


class StopResult(dict[str, Any]):
    """The summary of a stop: a dict that can also be awaited (``await ctx.stop_execution()``)."""

    def __await__(self) -> Generator[Any, None, StopResult]:
        return self
        yield  # pragma: no cover - makes this a generator


class TaskContext:
    """A Lambda context wrapper with ``state_data_client``, ``stop_execution``, ``execution_arn``.

    >>> class FakeLambdaContext:
    ...     function_name = "orders"
    ...     def get_remaining_time_in_millis(self): return 1234
    >>> ctx = TaskContext(FakeLambdaContext(), execution_arn=None,
    ...                   client_factory=lambda: None, stopper=lambda e, c: {})
    >>> ctx.function_name, ctx.get_remaining_time_in_millis(), ctx.execution_arn
    ('orders', 1234, None)
    """

    def __init__(
        self,
        lambda_context: Any,
        *,
        execution_arn: str | None,
        client_factory: Callable[[], StateDataClient | None],
        stopper: Callable[[str | None, str | None], dict[str, Any]],
        namespace: str | None = None,
    ) -> None:
        self._lambda_context = lambda_context
        self.namespace = namespace
        self._client_factory = client_factory
        self._client: StateDataClient | None = None
        self._stopper = stopper
        self.execution_arn = execution_arn

    # The Lambda context, unchanged ------------------------------------------------------

    @property
    def lambda_context(self) -> Any:
        """The original Lambda context object."""
        return self._lambda_context

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found on TaskContext: everything the Lambda context
        # has (function_name, aws_request_id, identity, client_context, tenant_id, ...).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._lambda_context, name)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops this invocation."""
        remaining: int = self._lambda_context.get_remaining_time_in_millis()
        return remaining

    def __repr__(self) -> str:
        return f"TaskContext({self._lambda_context!r}, execution_arn={self.execution_arn!r})"

    # Step Functions additions -----------------------------------------------------------

    @property
    def state_data_client(self) -> StateDataClient:
        """The explicit py2sfn-compatible client (created on first use)."""
        if self._client is None:
            self._client = self._client_factory()
        assert self._client is not None
        return self._client

    def stop_execution(self, error: str | None = None, cause: str | None = None) -> StopResult:
        """Stop the current execution now; returns (or, awaited, resolves to) a summary."""
        return StopResult(self._stopper(error, cause))
