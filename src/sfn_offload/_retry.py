"""Bounded, jittered, deadline-aware retries for partial batch results.

botocore retries whole failed requests (throttling, 5xx) itself; what it cannot retry is a request
that *succeeded* with part of the work left over: DynamoDB's ``UnprocessedItems`` and
``UnprocessedKeys``. Those go through :func:`backoff_delays`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How leftovers of a batch request are retried.

    Attributes:
        max_attempts: total tries of one batch (the first included).
        base_delay: seconds; the n-th retry sleeps a uniform random time in
            ``[0, min(max_delay, base_delay * 2**n)]`` ("full jitter").
        max_delay: cap of one sleep, in seconds.
        remaining_time: returns the seconds left before the caller must give up (a Lambda's
            ``get_remaining_time_in_millis() / 1000``); ``None`` means no deadline.
        safety_margin: seconds kept in reserve before the deadline.
        sleep: injectable for tests.

    >>> policy = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda s: None)
    >>> list(policy.delays())
    [0.0, 0.0]
    """

    max_attempts: int = 10
    base_delay: float = 0.05
    max_delay: float = 2.0
    remaining_time: Callable[[], float] | None = None
    safety_margin: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def delays(self) -> Iterator[float]:
        """Yield the sleep before each retry, sleeping it; stops when attempts or time run out."""
        # min(max_delay, base_delay * 2**n), kept by doubling: 2**n itself overflows a float
        # after ~1,000 attempts, which a deadline-bound policy may well allow.
        ceiling = min(self.max_delay, self.base_delay)
        for _ in range(self.max_attempts - 1):
            delay = random.uniform(0, ceiling)
            ceiling = min(self.max_delay, ceiling * 2)
            if (
                self.remaining_time is not None
                and self.remaining_time() - delay < self.safety_margin
            ):
                return
            self.sleep(delay)
            yield delay

    def with_deadline(self, remaining_time: Callable[[], float] | None) -> RetryPolicy:
        """A copy bound to a deadline (``None`` keeps this policy as it is)."""
        if remaining_time is None:
            return self
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            remaining_time=remaining_time,
            safety_margin=self.safety_margin,
            sleep=self.sleep,
        )
