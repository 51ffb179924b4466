"""The byte budget: how much of the 262,144-byte state limit a task's result may use inline."""

from __future__ import annotations

from typing import Final

__all__ = [
    "ENVELOPE_BYTES",
    "MARGIN_BYTES",
    "MIN_BUDGET_BYTES",
    "STATE_LIMIT_BYTES",
    "inline_budget",
]

#: Step Functions' state input/output limit: 262,144 bytes of UTF-8 JSON.
STATE_LIMIT_BYTES: Final = 262_144
#: Room for the ``lambda:invoke`` result wrapper (``Payload``, ``SdkHttpMetadata`` with its
#: headers, ``SdkResponseMetadata``, ``StatusCode``, ``ExecutedVersion``): about 1 KB in practice.
ENVELOPE_BYTES: Final = 2_048
#: Headroom for how Step Functions re-serializes JSON (not documented byte for byte).
MARGIN_BYTES: Final = 8_192
#: Never plan for less inline room than this (a few pointers).
MIN_BUDGET_BYTES: Final = 1_024


def inline_budget(
    event_bytes: int,
    *,
    max_inline_bytes: int | None = None,
    ignore_input: bool = False,
    margin_bytes: int = MARGIN_BYTES,
    map_siblings: int = 1,
) -> int:
    """How many bytes the handler's result may keep inline.

    By default ``262,144 - event size - lambda:invoke envelope - margin``: the result is usually
    merged into the input by ``ResultPath``, and the merged state must fit. ``ignore_input``
    drops the event term (``ResultPath`` replaces the input, or ``OutputPath`` selects only the
    result); ``max_inline_bytes`` fixes the budget outright.

    ``map_siblings`` is the number of iterations of the Map state this task runs in (known when
    its input is an element reference into a fanned-out list): a Map's output is the list of all
    iteration results and must fit the limit as a whole, so each iteration gets its share.

    >>> inline_budget(100_000)
    151904
    >>> inline_budget(100_000, ignore_input=True)
    251904
    >>> inline_budget(100_000, max_inline_bytes=50_000)
    50000
    >>> inline_budget(500, map_siblings=60)  # one iteration of a 60-way Map
    4197
    """
    if max_inline_bytes is not None:
        return max_inline_bytes
    used = 0 if ignore_input else event_bytes
    budget = STATE_LIMIT_BYTES - used - ENVELOPE_BYTES - margin_bytes
    if map_siblings > 1:
        # The Map's output (one list of all results) is merged into the Map state's input,
        # which this iteration cannot see; share what the limit leaves after the margins.
        share = (STATE_LIMIT_BYTES - ENVELOPE_BYTES - margin_bytes) // map_siblings - 1
        budget = min(budget, share)
    return max(MIN_BUDGET_BYTES, budget)
