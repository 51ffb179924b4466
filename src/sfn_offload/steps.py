"""The steps the decorator composes, each returning what it learned.

:func:`~sfn_offload.hydrate` and :func:`~sfn_offload.offload` return just the event and the
result; :func:`hydrate_event` and :func:`offload_result` return them with their statistics (and,
for hydration, the references found and the Map shape: :attr:`HydrateResult.map_iterations`).
"""

from ._hydrate import HydrateResult, ResultWriterMode, hydrate_event
from ._offload import FanOut, OffloadResult, OffloadStats, offload_result, parse_path
from .storage.reads import ReadStats

__all__ = [
    "FanOut",
    "HydrateResult",
    "OffloadResult",
    "OffloadStats",
    "ReadStats",
    "ResultWriterMode",
    "hydrate_event",
    "offload_result",
    "parse_path",
]
