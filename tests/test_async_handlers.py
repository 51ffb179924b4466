"""``async def`` handlers: a plain call runs them (the Lambda runtime never awaits), on one event
loop per thread kept across invocations; ``.aio`` is the awaitable form, whose blocking steps
run in worker threads."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from fakes import FakeLambdaContext, memory_repo
from sfn_offload import OffloadConfig, state_offload
from sfn_offload.errors import RunningLoopError, SfnOffloadError
from sfn_offload.storage import Address, MemoryStore, PayloadRepository, Record
from sfn_offload.wire import is_pointer

BIG = "x" * 20_000


def test_two_calls_on_one_thread_share_one_kept_loop_and_its_loop_bound_objects() -> None:
    """GIVEN an async handler that keeps an asyncio.Queue (bound to the loop of its first use)
    WHEN it is called twice on the same thread, as a warm Lambda would be
    THEN both calls ran on the same loop and the second could still use the queue (with
    asyncio.run per call, the second call would fail: the queue's loop would be closed)."""
    loops: list[asyncio.AbstractEventLoop] = []
    queue: list[asyncio.Queue[int]] = []

    @state_offload(repository=memory_repo())
    async def handler(event: dict[str, Any], context: Any) -> int:
        loops.append(asyncio.get_running_loop())
        if not queue:
            queue.append(asyncio.Queue())
        await queue[0].put(event["n"])
        return await queue[0].get()

    assert handler({"n": 1}, FakeLambdaContext()) == 1
    assert handler({"n": 2}, FakeLambdaContext()) == 2
    assert loops[0] is loops[1]
    assert not loops[0].is_closed()


def test_each_thread_gets_its_own_loop_closed_when_the_thread_ends() -> None:
    """GIVEN an async handler called on a worker thread
    WHEN the thread has ended
    THEN its loop was not the caller's, and it is closed (no unclosed-loop ResourceWarning)."""
    loops: list[asyncio.AbstractEventLoop] = []

    @state_offload(repository=memory_repo())
    async def handler(event: Any, context: Any) -> str:
        loops.append(asyncio.get_running_loop())
        return "ok"

    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(handler({}, FakeLambdaContext())))
    worker.start()
    worker.join()
    handler({}, FakeLambdaContext())
    gc.collect()

    assert results == ["ok"]
    assert loops[0] is not loops[1]
    assert loops[0].is_closed()


def test_calling_the_sync_form_inside_a_running_loop_names_the_awaitable_form() -> None:
    """GIVEN a decorated async handler
    WHEN its sync form is called from a coroutine (this thread runs a loop)
    THEN RunningLoopError (a RuntimeError and an SfnOffloadError) names `.aio`, the handler did
    not run, and no coroutine was left un-awaited (the suite turns that warning into an
    error)."""
    runs: list[int] = []
    repo = memory_repo()

    @state_offload(repository=repo)
    async def fetch(event: Any, context: Any) -> None:
        runs.append(1)

    async def caller() -> None:
        fetch({}, FakeLambdaContext())

    with pytest.raises(RunningLoopError, match=r"await fetch\.aio\(event, context\)") as caught:
        asyncio.run(caller())

    assert isinstance(caught.value, RuntimeError)
    assert isinstance(caught.value, SfnOffloadError)
    assert runs == []


def test_the_awaitable_form_runs_on_the_callers_loop() -> None:
    """GIVEN a decorated async handler
    WHEN it is awaited through .aio inside asyncio.run
    THEN the handler ran on the caller's loop and its big result was offloaded."""
    seen: list[asyncio.AbstractEventLoop] = []

    @state_offload(repository=memory_repo(), max_inline_bytes=5_000)
    async def handler(event: Any, context: Any) -> dict[str, Any]:
        seen.append(asyncio.get_running_loop())
        return {"report": BIG}

    async def caller() -> tuple[dict[str, Any], asyncio.AbstractEventLoop]:
        out = await handler.aio({}, FakeLambdaContext())
        return out, asyncio.get_running_loop()

    out, loop = asyncio.run(caller())

    assert seen == [loop]
    assert is_pointer(out["report"])


class _RendezvousStore(MemoryStore):
    """A store whose writes wait (in the calling thread) until ``parties`` writers are inside.

    If the awaitable form ran its blocking writes on the event loop's thread, the first write
    would hold the loop and the second invocation could never arrive: the barrier breaks.
    """

    def __init__(self, parties: int) -> None:
        super().__init__("dynamodb")
        self.barrier = threading.Barrier(parties, timeout=30)
        self.inside = 0
        self.most_inside = 0
        self._inside_lock = threading.Lock()

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        with self._inside_lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            self.barrier.wait()
        finally:
            with self._inside_lock:
                self.inside -= 1
        super().put_many(entries)


def test_two_concurrent_awaitable_invocations_overlap_in_their_blocking_writes() -> None:
    """GIVEN a decorated async handler whose offload writes rendezvous with each other
    WHEN two invocations are awaited concurrently on one loop (asyncio.gather)
    THEN both were inside a write at the same time (the loop was never blocked by one), and
    both results are pointers."""
    store = _RendezvousStore(parties=2)
    repo = PayloadRepository(OffloadConfig(table="state"), dynamodb=store, s3=MemoryStore("s3"))

    @state_offload(repository=repo, max_inline_bytes=5_000)
    async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"report": BIG + str(event["n"])}

    async def both() -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(
                handler.aio({"n": 1}, FakeLambdaContext()),
                handler.aio({"n": 2}, FakeLambdaContext()),
            )
        )

    results = asyncio.run(both())

    assert store.most_inside == 2
    assert all(is_pointer(r["report"]) for r in results)
    assert results[0]["report"] != results[1]["report"]
