"""The awaitable form (``handler.aio``) never blocks its event loop with the library's I/O:
hydration's reads (value pointers and whole lists) and the StopExecution call of two concurrent
invocations are in flight at the same time. (Offload's writes: tests/test_async_handlers.py.)

Each store or client below waits, in the calling thread, until two callers are inside it. Run on
the event loop's thread, the first caller would hold the loop and the second could never arrive:
the barrier would break (after its timeout) instead of counting two. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from fakes import EXECUTION_ARN, FakeLambdaContext
from sfn_offload import OffloadConfig, StopExecution, state_offload
from sfn_offload.storage import Address, AwsClients, MemoryStore, PayloadRepository, Record
from sfn_offload.wire import Pointer


class _Rendezvous:
    """Counts callers inside; each waits until ``parties`` are."""

    def __init__(self, parties: int = 2) -> None:
        self.barrier = threading.Barrier(parties, timeout=30)
        self.inside = 0
        self.most_inside = 0
        self._lock = threading.Lock()

    def meet(self) -> None:
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            self.barrier.wait()
        finally:
            with self._lock:
                self.inside -= 1


class _ReadRendezvousStore(MemoryStore):
    """A DynamoDB stand-in whose reads (batched gets and partition queries) rendezvous."""

    def __init__(self) -> None:
        super().__init__("dynamodb")
        self.reads = _Rendezvous()
        self.meeting = False

    def get_many(self, addresses: Sequence[Address]) -> dict[Address, Record]:
        if self.meeting:
            self.reads.meet()
        return super().get_many(addresses)

    def query(self, table: str, partition_key: str, **options: Any) -> list[tuple[int, Record]]:
        if self.meeting:
            self.reads.meet()
        return super().query(table, partition_key, **options)


def _repo(store: MemoryStore, **clients: Any) -> PayloadRepository:
    return PayloadRepository(
        # Lists written without a digest, read by a function with no execution ARN: what is
        # measured here is overlap, so reads across namespaces are allowed.
        OffloadConfig(table="state-table", cross_execution_reads=True),
        dynamodb=store,
        s3=MemoryStore("s3"),
        clients=AwsClients(**clients) if clients else None,
    )


def _both(handler: Any, events: list[Any]) -> list[Any]:
    async def run() -> list[Any]:
        return list(await asyncio.gather(*(handler.aio(e, FakeLambdaContext()) for e in events)))

    return asyncio.run(run())


def test_two_concurrent_invocations_hydrate_their_pointers_at_the_same_time() -> None:
    """GIVEN two events, each holding a value pointer
    WHEN two awaitable invocations run concurrently on one loop
    THEN both were inside a read at once, and each handler got its own data."""
    store = _ReadRendezvousStore()
    repo = _repo(store)
    events = [
        {"report": repo.write_value(f"run-1:report-{n}", 0, repo.encode({"n": n})).to_dict()}
        for n in (1, 2)
    ]
    store.meeting = True

    @state_offload(repository=repo)
    async def handler(event: dict[str, Any], context: Any) -> int:
        return int(event["report"]["n"])

    assert _both(handler, events) == [1, 2]
    assert store.reads.most_inside == 2


def test_two_concurrent_invocations_read_their_whole_lists_at_the_same_time() -> None:
    """GIVEN two events, each holding a list pointer
    WHEN two awaitable invocations run concurrently on one loop
    THEN both were inside a partition query at once."""
    store = _ReadRendezvousStore()
    repo = _repo(store)
    events = []
    for n in (1, 2):
        repo.write_items("state-table", f"run-1:rows-{n}", [repo.encode(i) for i in range(n * 3)])
        pointer = Pointer("dynamodb", "state-table", f"run-1:rows-{n}", count=n * 3)
        events.append({"rows": pointer.to_dict(with_items=True)})
    store.meeting = True

    @state_offload(repository=repo)
    async def handler(event: dict[str, Any], context: Any) -> int:
        return len(event["rows"])

    assert _both(handler, events) == [3, 6]
    assert store.reads.most_inside == 2


class _StopRendezvousClient:
    """A Step Functions client whose StopExecution rendezvous with the other invocation's."""

    def __init__(self) -> None:
        self.stops = _Rendezvous()
        self.stopped: list[str] = []

    def stop_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.stops.meet()
        self.stopped.append(kwargs["executionArn"])
        return {}


def test_two_concurrent_invocations_stop_their_executions_at_the_same_time() -> None:
    """GIVEN two invocations of a handler that raises StopExecution
    WHEN they are awaited concurrently on one loop
    THEN both StopExecution calls were in flight at once, one per execution."""
    client = _StopRendezvousClient()
    repo = _repo(MemoryStore("dynamodb"), stepfunctions_client=client)
    arns = [f"{EXECUTION_ARN}-{n}" for n in (1, 2)]

    @state_offload(repository=repo)
    async def handler(event: dict[str, Any], context: Any) -> None:
        raise StopExecution(error="FeatureDisabled", cause="flag off")

    results = _both(handler, [{"sfn_execution_arn": arn} for arn in arns])

    assert client.stops.most_inside == 2
    assert sorted(client.stopped) == arns
    assert all(r["stopped"] for r in results)
