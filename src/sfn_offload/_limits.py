"""Default caps on what one invocation may read: every read is bounded before it is spent.

A small event can name a lot of data (a list pointer saying ``count: 2**31 - 1``, a gzip bomb,
an S3 object far larger than its pointer says). Hydration therefore always runs under a cap on
the JSON bytes it loads, checked before each request, each body read and each inflation:

==========================  =================================================================
cap                         default
==========================  =================================================================
hydrated JSON bytes         a quarter of the Lambda function's memory (``memory_limit_in_mb``
                            of the context, else ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``): JSON
                            parsed into Python objects takes at least its size again, and the
                            runtime and the handler need the rest; 128 MiB when the memory is
                            unknown (plain :func:`~sfn_offload.hydrate` calls, the CLI).
                            ``@state_offload(max_hydrate_bytes=...)`` / ``max_bytes=`` set it.
elements of one list        at most the hydration cap (each element is at least one JSON byte):
                            a larger ``count`` is refused before any request.
ResultWriter manifest       :data:`MAX_MANIFEST_BYTES` (Step Functions writes a few hundred
                            bytes per result file).
nesting depth               :data:`sfn_offload.wire.codec.MAX_DEPTH` levels, for results.
==========================  =================================================================
"""

from __future__ import annotations

import os
from typing import Any, Final

__all__ = ["DEFAULT_MAX_HYDRATE_BYTES", "MAX_MANIFEST_BYTES", "hydrate_cap", "memory_mb"]

_MIB: Final = 1024 * 1024
#: The hydration cap when the function's memory is unknown.
DEFAULT_MAX_HYDRATE_BYTES: Final = 128 * _MIB
#: Largest ResultWriter manifest read.
MAX_MANIFEST_BYTES: Final = 4 * _MIB
#: Lambda's memory range, in MB.
_MEMORY_RANGE: Final = (128, 10_240)


def memory_mb(context: Any) -> int | None:
    """The function's memory in MB: the context's ``memory_limit_in_mb`` (an ``int``, or the
    string the Python runtime sets), else ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``; ``None`` when
    neither holds a number in Lambda's range."""
    for raw in (
        getattr(context, "memory_limit_in_mb", None),
        os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
    ):
        if isinstance(raw, bool):
            continue
        try:
            value = int(raw) if isinstance(raw, int | str) else None
        except ValueError:
            value = None
        if value is not None and _MEMORY_RANGE[0] <= value <= _MEMORY_RANGE[1]:
            return value
    return None


def hydrate_cap(context: Any = None) -> int:
    """The default cap on JSON bytes hydrated into one event (see the module docstring).

    >>> class Ctx:
    ...     memory_limit_in_mb = "1024"
    >>> hydrate_cap(Ctx()) == 256 * 1024 * 1024
    True
    """
    memory = memory_mb(context)
    if memory is None:
        return DEFAULT_MAX_HYDRATE_BYTES
    return memory * _MIB // 4
