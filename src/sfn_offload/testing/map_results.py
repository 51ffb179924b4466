"""A Distributed Map's collected results count against 262,144 bytes unless a ResultWriter
exports them, as on AWS; moto lets any size through.

AWS fails a Distributed Map whose children's results, gathered into the Map's result list, are
larger than the payload quota, unless the Map has a ``ResultWriter`` (then the list goes to S3
and the result is a small ``{"MapRunArn", "ResultWriterDetails"}``). The list is measured
before ``ResultSelector`` shrinks it, so a Map of 100,000 children that each return only their
index (588,891 bytes of list) fails even under the ``sfn_offload_results`` convention.
moto's engine builds the list and carries on; the kit fails the Map with
``States.DataLimitExceeded``, the error AWS gives, through the engine's own size check.
"""

from __future__ import annotations

import threading
from typing import Any

from .patching import Patches

__all__ = ["install_map_result_check"]


def install_map_result_check(patches: Patches) -> None:
    """Check a Distributed Map's result list, when it has no ResultWriter, against the quota."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as distributed,
    )

    # The Map state whose run this thread evaluates: _map_run runs on the Map's own thread,
    # inside StateMap._eval_execution, and only there does the ResultWriter field show.
    current = threading.local()
    map_state = state_map.StateMap
    original_eval = map_state._eval_execution
    component = distributed.DistributedIterationComponent
    original_run = component._map_run

    def eval_execution(self: Any, env: Any) -> Any:
        stack = current.__dict__.setdefault("maps", [])
        stack.append(self)
        try:
            return original_eval(self, env)
        finally:
            stack.pop()

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        original_run(self, env=env, eval_input=eval_input)
        stack = current.__dict__.get("maps") or [None]
        state = stack[-1]
        if state is not None and not state.result_writer:
            state._verify_size_quota(env, env.stack[-1])  # States.DataLimitExceeded when over

    patches.replace(map_state, "_eval_execution", eval_execution)
    patches.replace(component, "_map_run", map_run)
