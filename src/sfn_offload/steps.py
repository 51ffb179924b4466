"""The steps the decorator composes, with what each learned.

:func:`~sfn_offload.hydrate` and :func:`~sfn_offload.offload` return just the event and the
result; the functions here return those together with their statistics.
"""

from ._hydrate import hydrate
from ._offload import FanOut, OffloadStats, offload
from .storage.repository import ReadStats

__all__ = ["FanOut", "OffloadStats", "ReadStats", "hydrate", "offload"]
