"""What the commands print: JSON documents, the ``inspect`` report, ``setup`` results.

Everything that knows about rich is here; :mod:`sfn_offload.cli.app` decides what to print.

Everything printed that comes from an execution (state names, keys, pointers, error messages,
data) passes through :func:`visible` (or, in JSON, is written as ``\\u`` escapes): control
characters, which a terminal would obey (an ESC sequence can rewrite the screen or the title),
and bidirectional overrides, which reorder what is read, are shown as escapes instead.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..budget import STATE_LIMIT_BYTES
from ..storage.setup import SetupResult
from .history import ExecutionReport, Progress, StateData, StateVisit
from .report import Reference

__all__ = [
    "print_json",
    "print_setup",
    "progress_display",
    "render_report",
    "visible",
    "write_json",
]

#: Larger documents are printed without syntax highlighting (rich is slow on megabytes).
_HIGHLIGHT_MAX_CHARS: Final = 1_000_000
#: C0 and C1 controls, DEL, and the characters that reorder or hide text (bidirectional marks,
#: embeddings, overrides and isolates; line and paragraph separators).
_UNSAFE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


#: The same, less the C0 controls, which json escapes in strings (outside strings, JSON text
#: holds only its own whitespace).
_UNSAFE_IN_JSON: Final = re.compile("[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    r"""``text`` with every control or reordering character shown as an escape.

    >>> visible("state\x1b[2Jname\u202e")
    'state\\x1b[2Jname\\u202e'
    """
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _stdout_console() -> Console:
    # Not a terminal (a pipe, a log): no width to fit, so do not fold lines at 80 columns.
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


def _json_text(value: Any, *, raw: bool) -> str:
    if raw:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(value, ensure_ascii=False, indent=2)
    # json escapes C0 controls itself; C1 controls, DEL and bidi characters only appear inside
    # strings, where a \u escape is the same JSON value.
    return _UNSAFE_IN_JSON.sub(_json_escape, text)


def print_json(value: Any, *, raw: bool) -> None:
    """``value`` on stdout: compact if ``raw``, else indented (and colored on a terminal)."""
    text = _json_text(value, raw=raw)
    if raw:
        click.echo(text)
        return
    console = Console()
    if console.is_terminal and len(text) <= _HIGHLIGHT_MAX_CHARS:
        console.print_json(text)
    else:
        click.echo(text)


def write_json(value: Any, out: Path, *, raw: bool) -> None:
    """``value`` as JSON in the file ``out``, and what was written on stderr."""
    body = _json_text(value, raw=raw) + "\n"
    try:
        out.write_text(body, encoding="utf-8")
    except OSError as exc:
        raise click.FileError(str(out), hint=exc.strerror or str(exc)) from exc
    click.echo(f"wrote {len(body.encode('utf-8')):,} bytes to {out}", err=True)


@contextlib.contextmanager
def progress_display() -> Iterator[Progress | None]:
    """A rich progress display on stderr when it is a terminal; nothing otherwise."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn
    from rich.progress import Progress as Bar

    labels = {"history": "reading history (events)", "resolve": "resolving pointers"}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Bar(*columns, console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def render_report(report: ExecutionReport, *, with_data: bool) -> None:
    """The ``inspect`` report for people: a summary, a size table, the pointers, the errors."""
    console = _stdout_console()
    console.print(
        f"Execution {visible(report.execution_arn)}: {report.status}, {report.events} events, "
        f"{len(report.visits)} state run(s); limit {STATE_LIMIT_BYTES:,} bytes per state "
        "input/output" + ("" if report.resolved else " (pointers not resolved: --no-resolve)"),
        markup=False,
        soft_wrap=True,
    )
    console.print(_sizes_table(report.visits))
    pointers = [
        line
        for visit in report.visits
        for side, data in visit.sides()
        for ref in data.references
        for line in _pointer_lines(visit, side, ref)
    ]
    console.print("Pointers" if pointers else "No pointers in the inspected states.")
    for line in pointers:
        console.print(visible(line), markup=False, soft_wrap=True)
    for error in report.errors:
        console.print(f"error: {visible(error)}", style="red", markup=False, soft_wrap=True)
    if with_data:
        for visit in report.visits:
            for side, data in visit.sides():
                if data.error is None:
                    console.rule(escape(visible(f"{visit.label} {side}")))
                    print_json(data.document, raw=False)


def _sizes_table(visits: Sequence[StateVisit]) -> Table:
    table = Table(title="State inputs and outputs", title_justify="left")
    table.add_column("State", no_wrap=True)
    table.add_column("Side", no_wrap=True)
    for name in ("Inline bytes", "% of limit", "Pointers", "Resolved bytes"):
        table.add_column(name, justify="right", no_wrap=True)
    for visit in visits:
        for side, data in visit.sides():
            table.add_row(escape(visible(visit.label)), side, *_size_cells(data))
    return table


def _size_cells(data: StateData) -> tuple[str, str, str, str]:
    pct = data.percent_of_limit
    style = "red" if pct > 100 else "yellow" if pct >= 75 else ""
    return (
        _bytes(data.inline_bytes),
        f"[{style}]{pct:.1f}%[/]" if style else f"{pct:.1f}%",
        str(len(data.references)),
        "error" if data.error else _bytes(data.resolved_bytes),
    )


def _pointer_lines(visit: StateVisit, side: str, ref: Reference) -> list[str]:
    # The address gets a line of its own: keys stay whole and copyable at any terminal width
    # (a table column would fold them).
    facts = [f"list of {ref.pointer.count} elements" if ref.is_list else ref.kind]
    if ref.stored_bytes is not None:
        facts.append(f"{ref.stored_bytes:,} bytes stored")
    if ref.resolved_bytes is not None:
        facts.append(f"{ref.resolved_bytes:,} bytes resolved")
    return [
        f"  {visit.label} {side} {ref.jsonpath}: {', '.join(facts)}",
        f"    {ref.pointer.describe()}",
    ]


def _bytes(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def print_setup(results: Sequence[SetupResult]) -> None:
    """Each resource, created or found, and each check of it."""
    for result in results:
        click.echo(f"{result.kind} {result.name}: {'created' if result.created else 'exists'}")
        for check in result.checks:
            mark = "ok" if check.ok else "MISMATCH"
            click.echo(f"  {mark:<9}{check.name}: {check.detail}")
