"""Map iterations that store their result instead of returning it.

A Map's output is the list of all its iterations' outputs, and it must fit 262,144 bytes however
many iterations there are. An iteration whose input carries ``sfn_offload_map`` (the Map run and
the iteration's index, from the Map's ``ItemSelector``) writes its result to the run's
partition, one item per index (S3 for results over the item budget), and returns only its index:
the Map's raw output is ``[0, 1, ..., n-1]``, which the Map's ``ResultSelector`` replaces by a
constant-size ``{"sfn_offload_results": ...}`` reference. The next decorated task hydrates that
reference back into the list of results, in order, with one Query request per MB of results.

Deterministic addresses: a retried iteration overwrites its own result, and re-entering the Map
starts a new run (its entered time is part of the partition key).

An iteration writes only into a run of its own execution (the run's partition lies in the
namespace the task writes under): an input naming another execution's Map run cannot make it
overwrite that run's results, unless ``cross_execution_reads`` allows sharing.
"""

from __future__ import annotations

import sys
from typing import Any

from ._offload import offload_result
from .errors import ForeignDataError
from .storage.repository import PayloadRepository
from .wire.maps import MapRun

__all__ = ["store_iteration_result"]


def store_iteration_result(
    repo: PayloadRepository, run: MapRun, index: int, result: Any, *, namespace: str
) -> int:
    """Store one iteration's result for its Map run; returns the index for the Map's output."""
    partition_key = run.partition_key
    if not partition_key.startswith(f"{namespace}:") and not repo.config.cross_execution_reads:
        raise ForeignDataError(
            f"event at $.sfn_offload_map: {run.describe()} belongs to another execution than "
            f"this task's (namespace {namespace!r}); an iteration stores its result only for "
            "its own execution's Map runs (pass the same $$.Execution.Id as sfn_execution_arn)"
        )
    # Fan-out lists in the result are stored as such first; nothing else is offloaded: the
    # whole result is one stored payload the Map's reader gets back as it was.
    fanned = offload_result(result, repo, namespace=namespace, budget=sys.maxsize).result
    encoded = repo.encode(fanned, where=f"result of iteration {index} of {run.describe()}")
    repo.write_item(None, partition_key, index, encoded)
    return index
