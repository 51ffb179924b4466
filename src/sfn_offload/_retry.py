"""Bounded, jittered, deadline-aware retries.

botocore retries whole failed requests (throttling, 5xx, connection errors) itself, a bounded
number of times (``_aws.py`` configures it). What it cannot retry is a request that *succeeded*
with part of the work left over (DynamoDB's ``UnprocessedItems`` and ``UnprocessedKeys``) or an S3
object body that broke off while it was being read. Those go through :meth:`RetryPolicy.delays`.

**The deadline.** A Lambda is killed when its time runs out, so retrying past that point only
turns a clear error into a timeout. A policy stops retrying when the time left, minus the next
sleep, would fall under its ``safety_margin``. The time left comes from the policy's own
``remaining_time`` or, when that is ``None``, from the deadline bound to the current context by
:func:`retry_deadline`::

    with retry_deadline(context):       # a Lambda context: get_remaining_time_in_millis()
        ...                             # every retry in here stops before the Lambda's end

The binding is a :class:`contextvars.ContextVar`: it follows the code that runs inside the block,
including the worker threads sfn-offload starts for it (they run in a copy of the context), and
``async`` handlers; it never leaks into other invocations or threads.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["RetryPolicy", "remaining_time_of", "retry_deadline"]

RemainingTime = Callable[[], float]

_DEADLINE: contextvars.ContextVar[RemainingTime | None] = contextvars.ContextVar(
    "sfn_offload_retry_deadline", default=None
)


def remaining_time_of(source: object) -> RemainingTime | None:
    """A function returning the seconds left, read from ``source``; ``None`` if it has none.

    ``source`` is a Lambda context (anything with ``get_remaining_time_in_millis()``, such as
    :class:`~sfn_offload.TaskContext`), or a callable returning seconds left, or ``None``.
    A context whose method returns something other than a number (a bare ``MagicMock`` in a
    unit test) counts as having no deadline rather than failing at the first retry.

    >>> class Context:
    ...     def get_remaining_time_in_millis(self): return 2500
    >>> remaining_time_of(Context())()
    2.5
    >>> remaining_time_of(None) is None
    True
    """
    if source is None:
        return None
    method = getattr(source, "get_remaining_time_in_millis", None)
    if callable(method):

        def seconds_left() -> float:
            millis = method()
            if isinstance(millis, int | float) and not isinstance(millis, bool):
                return float(millis) / 1000.0
            return math.inf

        return seconds_left
    if callable(source):
        return source
    return None


@contextlib.contextmanager
def retry_deadline(source: object) -> Iterator[RemainingTime | None]:
    """Bind every retry made inside the block to ``source``'s remaining time.

    ``source`` is what :func:`remaining_time_of` accepts (usually the Lambda ``context``). When it
    carries no deadline (``None``, or an object without ``get_remaining_time_in_millis``), the
    block keeps whatever deadline is already bound. Yields the bound function (or ``None``).

    >>> class Context:
    ...     def get_remaining_time_in_millis(self): return 500   # half a second left
    >>> policy = RetryPolicy(max_attempts=5, base_delay=0.0, sleep=lambda s: None)
    >>> with retry_deadline(Context()):
    ...     list(policy.delays())            # under the 1 s safety margin: no retry at all
    []
    >>> len(list(policy.delays()))           # outside the block: no deadline
    4
    """
    provider = remaining_time_of(source)
    if provider is None:
        yield _DEADLINE.get()
        return
    token = _DEADLINE.set(provider)
    try:
        yield provider
    finally:
        _DEADLINE.reset(token)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How leftovers of a batch request (and broken S3 reads) are retried.

    Attributes:
        max_attempts: total tries of one batch (the first included).
        base_delay: seconds; the n-th retry sleeps a uniform random time in
            ``[0, min(max_delay, base_delay * 2**n)]`` ("full jitter").
        max_delay: cap of one sleep, in seconds.
        remaining_time: returns the seconds left before the caller must give up (a Lambda's
            ``get_remaining_time_in_millis() / 1000``); ``None`` means the deadline bound by
            :func:`retry_deadline`, if any, else no deadline.
        safety_margin: seconds kept in reserve before the deadline.
        sleep: injectable for tests.

    >>> policy = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda s: None)
    >>> list(policy.delays())
    [0.0, 0.0]
    """

    max_attempts: int = 10
    base_delay: float = 0.05
    max_delay: float = 2.0
    remaining_time: RemainingTime | None = None
    safety_margin: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def delays(self) -> Iterator[float]:
        """Yield the sleep before each retry, sleeping it; stops when attempts or time run out.

        The deadline is looked up when this is called (in the calling thread's context).
        """
        return self._delays(self.remaining_time or _DEADLINE.get())

    def _delays(self, remaining_time: RemainingTime | None) -> Iterator[float]:
        # min(max_delay, base_delay * 2**n), kept by doubling: 2**n itself overflows a float
        # after ~1,000 attempts, which a deadline-bound policy may well allow.
        ceiling = min(self.max_delay, self.base_delay)
        for _ in range(self.max_attempts - 1):
            delay = random.uniform(0, ceiling)
            ceiling = min(self.max_delay, ceiling * 2)
            if remaining_time is not None and remaining_time() - delay < self.safety_margin:
                return
            self.sleep(delay)
            yield delay

    def out_of_time(self, upcoming_delay: float = 0.0) -> bool:
        """True when a retry after ``upcoming_delay`` seconds would cross the safety margin."""
        remaining_time = self.remaining_time or _DEADLINE.get()
        return remaining_time is not None and remaining_time() - upcoming_delay < self.safety_margin
