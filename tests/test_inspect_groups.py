"""Issue #16: ``inspect`` groups a Map's iterations, lists each payload once with the states that
carried it, merges the allow-list's refusals into one message, and ``--state`` on a Map brings
its iterations."""

from __future__ import annotations

import math

import pytest

from inspect_history import ARN, History, event, fan_out_history
from sfn_offload.cli.groups import SideStats, percentile, report_rows
from sfn_offload.cli.history import inspect_execution, state_visits
from sfn_offload.cli.model import ExecutionReport
from sfn_offload.cli.payloads import Carrier, report_payloads
from sfn_offload.storage import PayloadRepository
from sfn_offload.storage.base import Address

ITERATIONS = 50


def inspect(
    iterations: int = ITERATIONS, repo: PayloadRepository | None = None, **kwargs: object
) -> tuple[ExecutionReport, list[int]]:
    built = fan_out_history(iterations)
    report = inspect_execution(
        History(built.events),  # type: ignore[arg-type]
        ARN,
        repo or built.repo,
        **kwargs,  # type: ignore[arg-type]
    )
    return report, built.work_inputs


@pytest.mark.parametrize(
    ("values", "expected"),
    [([7], 7), ([3, 1, 2], 3), (list(range(1, 21)), 19), (list(range(100, 0, -1)), 95)],
)
def test_p95_is_the_nearest_rank(values: list[int], expected: int) -> None:
    assert percentile(values, 95) == expected


class TestGrouping:
    def test_fifty_iterations_are_one_row_with_count_min_p95_max(self) -> None:
        """GIVEN a Map of 50 iterations WHEN the rows are built THEN its state is one row whose
        input statistics are those of the 50 runs."""
        report, inputs = inspect()
        rows = report_rows(report.visits)
        assert [(r.label, r.runs, r.grouped) for r in rows] == [
            ("Load", 1, False),
            ("Fan", 1, False),
            ("Work [*]", ITERATIONS, True),
            ("Sum", 1, False),
        ]
        work = rows[2]
        ordered = sorted(inputs)
        assert len(set(inputs)) > 10  # the sizes really differ
        assert work.input is not None
        assert work.input.runs == ITERATIONS
        assert work.input.min_bytes == ordered[0]
        assert work.input.max_bytes == ordered[-1]
        assert work.input.p95_bytes == ordered[math.ceil(0.95 * ITERATIONS) - 1]
        assert work.input.pointers == ITERATIONS  # one element reference per run
        assert work.input.errors == 0
        assert work.output == SideStats(ITERATIONS, 8, 8, 8, 0, 8, 0)  # '{"ok":1}'
        assert work.to_json()["iterations"] == [[i] for i in range(ITERATIONS)]

    def test_expand_gives_a_row_per_iteration(self) -> None:
        report, inputs = inspect()
        rows = report_rows(report.visits, expand=True)
        assert len(rows) == 3 + ITERATIONS
        assert [r.label for r in rows[2:5]] == ["Work [0]", "Work [1]", "Work [2]"]
        assert not any(r.grouped for r in rows)
        assert [r.input.max_bytes for r in rows[2:-1] if r.input] == inputs

    def test_nested_maps_group_each_level(self) -> None:
        doc, out = {"input": "{}"}, {"output": "{}"}
        history = [event(1, 0, "MapStateEntered", name="Outer", **doc)]
        for i in range(2):
            base = len(history)
            history += [
                event(base + 1, base, "MapIterationStarted", name="Outer", index=i),
                event(base + 2, base + 1, "MapStateEntered", name="Inner", **doc),
            ]
            for j in range(3):
                n = len(history)
                history += [
                    event(n + 1, n, "MapIterationStarted", name="Inner", index=j),
                    event(n + 2, n + 1, "TaskStateEntered", name="Work", input="[" * (j + 1)),
                    event(n + 3, n + 2, "TaskStateExited", name="Work", **out),
                    event(n + 4, n + 3, "MapIterationSucceeded", name="Inner", index=j),
                ]
            n = len(history)
            history += [
                event(n + 1, n, "MapStateExited", name="Inner", **out),
                event(n + 2, n + 1, "MapIterationSucceeded", name="Outer", index=i),
            ]
        visits = state_visits(history)
        assert {v.maps for v in visits if v.name == "Work"} == {("Outer", "Inner")}
        rows = report_rows(visits)
        assert [(r.label, r.runs) for r in rows] == [
            ("Outer", 1),
            ("Inner [*]", 2),
            ("Work [*] [*]", 6),
        ]
        assert rows[2].input is not None
        assert (rows[2].input.min_bytes, rows[2].input.max_bytes) == (1, 3)

    def test_a_map_run_twice_gives_two_groups(self) -> None:
        history = []
        for run in range(2):
            n = len(history)
            history += [
                event(n + 1, n, "MapStateEntered", name="Fan", input="{}"),
                event(n + 2, n + 1, "MapIterationStarted", name="Fan", index=0),
                event(n + 3, n + 2, "TaskStateEntered", name="Work", input="1" * (run + 1)),
                event(n + 4, n + 3, "MapIterationSucceeded", name="Fan", index=0),
                event(n + 5, n + 4, "MapStateExited", name="Fan", output="{}"),
            ]
        rows = report_rows(state_visits(history))
        assert [(r.label, r.input.max_bytes if r.input else None) for r in rows] == [
            ("Fan", 2),
            ("Work [*]", 1),
            ("Fan", 2),
            ("Work [*]", 2),
        ]


def test_state_filter_on_a_map_brings_its_iterations() -> None:
    """docs/cli.md: ``--state NAME`` keeps that state, and a Map's iterations with it."""
    report, _ = inspect(states=["Fan"])
    assert [v.label for v in report.visits[:3]] == ["Fan", "Work [0]", "Work [1]"]
    assert len(report.visits) == 1 + ITERATIONS
    assert report.state_names == ["Load", "Fan", "Work", "Sum"]
    only_work, _ = inspect(states=["Work"])
    assert {v.name for v in only_work.visits} == {"Work"}


class TestPayloads:
    def test_each_payload_once_with_the_states_that_carried_it(self) -> None:
        report, _ = inspect()
        listed, value = report_payloads(report.visits)
        assert (listed.backend, listed.container) == ("dynamodb", "state")
        assert listed.key.endswith(":shards")
        assert listed.kinds == ("list", "element")
        assert (listed.count, listed.elements) == (ITERATIONS, ITERATIONS)
        assert listed.address == f"dynamodb table 'state' partition_key {listed.key!r}"
        assert listed.carriers == (
            Carrier("Load", "output", ("$.shards",), 1),
            Carrier("Fan", "input", ("$.shards",), 1),
            Carrier("Work [*]", "input", ("$.shard",), ITERATIONS),
        )
        assert listed.resolved_bytes is not None
        assert listed.resolved_bytes > sum(len(str(i)) for i in range(ITERATIONS))
        assert value.kinds == ("pointer",)
        assert value.stored_bytes == len(b'{"total":7}')
        assert value.resolved_bytes == len(b'{"total":7}')
        assert [(c.state, c.side) for c in value.carriers] == [
            ("Load", "output"),
            ("Fan", "output"),
            ("Sum", "input"),
        ]
        pointers = report.to_json()["pointers"]
        assert [p["key"] for p in pointers] == [listed.key, value.key]
        assert pointers[0]["carried_by"][2] == {
            "state": "Work [*]",
            "side": "input",
            "paths": ["$.shard"],
            "runs": ITERATIONS,
        }

    def test_elements_read_one_by_one_add_up_when_the_list_is_not_resolved(self) -> None:
        report, _ = inspect(states=["Work"])
        (listed,) = report_payloads(report.visits)
        assert listed.kinds == ("element",)
        sizes = [r.resolved_bytes for v in report.visits if v.input for r in v.input.references]
        assert listed.resolved_bytes == sum(s for s in sizes if s is not None)


class TestRefusals:
    def test_refusals_by_the_allow_list_are_one_message(self) -> None:
        """GIVEN pointers to a table off the allow-list in 54 inputs/outputs WHEN inspected
        THEN one error names the table, the pointer count and the options that allow it."""
        built = fan_out_history(ITERATIONS)
        reader = PayloadRepository(
            built.repo.config.replace(allowed_tables=frozenset({"elsewhere"})),
            dynamodb=built.repo.dynamodb,
            s3=built.repo.s3,
        )
        report = inspect_execution(History(built.events), ARN, reader)  # type: ignore[arg-type]
        (message,) = report.errors
        # the list, its 50 elements and the value pointer; in Load's output, Fan's input and
        # output, the 50 Work inputs and Sum's input
        assert message.startswith(f"{ITERATIONS + 2} pointer(s) in {ITERATIONS + 4} state ")
        assert f"table 'state' ({ITERATIONS + 2} pointers)" in message
        assert "--table state" in message
        assert "--allow-any" in message
        assert "bucket 'state-bucket'" not in message  # the bucket is allowed
        assert "--bucket" not in message
        refused = [d for v in report.visits for _, d in v.sides() if d.refused]
        assert len(refused) == ITERATIONS + 4
        assert all(d.error and "not allowed" in d.error for d in refused)
        assert report.to_json()["errors"] == [message]

    def test_other_errors_stay_per_state(self) -> None:
        """GIVEN a list element that was deleted WHEN inspected THEN each input or output that
        needed it reports its own error (nothing is merged: they are not refusals)."""
        built = fan_out_history(3)
        built.repo.dynamodb.delete_many([Address("state", built.list_pointer["key"], 1)])
        report = inspect_execution(History(built.events), ARN, built.repo)  # type: ignore[arg-type]
        assert [e.split(": ", 1)[0] for e in report.errors] == [
            "Load output",
            "Fan input",
            "Work [1] input",
        ]
        assert not any(d.refused for v in report.visits for _, d in v.sides())
