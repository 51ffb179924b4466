"""At most 40 threads per Map in moto's engine, as AWS runs an Inline Map.

With no ``MaxConcurrency`` (or 0), moto starts one thread per item, all at once: 10,000 threads
for an Inline Map of 10,000 iterations, 100,000 for a Distributed Map of 100,000 children. They
share one interpreter, so they add no speed, only memory and scheduling. AWS runs an
Inline Map's iterations at most 40 at a time, so the kit gives each Map run at most 40 workers,
or ``MaxConcurrency`` when that is lower. Every worker takes jobs until the pool is empty, and
results keep their item order, so nothing the state machine sees changes; a Distributed Map,
which AWS runs up to 10,000 children wide, only runs narrower in the kit.

A moto worker takes its next job by calling itself (a tail call), one stack level per job: with
one worker per item that never mattered, with 40 workers sharing 100,000 children it passes
Python's recursion limit. So the kit also runs those tail calls as a loop (:func:`_as_loop`).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Final

from .patching import Patches

__all__ = ["MAX_MAP_WORKERS", "install_map_worker_cap"]

#: AWS's concurrency of an Inline Map without ``MaxConcurrency`` (docs: "up to 40").
MAX_MAP_WORKERS: Final = 40


def install_map_worker_cap(patches: Patches, cap: int | None = None) -> None:
    """Launch at most ``cap`` (default :data:`MAX_MAP_WORKERS`) workers per job pool (one pool
    per Map run), each taking its jobs in a loop."""
    limit = MAX_MAP_WORKERS if cap is None else cap
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        inline_iteration_component as inline,
    )

    owner = inline.InlineIterationComponent  # the Distributed component inherits its launcher
    original = owner._launch_worker
    launched: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
    lock = threading.Lock()

    def launch_worker(self: Any, env: Any, eval_input: Any, job_pool: Any) -> Any:
        with lock:
            count = launched.get(job_pool, 0)
            if count >= limit:
                return None  # the workers already running take this job too
            launched[job_pool] = count + 1
        return original(self, env=env, eval_input=eval_input, job_pool=job_pool)

    patches.replace(owner, "_launch_worker", launch_worker)
    for worker in _worker_classes():
        patches.replace(worker, "_eval_pool", _as_loop(worker._eval_pool))


def _worker_classes() -> list[Any]:
    """moto's worker classes that define ``_eval_pool`` (inline, Distributed, legacy Iterator)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        iteration_worker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (  # noqa: E501
        distributed_item_processor_worker as item_processor,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.iterator import (
        distributed_iterator_worker as iterator,
    )

    return [
        iteration_worker.IterationWorker,
        item_processor.DistributedItemProcessorWorker,
        iterator.DistributedIteratorWorker,
    ]


def _as_loop(eval_pool: Any) -> Any:
    """``eval_pool`` with its closing self-call deferred until it returns, then run in a loop.

    The self-call is the method's last statement in every moto worker, so running it after the
    method returns does the same work in the same order, at constant stack depth.
    """

    def looped(self: Any, job: Any, worker_frame: Any) -> None:
        pending: list[tuple[Any, Any]] | None = self.__dict__.get("_kit_pending_jobs")
        if pending is not None:  # the tail call, from inside the method below
            pending.append((job, worker_frame))
            return
        pending = self.__dict__["_kit_pending_jobs"] = [(job, worker_frame)]
        try:
            while pending:
                job, worker_frame = pending.pop()
                eval_pool(self, job=job, worker_frame=worker_frame)
        finally:
            del self.__dict__["_kit_pending_jobs"]

    return looped
