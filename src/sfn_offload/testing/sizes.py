"""Payload sizes as Step Functions counts them, and the check that a payload fits a state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..budget import STATE_LIMIT_BYTES
from ..wire.codec import dumps, state_size

__all__ = ["StateSize", "assert_fits", "payload_size"]


def payload_size(value: Any) -> int:
    """Bytes ``value`` takes in a state, measured the strictest known way: UTF-8 JSON with a
    space after each comma and colon, as moto's engine writes it (see
    :func:`sfn_offload.wire.codec.state_size`).

    >>> payload_size({"name": "Zoë"})
    16
    """
    return state_size(dumps(value, where="payload"))


def assert_fits(value: Any, *, limit: int = STATE_LIMIT_BYTES) -> int:
    """Fail (``AssertionError``) unless ``value`` fits a Step Functions state; returns its size.

    >>> assert_fits({"ok": True})
    12
    """
    size = payload_size(value)
    if size > limit:
        raise AssertionError(
            f"payload is {size:,} bytes, over the {limit:,}-byte Step Functions limit "
            f"by {size - limit:,}: it would fail with States.DataLimitExceeded"
        )
    return size


@dataclass(frozen=True)
class StateSize:
    """Payload bytes one state received and produced, against the limit."""

    name: str
    input_bytes: int | None
    output_bytes: int | None

    @property
    def largest(self) -> int:
        return max(self.input_bytes or 0, self.output_bytes or 0)
