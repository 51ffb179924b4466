"""``sfn-offload inspect --html FILE``: the report as one self-contained page.

Inline CSS and an inline SVG chart; no script, no font, no image, nothing fetched, so the file
can be attached to a ticket and opened anywhere. The chart draws each row of the report (a state
run, or a state's runs across a Map's iterations) as an input bar and an output bar against the
262,144-byte line; a group's bar reaches its largest run, a darker part its 95th percentile,
and a tick marks its smallest. Below: the same rows as a table, each offloaded payload once with
the states that carried it, and the errors.

Everything that comes from the history (state names, ARNs, keys, paths, messages) is shown with
control characters as escapes (:func:`~sfn_offload.cli.render.visible`) and then HTML-escaped,
quotes included: a state named ``<script>`` is text. The page is well-formed XML as well as
HTML, and the same report always gives the same bytes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

from ..budget import STATE_LIMIT_BYTES
from .groups import Row, SideStats, report_rows
from .model import NEAR_LIMIT_PERCENT, ExecutionReport
from .payloads import Payload, report_payloads
from .render import payload_facts, visible

__all__ = ["html_report"]

_LABEL_W: Final = 300  # the state names, left of the bars
_BARS_W: Final = 560  # 0 .. the scale's top
_NOTE_W: Final = 330  # sizes, right of the bars
_ROW_H: Final = 34
_TOP: Final = 28  # room for the limit line's label
_BAR_H: Final = 11

_CSS: Final = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
  color: #1d232a; background: #fff; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 16px; margin: 28px 0 8px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0; }
dt { color: #5b6670; } dd { margin: 0; font-family: ui-monospace, Menlo, monospace; }
.status-SUCCEEDED { color: #1a7f37; } .status-FAILED, .status-TIMED_OUT,
.status-ABORTED { color: #c62828; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e3e7eb; padding: 3px 10px; text-align: left;
  vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.near td { background: #fff4e0; } tr.over td { background: #fde4e4; }
code { font-family: ui-monospace, Menlo, monospace; font-size: 12.5px; word-break: break-all; }
ul.errors li { color: #c62828; margin-bottom: 4px; }
ul.carriers { margin: 0; padding-left: 16px; } ul.carriers code { white-space: nowrap;
  word-break: normal; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #1d232a; }
svg text.note { fill: #5b6670; } svg g.near text.note { fill: #a15c00; }
svg g.over text.note { fill: #c62828; font-weight: 600; }
rect.input { fill: #9ec5f0; } rect.output { fill: #b7dfb0; }
rect.p95.input { fill: #3d7fc4; } rect.p95.output { fill: #4c9a43; }
g.near rect.bar { fill: #f0a53a; } g.near rect.p95 { fill: #c97a0c; }
g.over rect.bar { fill: #e06262; } g.over rect.p95 { fill: #b32020; }
line.min { stroke: #1d232a; stroke-width: 1.5; }
line.limit { stroke: #c62828; stroke-width: 1.5; stroke-dasharray: 5 3; }
line.grid { stroke: #e3e7eb; }
text.limit { fill: #c62828; }
.legend { color: #5b6670; margin: 4px 0 0; }
"""


def _t(text: str) -> str:
    """History text as HTML: control characters as escapes, then markup escaped."""
    return html.escape(visible(text), quote=True)


def _pct(value: int) -> float:
    return 100.0 * value / STATE_LIMIT_BYTES


def _level(stats: SideStats | None) -> str:
    """``over`` past the limit, ``near`` from :data:`NEAR_LIMIT_PERCENT`, else ``ok``."""
    pct = stats.percent_of_limit if stats else 0.0
    return "over" if pct > 100 else "near" if pct >= NEAR_LIMIT_PERCENT else "ok"


def html_report(report: ExecutionReport, *, expand: bool = False) -> str:
    """The whole page (Map iterations grouped unless ``expand``)."""
    rows = report_rows(report.visits, expand=expand)
    payloads = report_payloads(report.visits)
    title = f"sfn-offload inspect: {report.execution_arn.rsplit(':', 1)[-1]}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        f'<head><meta charset="utf-8"/><title>{_t(title)}</title><style>{_CSS}</style></head>',
        "<body>",
        f"<h1>{_t(title)}</h1>",
        _summary(report),
        _errors(report.errors),
        '<section id="chart"><h2>Input and output bytes against the limit</h2>',
        _chart(rows),
        '<p class="legend">Each state run: input (blue) and output (green) inline bytes; the '
        f"dashed line is the {STATE_LIMIT_BYTES:,}-byte limit. A [*] row is a state's runs in a "
        "Map's iterations: the bar reaches the largest, its darker part the 95th percentile, "
        f"the tick the smallest. Orange from {NEAR_LIMIT_PERCENT:.0f}% of the limit, red over "
        "it.</p></section>",
        _rows_table(rows),
        _payloads_table(payloads),
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(part for part in parts if part)


def _summary(report: ExecutionReport) -> str:
    status = _t(report.status)
    facts = [
        ("Execution", f"<dd><code>{_t(report.execution_arn)}</code></dd>"),
        ("Status", f'<dd class="status status-{status}">{status}</dd>'),
        ("History events", f"<dd>{report.events:,}</dd>"),
        ("State runs", f"<dd>{len(report.visits):,}</dd>"),
        ("Limit", f"<dd>{STATE_LIMIT_BYTES:,} bytes per state input or output</dd>"),
        ("Pointers", "<dd>resolved</dd>" if report.resolved else "<dd>not resolved</dd>"),
    ]
    return '<dl id="summary">' + "".join(f"<dt>{k}</dt>{v}" for k, v in facts) + "</dl>"


def _errors(errors: Sequence[str]) -> str:
    if not errors:
        return ""
    items = "".join(f'<li class="error">{_t(error)}</li>' for error in errors)
    return f'<section id="errors"><h2>Errors</h2><ul class="errors">{items}</ul></section>'


def _chart(rows: Sequence[Row]) -> str:
    lines = [(row, side, stats) for row in rows for side, stats in row.sides()]
    largest = max((stats.max_bytes for _, _, stats in lines), default=0)
    top = max(STATE_LIMIT_BYTES, largest) * 1.1  # the scale's end: the limit line fits
    height = _TOP + _ROW_H * len(rows) + 8
    width = _LABEL_W + _BARS_W + _NOTE_W
    limit_x = _LABEL_W + _BARS_W * STATE_LIMIT_BYTES / top
    parts = [
        f'<svg id="sizes" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="bytes per state">',
        f'<line class="grid" x1="{_LABEL_W}" y1="{_TOP - 6}" x2="{_LABEL_W}" y2="{height}"/>',
    ]
    for number, row in enumerate(rows):
        parts.append(_chart_row(row, _TOP + number * _ROW_H, top))
    parts += [
        f'<line class="limit" data-bytes="{STATE_LIMIT_BYTES}" x1="{limit_x:.1f}" '
        f'y1="{_TOP - 6}" x2="{limit_x:.1f}" y2="{height}"/>',
        f'<text class="limit" x="{limit_x:.1f}" y="{_TOP - 10}" text-anchor="middle">'
        f"{STATE_LIMIT_BYTES:,} bytes (limit)</text>",
        "</svg>",
    ]
    return "\n".join(parts)


def _chart_row(row: Row, y: int, top: float) -> str:
    levels = [_level(stats) for _, stats in row.sides()]
    level = max(levels, key=("ok", "near", "over").index, default="ok")
    label = visible(row.label)
    shown = html.escape(label if len(label) <= 40 else label[:39] + "\u2026", quote=True)
    parts = [
        f'<g class="row {level}" data-label="{_t(row.label)}">',
        f'<text x="{_LABEL_W - 8}" y="{y + _BAR_H + 6}" text-anchor="end">{shown}'
        f"<title>{_t(row.label)}</title></text>",
    ]
    for side, stats in row.sides():
        parts.append(_bar(side, stats, y + (2 if side == "input" else 4 + _BAR_H), top))
    parts.append("</g>")
    return "".join(parts)


def _bar(side: str, stats: SideStats, y: int, top: float) -> str:
    def x(value: int) -> float:
        return _LABEL_W + _BARS_W * value / top

    note = f"{side} {stats.max_bytes:,} B ({stats.percent_of_limit:.1f}%)"
    if stats.runs > 1:
        note = (
            f"{side} max {stats.max_bytes:,} B ({stats.percent_of_limit:.1f}%), "
            f"p95 {stats.p95_bytes:,}, min {stats.min_bytes:,}, {stats.runs} runs"
        )
    width = max(x(stats.max_bytes) - _LABEL_W, 1.0)
    parts = [
        f'<rect class="bar {side}" data-side="{side}" data-bytes="{stats.max_bytes}" '
        f'x="{_LABEL_W}" y="{y}" width="{width:.1f}" height="{_BAR_H}"><title>{note}</title>'
        "</rect>"
    ]
    if stats.runs > 1:
        p95 = max(x(stats.p95_bytes) - _LABEL_W, 1.0)
        parts.append(
            f'<rect class="p95 {side}" data-bytes="{stats.p95_bytes}" x="{_LABEL_W}" y="{y}" '
            f'width="{p95:.1f}" height="{_BAR_H}"/>'
        )
        parts.append(
            f'<line class="min" data-bytes="{stats.min_bytes}" x1="{x(stats.min_bytes):.1f}" '
            f'y1="{y - 1}" x2="{x(stats.min_bytes):.1f}" y2="{y + _BAR_H + 1}"/>'
        )
    note_x = _LABEL_W + _BARS_W + 8
    parts.append(f'<text class="note" x="{note_x}" y="{y + _BAR_H - 1}">{note}</text>')
    return "".join(parts)


def _rows_table(rows: Sequence[Row]) -> str:
    head = ("State", "Side", "Runs", "Inline bytes (max)", "% of limit", "Min", "P95")
    numeric = {*head[2:], "Pointers", "Resolved (max)"}
    cells = "".join(
        f'<th class="num">{h}</th>' if h in numeric else f"<th>{h}</th>"
        for h in (*head, "Pointers", "Resolved (max)")
    )
    body = []
    for row in rows:
        for side, stats in row.sides():
            resolved = "error" if stats.errors == stats.runs else _num(stats.resolved_max_bytes)
            spread = (stats.runs, stats.min_bytes, stats.p95_bytes) if row.grouped else ("",) * 3
            values = (
                spread[0],
                stats.max_bytes,
                f"{stats.percent_of_limit:.1f}%",
                *spread[1:],
                stats.pointers,
                resolved,
            )
            tds = "".join(f'<td class="num">{_num(v)}</td>' for v in values)
            body.append(
                f'<tr class="{_level(stats)}" data-grouped="{str(row.grouped).lower()}">'
                f"<td>{_t(row.label)}</td><td>{side}</td>{tds}</tr>"
            )
    return (
        '<section id="states-section"><h2>States</h2><table id="states">'
        f"<thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def _num(value: int | str | None) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else value


def _payloads_table(payloads: Sequence[Payload]) -> str:
    if not payloads:
        return '<section id="pointers-section"><h2>Offloaded payloads</h2><p>None.</p></section>'
    head = "".join(
        f"<th{cls}>{h}</th>"
        for h, cls in (
            ("Backend", ""),
            ("Table or bucket", ""),
            ("Key", ""),
            ("What", ""),
            ("Stored bytes", ' class="num"'),
            ("Resolved bytes", ' class="num"'),
            ("Carried by", ""),
        )
    )
    body = []
    for payload in payloads:
        carriers = "".join(
            f"<li>{_t(c.state)} {c.side} <code>{_t(', '.join(c.paths))}</code>"
            + (f" ({c.runs} runs)" if c.runs > 1 else "")
            + "</li>"
            for c in payload.carriers
        )
        body.append(
            f'<tr class="{"refused" if payload.refused else "ok"}">'
            f"<td>{_t(payload.backend)}</td><td><code>{_t(payload.container)}</code></td>"
            f"<td><code>{_t(payload.key)}</code></td><td>{_t(payload_facts(payload))}</td>"
            f'<td class="num">{_num(payload.stored_bytes)}</td>'
            f'<td class="num">{_num(payload.resolved_bytes)}</td>'
            f'<td><ul class="carriers">{carriers}</ul></td></tr>'
        )
    return (
        '<section id="pointers-section"><h2>Offloaded payloads</h2><table id="pointers">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></section>"
    )
