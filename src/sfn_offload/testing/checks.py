"""``assert_definition_ok``: the static check of :mod:`sfn_offload.checks` as a test assertion.

>>> assert_definition_ok({"StartAt": "Report", "States": {"Report": {"Type": "Task",
...     "Resource": "${report}", "End": True,
...     "Parameters": {"sfn_execution_arn.$": "$$.Execution.Id"}}}})
[]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from ..checks import (
    Finding,
    WorkflowType,
    check_definition,
    failing,
    format_text,
    load_definition,
)
from ..errors import DefinitionCheckError

__all__ = ["CheckMode", "assert_definition_ok"]

#: What fails a definition in the local kit: ``"errors"`` (the default of ``sfn-offload check``),
#: ``"strict"`` (warnings too) or ``"off"`` (no check).
CheckMode = Literal["errors", "strict", "off"]


def assert_definition_ok(
    definition: Mapping[str, Any] | str | Path,
    *,
    strict: bool = False,
    workflow_type: WorkflowType = "standard",
    execution_arn_key: str = "sfn_execution_arn",
    ignore: Iterable[str] = (),
) -> list[Finding]:
    """Check ``definition`` and raise :class:`~sfn_offload.errors.DefinitionCheckError` (an
    ``AssertionError``), listing every finding, if any fails the check.

    ``definition`` is a dict, JSON text or a file path, as :meth:`LocalStepFunctions.run`
    takes it. Errors fail the check, and warnings too when ``strict``; the other options are
    :func:`sfn_offload.checks.check_definition`'s. Returns all the findings (info included),
    for further assertions.

    >>> fork = {"StartAt": "Fork", "States": {"Fork": {"Type": "Parallel", "End": True,
    ...     "Parameters": {"sfn_execution_arn.$": "$$.Execution.Id"},
    ...     "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Task",
    ...         "Resource": "${a}", "End": True}}}] * 2}}}
    >>> [f.code for f in assert_definition_ok(fork)]  # warnings pass unless strict
    ['SO301', 'SO301']
    >>> assert_definition_ok(fork, strict=True)
    Traceback (most recent call last):
    ...
    sfn_offload.errors.DefinitionCheckError: the definition fails sfn-offload's check (strict):
    warning SO301 /States/Fork/Branches/0/States/A
    ...
    """
    findings = check_definition(
        load_definition(definition),
        workflow_type=workflow_type,
        execution_arn_key=execution_arn_key,
        ignore=ignore,
    )
    if failing(findings, strict=strict):
        mode = " (strict)" if strict else ""
        raise DefinitionCheckError(
            f"the definition fails sfn-offload's check{mode}:\n{format_text(findings)}"
        )
    return findings
