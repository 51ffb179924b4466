"""A synthetic execution history for the ``inspect`` tests: a Task that fans a list out, a Map
over it, and a Task that reads a value pointer, with payloads in in-memory stores."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sfn_offload import OffloadConfig
from sfn_offload._identity import resolve_identity
from sfn_offload.storage import MemoryStore, PayloadRepository
from sfn_offload.wire import Pointer

ARN = "arn:aws:states:us-east-1:123456789012:execution:orders:run-42"
NAMESPACE = resolve_identity({"sfn_execution_arn": ARN}, None).namespace


def event(eid: int, prev: int, kind: str, **details: Any) -> dict[str, Any]:
    """A history event as GetExecutionHistory returns it."""
    if kind.endswith(("StateEntered", "StateExited")):
        key = "stateEnteredEventDetails" if kind.endswith("Entered") else "stateExitedEventDetails"
    else:
        key = f"{kind[0].lower()}{kind[1:]}EventDetails"  # mapIterationStartedEventDetails
    return {"id": eid, "previousEventId": prev, "type": kind, key: details}


class History:
    """A Step Functions client that only returns one execution's history."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def get_execution_history(self, **_: Any) -> dict[str, Any]:
        return {"events": self.events, "nextToken": None}


@dataclass
class FanOut:
    """What :func:`fan_out_history` built: the events, the store and the sizes to expect."""

    events: list[dict[str, Any]]
    repo: PayloadRepository
    list_pointer: dict[str, Any]
    value_pointer: dict[str, Any]
    work_inputs: list[int]  # each iteration's input bytes, in index order
    elements: list[Any]


def repository(**config: Any) -> PayloadRepository:
    return PayloadRepository(
        OffloadConfig(**{"table": "state", "bucket": "state-bucket", **config}),
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
    )


def fan_out_history(
    iterations: int, *, work_name: str = "Work", extra_input: dict[str, int] | None = None
) -> FanOut:
    """``Load`` -> ``Fan`` (a Map: one ``work_name`` run per element) -> ``Sum``.

    Iteration ``i``'s input carries an element reference and ``i * 7 % 23`` padding bytes (so
    sizes differ, not in index order); ``extra_input`` adds bytes of padding to named states'
    inputs (to reach the limit).
    """
    repo = repository()
    elements = [{"shard": i, "rows": list(range(i % 5))} for i in range(iterations)]
    key = f"{NAMESPACE}:shards"
    digest = repo.write_items("state", key, [repo.encode(e) for e in elements])
    lst = Pointer("dynamodb", "state", key, count=iterations, sha256=digest).to_dict()
    value = repo.write_value(f"{NAMESPACE}:total", 0, repo.encode({"total": 7})).to_dict()
    pad = extra_input or {}

    def text(name: str, document: dict[str, Any]) -> str:
        return json.dumps({**document, "pad": "p" * pad.get(name, 0)}, separators=(",", ":"))

    events = [
        event(1, 0, "TaskStateEntered", name="Load", input=text("Load", {})),
        event(2, 1, "TaskStateExited", name="Load", output=json.dumps({"shards": lst, "v": value})),
        event(3, 2, "MapStateEntered", name="Fan", input=text("Fan", {"shards": lst})),
    ]
    inputs = []
    prev = 3
    for i in range(iterations):
        body = text(work_name, {"shard": {"sfn_offload_list": lst, "sfn_offload_index": i}})
        body = body[:-1] + "," + json.dumps({"x": "y" * (i * 7 % 23)})[1:]
        inputs.append(len(body.encode("utf-8")))
        eid = len(events) + 1
        events += [
            event(eid, prev, "MapIterationStarted", name="Fan", index=i),
            event(eid + 1, eid, "TaskStateEntered", name=work_name, input=body),
            event(eid + 2, eid + 1, "TaskStateExited", name=work_name, output='{"ok":1}'),
            event(eid + 3, eid + 2, "MapIterationSucceeded", name="Fan", index=i),
        ]
        prev = eid + 3
    eid = len(events) + 1
    events += [
        event(eid, prev, "MapStateExited", name="Fan", output=json.dumps({"v": value})),
        event(eid + 1, eid, "TaskStateEntered", name="Sum", input=text("Sum", {"v": value})),
        event(eid + 2, eid + 1, "TaskStateExited", name="Sum", output="{}"),
        event(eid + 3, eid + 2, "ExecutionSucceeded"),
    ]
    return FanOut(events, repo, lst, value, inputs, elements)
