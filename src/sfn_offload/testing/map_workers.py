"""At most 40 threads per Map in moto's engine, as AWS runs an Inline Map.

With no ``MaxConcurrency`` (or 0), moto starts one thread per item, all at once: 10,000 threads
for an Inline Map of 10,000 iterations, 100,000 for a Distributed Map of 100,000 children. They
share one interpreter, so they add no speed, only memory and scheduling (a Distributed Map of
2,000 children took twice as long as with 16 threads, for the same CPU time). AWS runs an
Inline Map's iterations at most 40 at a time, so the kit gives each Map run at most 40 workers,
or ``MaxConcurrency`` when that is lower. Every worker takes jobs until the pool is empty, and
results keep their item order, so nothing the state machine sees changes; a Distributed Map,
which AWS runs up to 10,000 children wide, only runs narrower in the kit.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Final

from .patching import Patches

__all__ = ["MAX_MAP_WORKERS", "install_map_worker_cap"]

#: AWS's concurrency of an Inline Map without ``MaxConcurrency`` (docs: "up to 40").
MAX_MAP_WORKERS: Final = 40


def install_map_worker_cap(patches: Patches, cap: int = MAX_MAP_WORKERS) -> None:
    """Launch at most ``cap`` workers per job pool (one pool per Map run)."""
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
            if count >= cap:
                return None  # the workers already running take this job too
            launched[job_pool] = count + 1
        return original(self, env=env, eval_input=eval_input, job_pool=job_pool)

    patches.replace(owner, "_launch_worker", launch_worker)
