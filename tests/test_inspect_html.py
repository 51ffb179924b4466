"""Issue #16: ``inspect --html`` writes one self-contained page: a chart of every row's input and
output bytes against 262,144, the rows as a table, each payload once, and the errors; nothing
from the history can become markup."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from inspect_history import ARN, History, fan_out_history
from sfn_offload.cli.history import inspect_execution
from sfn_offload.cli.html_report import html_report
from sfn_offload.cli.model import ExecutionReport
from sfn_offload.cli.render import visible
from sfn_offload.storage import PayloadRepository

HOSTILE = '<script>alert("x")</script>\x1b[31m&amp;'
SHOWN = visible(HOSTILE)  # what a reader sees: the ESC as \x1b, the markup as text
ITERATIONS = 50
NEAR = 220_000  # bytes of padding in Sum's input: 83.9% of the limit
LIMIT = 262_144


def build(*, refuse: bool = False) -> tuple[ExecutionReport, list[int]]:
    built = fan_out_history(ITERATIONS, work_name=HOSTILE, extra_input={"Sum": NEAR})
    repo = built.repo
    if refuse:
        config = repo.config.replace(allowed_tables=frozenset({"elsewhere"}))
        repo = PayloadRepository(config, dynamodb=repo.dynamodb, s3=repo.s3)
    report = inspect_execution(History(built.events), ARN, repo)  # type: ignore[arg-type]
    return report, built.work_inputs


@pytest.fixture(scope="module")
def page() -> str:
    return html_report(build()[0])


@pytest.fixture(scope="module")
def root(page: str) -> ET.Element:
    return ET.fromstring(page)  # well-formed: it parses as XML too


def text(element: ET.Element) -> str:
    return "".join(element.itertext()).strip()


def cells(table: ET.Element) -> list[list[str]]:
    rows = [tr for tr in table.iter("tr") if tr.find("td") is not None]
    return [[text(td) for td in tr.iter("td")] for tr in rows]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs


def test_the_page_is_self_contained_and_the_history_stays_text(page: str, root: ET.Element) -> None:
    """GIVEN a state named ``<script>...</script>`` + ESC WHEN the page is written THEN the
    name shows as text (escaped), and the page loads nothing and runs nothing."""
    parser = _Tags()
    parser.feed(page)
    assert {"script", "link", "img", "iframe", "object", "embed"}.isdisjoint(parser.tags)
    assert not [name for name, _ in parser.attributes if name.startswith("on")]
    assert not [v for name, v in parser.attributes if name in ("src", "href")]
    assert "\x1b" not in page
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\\x1b[31m&amp;amp;" in page
    assert root.tag == "html"
    assert not [e for e in root.iter() if e.tag == "script"]
    assert text(root.find("./head/title")) == "sfn-offload inspect: run-42"  # type: ignore[arg-type]


def test_summary_names_the_execution_and_status(root: ET.Element) -> None:
    summary = root.find(".//dl[@id='summary']")
    assert summary is not None
    terms, values = [text(e) for e in summary.iter("dt")], [text(e) for e in summary.iter("dd")]
    facts = dict(zip(terms, values, strict=True))
    assert facts["Execution"] == ARN
    assert facts["Status"] == "SUCCEEDED"
    assert facts["State runs"] == str(3 + ITERATIONS)
    assert facts["Limit"] == "262,144 bytes per state input or output"
    assert root.find(".//section[@id='errors']") is None


def test_the_chart_has_a_row_per_state_and_the_limit_line(root: ET.Element) -> None:
    report, _ = build()
    svg = root.find(".//svg[@id='sizes']")
    assert svg is not None
    rows = [g for g in svg.iter("g") if "row" in (g.get("class") or "").split()]
    assert [g.get("data-label") for g in rows] == ["Load", "Fan", f"{SHOWN} [*]", "Sum"]
    limit = svg.find("./line[@class='limit']")
    assert limit is not None
    assert limit.get("data-bytes") == str(LIMIT)
    # nothing passes the limit, so the scale ends at 110% of it
    assert float(limit.get("x1", "")) == pytest.approx(300 + 560 / 1.1, abs=0.1)
    assert [text(t) for t in svg.iter("text") if t.get("class") == "limit"] == [
        "262,144 bytes (limit)"
    ]
    sum_row = rows[3]
    assert sum_row.get("class") == "row near"  # 83.9% >= 80%
    assert rows[0].get("class") == "row ok"
    (sum_input,) = [r for r in sum_row.iter("rect") if r.get("data-side") == "input"]
    sum_bytes = report.visits[-1].input.inline_bytes  # type: ignore[union-attr]
    assert sum_input.get("data-bytes") == str(sum_bytes)
    assert float(sum_input.get("width", "")) == pytest.approx(560 * sum_bytes / (LIMIT * 1.1), 0.01)
    notes = [text(t) for t in sum_row.iter("text") if t.get("class") == "note"]
    assert notes[0] == f"input {sum_bytes:,} B ({100 * sum_bytes / LIMIT:.1f}%)"


def test_a_map_group_bar_shows_max_p95_and_min(root: ET.Element) -> None:
    _, inputs = build()
    ordered = sorted(inputs)
    p95 = ordered[math.ceil(0.95 * ITERATIONS) - 1]
    svg = root.find(".//svg[@id='sizes']")
    assert svg is not None
    (group,) = [g for g in svg.iter("g") if g.get("data-label") == f"{SHOWN} [*]"]
    bar = group.find("./rect[@class='bar input']")
    assert bar is not None
    assert bar.get("data-bytes") == str(ordered[-1])
    assert group.find("./rect[@class='p95 input']").get("data-bytes") == str(p95)  # type: ignore[union-attr]
    assert group.find("./line[@class='min']").get("data-bytes") == str(ordered[0])  # type: ignore[union-attr]
    notes = [text(t) for t in group.iter("text") if t.get("class") == "note"]
    assert notes[0] == (
        f"input max {ordered[-1]:,} B ({100 * ordered[-1] / LIMIT:.1f}%), p95 {p95:,}, "
        f"min {ordered[0]:,}, {ITERATIONS} runs"
    )


def test_the_states_table_groups_the_map(root: ET.Element) -> None:
    _, inputs = build()
    ordered = sorted(inputs)
    table = root.find(".//table[@id='states']")
    assert table is not None
    rows = cells(table)
    assert [(r[0], r[1]) for r in rows] == [
        ("Load", "input"),
        ("Load", "output"),
        ("Fan", "input"),
        ("Fan", "output"),
        (f"{SHOWN} [*]", "input"),
        (f"{SHOWN} [*]", "output"),
        ("Sum", "input"),
        ("Sum", "output"),
    ]
    work = rows[4]
    p95 = ordered[math.ceil(0.95 * ITERATIONS) - 1]
    assert work[2:9] == [
        str(ITERATIONS),
        f"{ordered[-1]:,}",
        f"{100 * ordered[-1] / LIMIT:.1f}%",
        f"{ordered[0]:,}",
        f"{p95:,}",
        str(ITERATIONS),  # one element reference per run
        work[8],
    ]
    assert rows[0][2] == ""  # single runs: no count, min or p95
    assert rows[0][5:7] == ["", ""]
    trs = [tr for tr in table.iter("tr") if tr.find("td") is not None]
    assert trs[6].get("class") == "near"
    assert trs[4].get("data-grouped") == "true"


def test_each_payload_is_one_row_with_its_carriers(root: ET.Element) -> None:
    table = root.find(".//table[@id='pointers']")
    assert table is not None
    rows = cells(table)
    assert len(rows) == 2
    listed, value = rows
    assert listed[:2] == ["dynamodb", "state"]
    assert listed[2].endswith(":shards")
    assert listed[3].startswith(f"list of {ITERATIONS} elements, ")
    carriers = [
        [text(li) for li in tr.iter("li")] for tr in table.iter("tr") if tr.find("td") is not None
    ]
    assert carriers[0] == [
        "Load output $.shards",
        "Fan input $.shards",
        f"{SHOWN} [*] input $.shard ({ITERATIONS} runs)",
    ]
    assert value[4:6] == [str(len(b'{"total":7}'))] * 2  # stored and resolved bytes
    assert carriers[1] == ["Load output $.v", "Fan output $.v", "Sum input $.v"]


def test_refusals_are_one_error_on_the_page() -> None:
    root = ET.fromstring(html_report(build(refuse=True)[0]))
    errors = root.find(".//section[@id='errors']")
    assert errors is not None
    (item,) = list(errors.iter("li"))
    assert "table 'state' (52 pointers)" in text(item)
    assert "--allow-any" in text(item)
    refused = [tr for tr in root.iter("tr") if tr.get("class") == "refused"]
    assert len(refused) == 2


def test_the_same_report_gives_the_same_page(page: str) -> None:
    assert html_report(build()[0]) == page
