"""``check_definition``: every rule over one definition, filtered and in definition order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from ..errors import ConfigurationError
from ._asl import DefinitionError, parse
from ._conventions import directives
from ._findings import CODES, Finding
from ._flow import analyze
from ._history import check_history
from ._maps import check_maps
from ._parallel import check_parallels
from ._tasks import Options, check_tasks

__all__ = ["check_definition"]

WorkflowType = Literal["standard", "express"]


def check_definition(
    definition: Mapping[str, Any],
    *,
    workflow_type: WorkflowType = "standard",
    execution_arn_key: str = "sfn_execution_arn",
    ignore: Iterable[str] = (),
) -> list[Finding]:
    """Find the state shapes where the 262,144-byte limit or the history quota still bites.

    Args:
        definition: the state machine's definition (parsed JSON; ``${name}`` placeholders may
            stand for Lambda ARNs).
        workflow_type: ``"standard"`` (a 25,000-event history) or ``"express"`` (none).
        execution_arn_key: the event key the decorated handlers read the execution ARN from
            (``@state_offload(execution_arn_key=...)``).
        ignore: codes not to report. A state's ``Comment`` may also hold
            ``sfn-offload:ignore=SO101,SO102`` for that state alone.

    Returns:
        The findings, in the order of the states in the definition (errors first within a
        state). Raises :class:`DefinitionError` when the definition cannot be read.

    >>> findings = check_definition({"StartAt": "Report", "States": {"Report": {
    ...     "Type": "Task", "Resource": "${report}", "Parameters": {"orders.$": "$.orders"},
    ...     "End": True}}})
    >>> [(f.code, f.path, f.severity.value) for f in findings]
    [('SO101', '/States/Report', 'warning')]
    >>> findings[0].fix.split(" (")[0]
    'set "sfn_execution_arn.$": "$$.Execution.Id" in Parameters'
    """
    skipped = _codes(ignore, "ignore")
    if workflow_type not in ("standard", "express"):
        raise ConfigurationError(
            f"workflow_type must be 'standard' or 'express', not {workflow_type!r}"
        )
    if not isinstance(execution_arn_key, str) or not execution_arn_key:
        raise ConfigurationError("execution_arn_key must be a non-empty string")
    machine = parse(definition)
    facts = analyze(machine)
    options = Options(execution_arn_key=execution_arn_key, workflow_type=workflow_type)
    found = [
        *check_tasks(machine, facts, options),
        *check_maps(machine, facts),
        *check_parallels(machine, facts),
        *check_history(machine, workflow_type),
    ]
    states = list(machine.walk())
    order = {s.path: i for i, s in enumerate(states)}
    silenced = {
        s.path: _codes(directives(s).get("ignore", "").split(","), f"{s.path}/Comment")
        for s in states
    }
    kept = [f for f in found if f.code not in skipped | silenced.get(f.path, frozenset())]
    return sorted(kept, key=lambda f: (order.get(f.path, -1), f.severity.rank, f.code))


def _codes(codes: Iterable[str], where: str) -> frozenset[str]:
    wanted = frozenset(c.strip().upper() for c in codes if c.strip())
    unknown = sorted(wanted - set(CODES))
    if unknown:
        error = ConfigurationError if where == "ignore" else DefinitionError
        raise error(f"{where}: unknown finding code(s) {', '.join(unknown)} (see docs/cli.md)")
    return wanted
