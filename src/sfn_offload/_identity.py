"""Which execution a task runs in, and the key namespace its payloads use.

The Lambda context carries no Step Functions execution ARN, so the state machine passes it in
the payload (see the docs' ASL snippets). Looked up, in order:

1. ``event[execution_arn_key]`` (default key ``"sfn_execution_arn"``, filled from
   ``$$.Execution.Id`` / ``$states.context.Execution.Id``);
2. ``event["meta"]["sfn_execution_arn"]``;
3. py2sfn's ``event["meta"]["sfn_execution_name"]`` + ``["sfn_state_machine_name"]``, with
   the partition, region and account taken from the Lambda context's ``invoked_function_arn``.

Without any identity, payloads are still offloaded, under the namespace
``"lambda-<function name>"`` (keys stay unique: they include the payload digest), and
StopExecution fails with a clear error.

**What an execution may read.** A reference that carries a digest (a value pointer, a list
pointer with its list's digest) is checked against what it names wherever that is. The others
(a list pointer without a digest and its elements, a py2sfn Map-iteration event, a Map's stored
results, a ResultWriter manifest) can only be trusted by where the data lives, so by default
they must name the reading execution's own namespace (:meth:`ExecutionIdentity.admits`), and
a Distributed Map's results must come from a Map Run of the same state machine.
``cross_execution_reads`` (``SFN_OFFLOAD_CROSS_EXECUTION_READS``) lifts this.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["ANONYMOUS_NAMESPACE", "ExecutionIdentity", "resolve_identity", "state_machine_of"]

ANONYMOUS_NAMESPACE: Final = "sfn-offload-anonymous"
_EXECUTION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z\-]*):states:(?P<region>[a-z0-9\-]+):(?P<account>\d{12}):"
    r"(?P<kind>execution|express):(?P<machine>[^:]+):(?P<name>[^:]+)(?::(?P<suffix>[^:]+))?$"
)
_FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z\-]*):lambda:(?P<region>[a-z0-9\-]+):(?P<account>\d{12}):function:"
)


@dataclass(frozen=True, slots=True)
class ExecutionIdentity:
    """The execution a task belongs to.

    Attributes:
        execution_arn: the execution ARN, or ``None`` when the input carries no identity.
        execution_name: the execution's name (py2sfn's ``StateDataClient`` namespace).
        namespace: prefix of the keys the decorator writes: ``"<name>.<8 hex of the ARN>"``
            (unique across state machines that reuse execution names).
        express: True for an Express execution (StopExecution cannot stop it).
        source: where the identity came from (for logs).

    >>> ident = resolve_identity({"sfn_execution_arn":
    ...     "arn:aws:states:eu-west-1:123456789012:execution:orders:run-42"}, None)
    >>> ident.execution_name, ident.namespace, ident.express
    ('run-42', 'run-42.9724030d', False)
    """

    execution_arn: str | None
    execution_name: str | None
    namespace: str
    express: bool = False
    source: str = "none"

    def admits(self, partition_key: str, *, py2sfn: bool = False) -> bool:
        """True when ``partition_key`` lies in this execution's namespace.

        ``py2sfn`` also admits py2sfn-task-tools' namespace, the bare execution name (shared by
        same-named executions of different state machines: only py2sfn shapes read it).

        >>> ident = resolve_identity({"sfn_execution_arn":
        ...     "arn:aws:states:eu-west-1:123456789012:execution:orders:run-42"}, None)
        >>> ident.admits("run-42.9724030d:rows:list-0a1b"), ident.admits("run-7.00000000:rows")
        (True, False)
        >>> ident.admits("run-42:rows"), ident.admits("run-42:rows", py2sfn=True)
        (False, True)
        """
        if partition_key.startswith(f"{self.namespace}:"):
            return True
        return bool(
            py2sfn and self.execution_name and partition_key.startswith(f"{self.execution_name}:")
        )

    @property
    def state_machine(self) -> str | None:
        """``arn:<partition>:states:<region>:<account>:<state machine name>`` (without the
        ``stateMachine:`` part), to compare with a Map Run's; ``None`` without an ARN."""
        return state_machine_of(self.execution_arn) if self.execution_arn else None

    def describe(self) -> str:
        """For messages: the execution, or why there is none."""
        if self.execution_arn:
            return f"execution {self.execution_arn}"
        if self.execution_name:
            return f"execution {self.execution_name!r} (name only)"
        return f"no execution ARN in the input (namespace {self.namespace!r})"


_MACHINE_OF = re.compile(
    r"^arn:(?P<partition>aws[a-z\-]*):states:(?P<region>[a-z0-9\-]+):(?P<account>\d{12}):"
    r"(?:execution|express|stateMachine):(?P<machine>[^:/]+)"
    r"|^arn:(?P<p2>aws[a-z\-]*):states:(?P<r2>[a-z0-9\-]+):(?P<a2>\d{12}):mapRun:(?P<m2>[^:/]+)/"
)


def state_machine_of(arn: str) -> str | None:
    """The state machine an execution, state machine or Map Run ARN belongs to, as
    ``arn:<partition>:states:<region>:<account>:<name>``; ``None`` for other strings.

    >>> state_machine_of("arn:aws:states:us-east-1:123456789012:execution:orders:run-1")
    'arn:aws:states:us-east-1:123456789012:orders'
    >>> state_machine_of("arn:aws:states:us-east-1:123456789012:mapRun:orders/Fan:abc")
    'arn:aws:states:us-east-1:123456789012:orders'
    """
    match = _MACHINE_OF.match(arn) if isinstance(arn, str) else None
    if match is None:
        return None
    if match["machine"] is not None:
        return f"arn:{match['partition']}:states:{match['region']}:{match['account']}:" + str(
            match["machine"]
        )
    return f"arn:{match['p2']}:states:{match['r2']}:{match['a2']}:{match['m2']}"


def _namespace(name: str, arn: str) -> str:
    return f"{name}.{hashlib.sha256(arn.encode('utf-8')).hexdigest()[:8]}"


@functools.lru_cache(maxsize=64)
def _from_arn(arn: str, source: str) -> ExecutionIdentity | None:
    # Cached: every invocation of an execution's tasks parses the same ARN (and hashes it).
    match = _EXECUTION_ARN.match(arn)
    if match is None:
        return None
    return ExecutionIdentity(
        arn,
        match["name"],
        _namespace(match["name"], arn),
        express=match["kind"] == "express",
        source=source,
    )


def resolve_identity(
    event: object, context: Any, *, execution_arn_key: str = "sfn_execution_arn"
) -> ExecutionIdentity:
    """Find the execution ARN in ``event`` (see the module docstring for the order)."""
    candidates: list[tuple[object, str]] = []
    meta: Mapping[str, Any] = {}
    if isinstance(event, Mapping):
        candidates.append((event.get(execution_arn_key), f"event.{execution_arn_key}"))
        raw_meta = event.get("meta")
        if isinstance(raw_meta, Mapping):
            meta = raw_meta
            candidates.append((meta.get("sfn_execution_arn"), "event.meta.sfn_execution_arn"))
    for value, source in candidates:
        if isinstance(value, str) and (identity := _from_arn(value, source)) is not None:
            return identity
    name, machine = meta.get("sfn_execution_name"), meta.get("sfn_state_machine_name")
    function_arn = getattr(context, "invoked_function_arn", None)
    if isinstance(name, str) and name and isinstance(machine, str) and machine:
        fn = _FUNCTION_ARN.match(function_arn) if isinstance(function_arn, str) else None
        if fn is not None:
            arn = (
                f"arn:{fn['partition']}:states:{fn['region']}:{fn['account']}:execution:"
                f"{machine}:{name}"
            )
            return ExecutionIdentity(arn, name, _namespace(name, arn), source="event.meta (py2sfn)")
        # The name alone still gives py2sfn-compatible keys; stopping needs the full ARN.
        return ExecutionIdentity(None, name, _namespace(name, f"{machine}:{name}"), source="meta")
    function_name = getattr(context, "function_name", None)
    if isinstance(function_name, str) and function_name:
        return ExecutionIdentity(None, None, f"lambda-{function_name}")
    return ExecutionIdentity(None, None, ANONYMOUS_NAMESPACE)
