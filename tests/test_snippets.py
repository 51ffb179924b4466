"""Every code block in README.md and docs/ is a real file, and every snippet file runs.

A block is tied to its file by the HTML comment on the line before it::

    <!-- snippet: examples/snippets/tour.py#handler -->

``#handler`` names the region between ``# --8<-- [start:handler]`` and ``# --8<-- [end:handler]``
(no region: the whole file). The block must equal that text.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from examples.snippets import handlers
from sfn_offload import OffloadConfig
from sfn_offload.budget import STATE_LIMIT_BYTES
from sfn_offload.storage import PayloadRepository
from sfn_offload.testing import LocalStepFunctions, assert_fits
from sfn_offload.wire import is_pointer

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ASL = ROOT / "examples" / "snippets" / "asl"
_BLOCK = re.compile(
    r"(?:<!-- snippet: (?P<ref>[^ ]+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S
)


def _region(ref: str) -> str:
    path, _, name = ref.partition("#")
    text = (ROOT / path).read_text(encoding="utf-8")
    if not name:
        return text
    match = re.search(
        rf"^[ \t]*# --8<-- \[start:{name}\]\n(.*?)^[ \t]*# --8<-- \[end:{name}\]", text, re.S | re.M
    )
    assert match, f"{path} has no region {name!r}"
    return textwrap.dedent(match.group(1))


def _blocks() -> list[tuple[str, str | None, str, str]]:
    out = []
    for doc in DOCS:
        for match in _BLOCK.finditer(doc.read_text(encoding="utf-8")):
            out.append((doc.name, match["ref"], match["lang"], match["body"]))
    return out


@pytest.mark.parametrize(("doc", "ref", "lang", "body"), _blocks(), ids=lambda v: str(v)[:40])
def test_code_blocks_are_snippet_files(doc: str, ref: str | None, lang: str, body: str) -> None:
    """Python and JSON blocks come from files that tests run; shell blocks are commands."""
    if lang in ("python", "json"):
        assert ref, f"{doc}: a {lang} block without a '<!-- snippet: ... -->' line before it"
    if ref:
        assert body == _region(ref), f"{doc}: block differs from {ref}"
        if lang == "json":
            json.loads(body)


def test_docs_reference_every_asl_snippet() -> None:
    text = "".join(d.read_text(encoding="utf-8") for d in DOCS)
    for asl in ASL.glob("*.asl.json"):
        assert f"examples/snippets/asl/{asl.name}" in text, f"{asl.name} is not shown in the docs"


@pytest.fixture
def local() -> Any:
    with LocalStepFunctions() as kit:
        yield kit


def _orders(n: int) -> list[dict[str, Any]]:
    return [{"id": f"o-{i}", "qty": i % 5 + 1} for i in range(n)]


def test_tour_handler_offloads_report_and_fans_out_shards(local: LocalStepFunctions) -> None:
    from examples.snippets import tour

    local.register("tour", tour.handler)
    definition = {
        "StartAt": "Tour",
        "States": {"Tour": {"Type": "Task", "Resource": "${tour}", "End": True}},
    }
    run = local.run(definition, {"orders": _orders(100)})
    assert run.status == "SUCCEEDED", run.cause
    assert run.output["status"] == "ok"
    assert is_pointer(run.output["report"])
    assert run.output["shards"]["count"] == 10
    assert run.output["shards"]["items"] == [1] * 10
    assert_fits(run.output)


def test_tour_handler_stops_when_the_flag_is_off(
    local: LocalStepFunctions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from examples.snippets import tour

    monkeypatch.setattr(tour, "feature_enabled", lambda: False)
    local.register("tour", tour.handler)
    definition = {
        "StartAt": "Tour",
        "States": {
            "Tour": {
                "Type": "Task",
                "Resource": "${tour}",
                "Parameters": {"orders": [], "sfn_execution_arn.$": "$$.Execution.Id"},
                "Next": "Later",
            },
            "Later": {"Type": "Wait", "Seconds": 60, "End": True},
        },
    }
    run = local.run(definition, {})
    assert (run.status, run.error, run.cause) == (
        "ABORTED",
        "FeatureDisabled",
        "orders-v2 flag is off",
    )


def test_explicit_client_snippet(local: LocalStepFunctions) -> None:
    from examples.snippets import explicit_client

    event = {
        "items_result_table_name": local.table,
        "items_result_partition_key": "exec-1:characters",
        "items_result_key": "characters",
        "context_index": 1,
    }
    out = explicit_client.run(event, "exec-1")
    assert out["jerry"] == {"name": "jerry"}
    assert out["element"] == {"name": "elaine"}
    assert "exec-1:never-written" in out["missing"]


def test_plain_functions_snippet(local: LocalStepFunctions) -> None:
    from examples.snippets import plain_functions

    repo = plain_functions.repository()
    rows = [{"n": i, "pad": "p" * 200} for i in range(500)]
    pointer = repo.write_value("run-42:rows", 0, repo.encode(rows))
    state = plain_functions.round_trip(repo, {"rows": pointer.to_dict()})
    assert state["status"] == "ok"
    assert is_pointer(state["rows"])
    assert repo.read_many([repo_pointer(state["rows"])]) == [rows * 3]


def repo_pointer(wire: dict[str, Any]) -> Any:
    from sfn_offload.wire import Pointer

    return Pointer.from_dict(wire)


# A replay runs no offload, so it adds no metric and Powertools warns about the empty flush.
@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_powertools_stack_snippet_replays_a_result_over_400_kb(
    local: LocalStepFunctions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the documented stack (idempotent above state_offload, DynamoDB persistence on moto)
    and a batch whose report is over 400 KB
    WHEN two executions hand the task the same event
    THEN both outputs are the same: the second replayed the first's pointer (one record, one
    stored report), and the idempotency record holds the small offloaded result."""
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Orders")
    local.client("dynamodb").create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    from examples.snippets import powertools_stack

    repo = PayloadRepository(OffloadConfig.from_env())
    orders = [{"order_id": f"order-{i:06d}", "lines": [{"qty": 2}]} for i in range(15_000)]
    pointer = repo.write_value("run-1:orders", 0, repo.encode(orders))
    local.register("stack", powertools_stack.handler)
    definition = {
        "StartAt": "Stack",
        "States": {"Stack": {"Type": "Task", "Resource": "${stack}", "End": True}},
    }
    stored_before = len(local.stored())

    first = local.run(definition, {"orders": pointer.to_dict()})
    second = local.run(definition, {"orders": pointer.to_dict()})

    assert first.status == "SUCCEEDED", first.cause
    assert second.status == "SUCCEEDED", second.cause
    assert first.output["orders"] == 15_000
    assert first.output["units"] == 30_000
    assert is_pointer(first.output["report"])
    assert first.output["report"]["size"] > 400_000
    assert second.output == first.output
    assert len(local.stored()) == stored_before + 1
    [record] = local.client("dynamodb").scan(TableName="idempotency")["Items"]
    assert len(record["data"]["S"]) < 2_000


def _register_snippet_handlers(local: LocalStepFunctions) -> None:
    for name in ("report", "produce", "work", "combine", "produce_py2sfn", "greet"):
        local.register(name, getattr(handlers, name))


@pytest.mark.parametrize(
    "name",
    ["execution_arn_plain", "execution_arn_invoke", "execution_arn_jsonata"],
)
def test_execution_arn_snippets_pass_the_arn(local: LocalStepFunctions, name: str) -> None:
    _register_snippet_handlers(local)
    run = local.run(ASL / f"{name}.asl.json", {"orders": _orders(3)}, name=f"snippet-{name}")
    assert run.status == "SUCCEEDED", run.cause
    report = run.output["report"]
    report = report.get("Payload", report)
    assert report["execution_arn"] == run.arn
    assert report["order_count"] == 3
    assert is_pointer(report["detail"])
    assert all(s.largest <= STATE_LIMIT_BYTES for s in run.state_sizes())


def test_map_fan_out_snippet(local: LocalStepFunctions) -> None:
    _register_snippet_handlers(local)
    run = local.run(ASL / "map_fan_out.asl.json", {})
    assert run.status == "SUCCEEDED", run.cause
    assert run.output == {"total": sum(range(80)), "shards": 8}


def test_py2sfn_map_snippet(local: LocalStepFunctions) -> None:
    _register_snippet_handlers(local)
    run = local.run(ASL / "py2sfn_map.asl.json", {})
    assert run.status == "SUCCEEDED", run.cause
    assert run.output == [{"greeting": "hello jerry"}, {"greeting": "hello elaine"}]


def test_testing_your_code_snippet(local: LocalStepFunctions) -> None:
    from examples.snippets import testing_your_code

    assert testing_your_code.pytest_plugins == ["sfn_offload.testing"]
    testing_your_code.test_report_fits_the_state_limit(local)


def test_pointer_example_is_a_valid_pointer() -> None:
    from sfn_offload.wire import Pointer

    wire = json.loads((ROOT / "examples" / "snippets" / "pointer_v1.json").read_text())
    pointer = Pointer.from_dict(wire)
    assert pointer.to_dict() == wire
    assert pointer.wire_size() <= 400


def test_distributed_map_snippet(local: LocalStepFunctions) -> None:
    for name in ("write_items", "measure", "summarize"):
        local.register(name, getattr(handlers, name))
    run = local.run(ASL / "distributed_map.asl.json", {})
    assert run.status == "SUCCEEDED", run.cause
    assert run.output["documents"] == 200
    assert run.output["words"] == 4 * 60_000 + 196 * 20


def test_custom_store_snippet_runs_a_decorated_handler_on_sqlite() -> None:
    """GIVEN the SQLite store of docs/architecture.md plugged into a repository
    WHEN a decorated handler returns 50,000 rows THEN they are offloaded and read back."""
    from examples.snippets import custom_store

    out = custom_store.demo()
    state = out["state"]
    assert isinstance(state, dict)
    assert state["status"] == "ok"
    assert is_pointer(state["rows"])
    assert out["rows"] == [{"id": i} for i in range(50_000)]
