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
from .groups import Row, SideStats, report_rows
from .history import Progress
from .model import NEAR_LIMIT_PERCENT, ExecutionReport
from .payloads import Payload, report_payloads

__all__ = [
    "payload_facts",
    "print_json",
    "print_setup",
    "progress_display",
    "render_report",
    "visible",
    "write_json",
    "write_text",
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
    write_text(_json_text(value, raw=raw) + "\n", out)


def write_text(body: str, out: Path) -> None:
    """``body`` in the file ``out`` (UTF-8), and what was written on stderr."""
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


def render_report(report: ExecutionReport, *, with_data: bool, expand: bool = False) -> None:
    """The ``inspect`` report for people: a summary, a size table (Map iterations grouped
    unless ``expand``), each payload once with the states that carried it, the errors."""
    console = _stdout_console()
    console.print(
        f"Execution {visible(report.execution_arn)}: {report.status}, {report.events} events, "
        f"{len(report.visits)} state run(s); limit {STATE_LIMIT_BYTES:,} bytes per state "
        "input/output" + ("" if report.resolved else " (pointers not resolved: --no-resolve)"),
        markup=False,
        soft_wrap=True,
    )
    console.print(_sizes_table(report_rows(report.visits, expand=expand)))
    payloads = report_payloads(report.visits)
    console.print(
        "Pointers (each payload once, with the states that carried it)"
        if payloads
        else "No pointers in the inspected states."
    )
    for payload in payloads:
        for line in _payload_lines(payload):
            console.print(visible(line), markup=False, soft_wrap=True)
    for error in report.errors:
        console.print(f"error: {visible(error)}", style="red", markup=False, soft_wrap=True)
    if with_data:
        for visit in report.visits:
            for side, data in visit.sides():
                if data.error is None:
                    console.rule(escape(visible(f"{visit.label} {side}")))
                    print_json(data.document, raw=False)


_PLAIN: Final = ("Inline bytes", "% of limit")


def _sizes_table(rows: Sequence[Row]) -> Table:
    grouped = any(row.grouped for row in rows)
    table = Table(
        title="State inputs and outputs",
        title_justify="left",
        caption="[*]: a state's runs in a Map's iterations; bytes and % are the largest run's, "
        "Min and P95 the smallest and 95th percentile (--expand lists every run)"
        if grouped
        else None,
        caption_justify="left",
    )
    table.add_column("State", no_wrap=True)
    table.add_column("Side", no_wrap=True)
    columns = ("Runs", *_PLAIN, "Min", "P95") if grouped else _PLAIN
    for name in (*columns, "Pointers", "Resolved bytes"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        for side, stats in row.sides():
            table.add_row(
                escape(visible(row.label)),
                side,
                *_size_cells(stats, grouped_table=grouped, grouped=row.grouped),
            )
    return table


def _size_cells(stats: SideStats, *, grouped_table: bool, grouped: bool) -> tuple[str, ...]:
    pct = stats.percent_of_limit
    style = "red" if pct > 100 else "yellow" if pct >= NEAR_LIMIT_PERCENT else ""
    percent = f"[{style}]{pct:.1f}%[/]" if style else f"{pct:.1f}%"
    if stats.errors == stats.runs:
        resolved = "error"
    elif stats.errors:
        resolved = f"{_bytes(stats.resolved_max_bytes)} ({stats.errors} error(s))"
    else:
        resolved = _bytes(stats.resolved_max_bytes)
    sizes: tuple[str, ...] = (_bytes(stats.max_bytes), percent)
    if grouped_table and grouped:
        sizes = (str(stats.runs), *sizes, _bytes(stats.min_bytes), _bytes(stats.p95_bytes))
    elif grouped_table:  # a single run's count, min and p95 say nothing: left blank
        sizes = ("", *sizes, "", "")
    return (*sizes, str(stats.pointers), resolved)


def _payload_lines(payload: Payload) -> list[str]:
    # The address gets a line of its own: keys stay whole and copyable at any terminal width
    # (a table column would fold them).
    lines = [f"  {payload.address}", f"    {payload_facts(payload)}"]
    for carrier in payload.carriers:
        runs = f" ({carrier.runs} runs)" if carrier.runs > 1 else ""
        lines.append(f"    in {carrier.state} {carrier.side} {', '.join(carrier.paths)}{runs}")
    return lines


#: How the kinds of reference to a whole list read in the pointer list.
_LISTS: Final = {"list": "list", "py2sfn-list": "py2sfn list", "map-results": "Map results"}


def payload_facts(payload: Payload) -> str:
    """What a payload is and its sizes, in words: ``list of 40 elements, 2,230,585 bytes
    resolved``."""
    facts = []
    whole = next((_LISTS[kind] for kind in payload.kinds if kind in _LISTS), None)
    if whole:
        facts.append(f"{whole} of {payload.count} elements" if payload.count else whole)
    elif payload.elements:
        facts.append(f"{payload.elements} of {payload.count or '?'} list elements")
    else:
        facts.append(", ".join(payload.kinds))
    if payload.stored_bytes is not None:
        facts.append(f"{payload.stored_bytes:,} bytes stored")
    if payload.resolved_bytes is not None:
        facts.append(f"{payload.resolved_bytes:,} bytes resolved")
    if payload.refused:
        facts.append("refused by the allow-list")
    return ", ".join(facts)


def _bytes(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def print_setup(results: Sequence[SetupResult]) -> None:
    """Each resource, created or found, and each check of it."""
    for result in results:
        click.echo(f"{result.kind} {result.name}: {'created' if result.created else 'exists'}")
        for check in result.checks:
            mark = "ok" if check.ok else "MISMATCH"
            click.echo(f"  {mark:<9}{check.name}: {check.detail}")
