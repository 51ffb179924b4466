"""Fan-out: lists marked wherever they were built, and nested fan-out lists."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sfn_offload import (
    OffloadConfig,
    fan_out,
    hydrate,
    offload,
    state_offload,
)
from sfn_offload.budget import STATE_LIMIT_BYTES
from sfn_offload.errors import StateShapeError
from sfn_offload.steps import parse_path
from sfn_offload.storage import MemoryStore, PayloadRepository
from sfn_offload.testing.quotas import state_bytes


def _repo() -> PayloadRepository:
    return PayloadRepository(
        OffloadConfig(table="state", bucket="state-bucket"),
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
    )


@functools.lru_cache
def _catalog() -> list[dict[str, int]]:
    return fan_out([{"id": i} for i in range(3)])


def test_fan_out_lists_built_in_a_cache_a_thread_or_a_task_are_still_fanned_out() -> None:
    repo = _repo()

    @state_offload(repository=repo)
    def cached(event: Any, context: Any) -> Any:
        return {"rows": _catalog()}

    @state_offload(repository=repo)
    def threaded(event: Any, context: Any) -> Any:
        with ThreadPoolExecutor(1) as pool:
            return {"rows": pool.submit(lambda: fan_out([1, 2, 3])).result()}

    async def build() -> list[int]:
        return fan_out([1, 2, 3])

    @state_offload(repository=repo)
    async def tasked(event: Any, context: Any) -> Any:
        return {"rows": await asyncio.create_task(build())}

    for out in (
        cached({}, None),
        cached({}, None),
        threaded({}, None),
        tasked({}, None),
    ):
        assert out["rows"]["__sfn_offload__"] == 1
        assert out["rows"]["items"] == [1, 1, 1]


def test_nested_fan_out_paths_store_the_inner_lists_first() -> None:
    repo = _repo()
    out = offload(
        {"a": [{"b": [1, 2]}, {"b": [3]}]},
        repo,
        namespace="ns",
        budget=100_000,
        fan_out_paths=[parse_path("a"), parse_path("a[0].b")],
    )
    assert out["a"]["count"] == 2
    elements = hydrate(out, repo)["a"]  # loaded data is not rescanned: one level per hydrate
    assert elements[1] == {"b": [3]}
    assert elements[0]["b"]["count"] == 2
    assert hydrate(elements[0], repo) == {"b": [1, 2]}


def test_where_the_map_at_scale_shape_ends() -> None:
    """The figures docs/maps.md gives for where an Inline-style Map stops fitting the state:
    a fan-out list's placeholder array (2 bytes an element) fits at 80,000 elements and is
    refused with StateShapeError at 85,000; a Map's raw list of iteration indices, which AWS
    measures without a ResultWriter, is 258,891 bytes at 45,000 and over 262,144 at 46,000."""
    arn = "arn:aws:states:us-east-1:123456789012:execution:m:r1"
    repo = _repo()

    def split(n: int) -> Any:
        @state_offload(repository=repo)
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return {"shards": fan_out([{"i": i} for i in range(n)])}

        return handler({"sfn_execution_arn": arn}, None)

    assert 160_000 < state_bytes(split(80_000)) < 161_000  # "about 160 KB"
    with pytest.raises(StateShapeError, match="85000 elements"):
        split(85_000)
    assert state_bytes(list(range(45_000))) == 258_891 <= STATE_LIMIT_BYTES
    assert state_bytes(list(range(46_000))) > STATE_LIMIT_BYTES
