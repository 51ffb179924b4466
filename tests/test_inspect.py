"""The plain functions behind ``sfn-offload inspect``: references, resolution, history pairing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inspect_history import event
from sfn_offload import OffloadConfig, PointerError
from sfn_offload.cli.history import state_visits
from sfn_offload.cli.report import find_references, resolve
from sfn_offload.errors import PointerNotAllowedError as NotAllowed
from sfn_offload.storage import MemoryStore, PayloadRepository


def repo(**config: Any) -> PayloadRepository:
    return PayloadRepository(
        OffloadConfig(**{"table": "state", "bucket": "state-bucket", **config}),
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
    )


class TestFindReferences:
    def test_finds_every_kind_with_its_path(self) -> None:
        r = repo()
        value = r.write_value("run:report", 0, r.encode({"rows": [1, 2]})).to_dict()
        r.write_items("state", "run:shards", [r.encode([i]) for i in range(3)])
        lst = {"__sfn_offload__": 1, "backend": "dynamodb", "table": "state", "key": "run:shards"}
        lst |= {"count": 3, "items": [1, 1, 1]}
        document = {
            "report": value,
            "shards": lst,
            "nested": [{"shard": {"sfn_offload_list": lst, "sfn_offload_index": 2}}],
            "legacy": {"table_name": "state", "partition_key": "run:x", "key": "x", "index": 4},
            "plain": {"table_name": "not enough"},
        }
        found = {ref.jsonpath: (ref.kind, ref.pointer.index) for ref in find_references(document)}
        assert found == {
            "$.report": ("pointer", 0),
            "$.shards": ("list", 0),
            "$.nested[0].shard": ("element", 2),
            "$.legacy": ("py2sfn", 4),
        }

    def test_py2sfn_map_event_points_at_context_value(self) -> None:
        event = {"items_result_key": "characters", "context_index": "1", "context_value": 1}
        (ref,) = find_references(event, default_table="state", namespace="exec-1")
        assert (ref.jsonpath, ref.kind) == ("$.context_value", "py2sfn-map")
        assert (ref.pointer.container, ref.pointer.key, ref.pointer.index) == (
            "state",
            "exec-1:characters",
            1,
        )

    def test_a_malformed_pointer_names_its_path(self) -> None:
        with pytest.raises(PointerError, match=r"\$\.a\[1\]: unsupported pointer version 2"):
            find_references({"a": [0, {"__sfn_offload__": 2}]})


class TestResolve:
    def test_places_the_data_and_measures_each_reference(self) -> None:
        r = repo()
        rows = [{"n": n} for n in range(100)]
        document = {"status": "ok", "rows": r.write_value("k", 0, r.encode(rows)).to_dict()}
        before = json.dumps(document)
        resolved, refs = resolve(document, find_references(document), r)
        assert resolved == {"status": "ok", "rows": rows}
        assert json.dumps(document) == before  # the input is not modified
        assert refs[0].resolved_bytes == len(json.dumps(rows, separators=(",", ":")))

    def test_untrusted_references_must_be_on_the_allow_list(self) -> None:
        writer = repo(table="other")
        document = {"x": writer.write_value("k", 0, writer.encode(1)).to_dict()}
        reader = PayloadRepository(
            OffloadConfig(table="state"), dynamodb=writer.dynamodb, s3=writer.s3
        )
        with pytest.raises(NotAllowed, match="'other', which is not allowed"):
            resolve(document, find_references(document), reader)
        assert resolve(document, find_references(document), reader, trusted=True)[0] == {"x": 1}


class TestStateVisits:
    def test_nested_maps_and_sibling_iterations_are_told_apart(self) -> None:
        """GIVEN an iteration whose previous event is a sibling's (MaxConcurrency) THEN its
        index is still right, and each exit pairs with its own entry."""
        doc = {"input": "{}"}
        out = {"output": "{}"}
        history = [
            event(1, 0, "MapStateEntered", name="Outer", **doc),
            event(2, 1, "MapIterationStarted", name="Outer", index=0),
            event(3, 2, "MapStateEntered", name="Inner", **doc),
            event(4, 3, "MapIterationStarted", name="Inner", index=0),
            event(5, 4, "TaskStateEntered", name="Work", input='{"i":0}'),
            event(6, 5, "TaskStateExited", name="Work", output='{"o":0}'),
            event(7, 6, "MapIterationSucceeded", name="Inner", index=0),
            event(8, 6, "MapIterationStarted", name="Inner", index=1),  # prev: a sibling's
            event(9, 8, "TaskStateEntered", name="Work", input='{"i":1}'),
            event(10, 9, "TaskStateExited", name="Work", output='{"o":11}'),
            event(11, 10, "MapIterationSucceeded", name="Inner", index=1),
            event(12, 11, "MapStateExited", name="Inner", **out),
            event(13, 12, "MapIterationSucceeded", name="Outer", index=0),
            event(14, 13, "MapStateExited", name="Outer", **out),
        ]
        visits = state_visits(history)
        assert [(v.label, v.entered_event_id, v.exited_event_id) for v in visits] == [
            ("Outer", 1, 14),
            ("Inner [0]", 3, 12),
            ("Work [0] [0]", 5, 6),
            ("Work [0] [1]", 9, 10),
        ]
        assert visits[3].output is not None
        assert visits[3].output.inline_bytes == len('{"o":11}')

    def test_a_state_that_runs_twice_is_two_visits(self) -> None:
        history = [
            event(1, 0, "TaskStateEntered", name="Poll", input="{}"),
            event(2, 1, "TaskStateExited", name="Poll", output='{"n":1}'),
            event(3, 2, "TaskStateEntered", name="Poll", input='{"n":1}'),
            event(4, 3, "TaskStateExited", name="Poll", output='{"n":2}'),
        ]
        assert [(v.entered_event_id, v.exited_event_id) for v in state_visits(history)] == [
            (1, 2),
            (3, 4),
        ]

    def test_truncated_data_is_an_error_not_a_guess(self) -> None:
        history = [
            {
                "id": 1,
                "previousEventId": 0,
                "type": "TaskStateEntered",
                "stateEnteredEventDetails": {
                    "name": "Big",
                    "input": '{"rows": [1, 2',
                    "inputDetails": {"truncated": True},
                },
            }
        ]
        (visit,) = state_visits(history)
        assert visit.input is not None
        assert visit.input.error is not None
        assert "truncated" in visit.input.error
        assert visit.output is None
