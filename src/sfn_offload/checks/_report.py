"""Findings for people (text) and for tools (JSON), and which of them fail a check.

>>> from ._findings import Finding, Severity
>>> f = Finding("/States/A", "A", Severity.INFO, "SO102", "depends on the input", "pass it")
>>> print(format_text([f], source="sm.asl.json"))
info SO102 /States/A
  depends on the input
  fix: pass it
<BLANKLINE>
sm.asl.json: 1 finding (0 errors, 0 warnings, 1 info)
>>> failing([f], strict=True)
[]
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from ._findings import Finding, Severity

__all__ = ["counts", "failing", "format_text", "to_json"]

_WIDTH = 100


def failing(findings: Sequence[Finding], *, strict: bool = False) -> list[Finding]:
    """The findings that fail a check: errors, and warnings too when ``strict``."""
    worst = Severity.WARNING if strict else Severity.ERROR
    return [f for f in findings if f.severity.rank <= worst.rank]


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    """How many findings of each severity."""
    return {s.value: sum(f.severity is s for f in findings) for s in Severity}


def format_text(findings: Sequence[Finding], *, source: str | None = None) -> str:
    """One block per finding (severity, code, path; message; fix), then a summary line."""
    blocks = []
    for f in findings:
        body = [f"{f.severity.value} {f.code} {f.path}"]
        body += textwrap.wrap(f.message, _WIDTH, initial_indent="  ", subsequent_indent="  ")
        body += textwrap.wrap(
            f"fix: {f.fix}", _WIDTH, initial_indent="  ", subsequent_indent="       "
        )
        blocks.append("\n".join(body))
    n = counts(findings)
    total = len(findings)
    summary = (
        f"{total} finding{'s' if total != 1 else ''} ({n['error']} error"
        f"{'s' if n['error'] != 1 else ''}, {n['warning']} warning"
        f"{'s' if n['warning'] != 1 else ''}, {n['info']} info)"
        if findings
        else "no findings"
    )
    if source:
        summary = f"{source}: {summary}"
    return "\n\n".join([*blocks, summary])


def to_json(
    findings: Sequence[Finding], *, source: str | None = None, strict: bool = False
) -> dict[str, Any]:
    """The report as JSON: ``ok`` (nothing failing), ``counts`` and every finding."""
    return {
        "definition": source,
        "ok": not failing(findings, strict=strict),
        "strict": strict,
        "counts": counts(findings),
        "findings": [f.to_dict() for f in findings],
    }
