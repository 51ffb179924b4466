"""Running a decorated ``async def`` handler from the Lambda runtime, which only calls.

The Python runtime calls ``handler(event, context)`` and serializes what it returns; it never
awaits. So the decorated form of an ``async def`` handler is a plain function that runs the
handler's coroutine to completion, here.

**One event loop per thread, kept across invocations** (on Lambda, whose runtime invokes on one
thread: one loop per process), rather than ``asyncio.run`` per invocation. ``asyncio.run`` makes
and closes a loop every time, which breaks what async code keeps warm between invocations: an
``aiohttp``/``httpx`` session or an async AWS client created at the first invocation is bound to
that loop, and the second invocation would find it closed. A kept loop also matches how Lambda
freezes a process: tasks a handler leaves running are not cancelled; they go on during the next
invocation (await what must finish before returning). The loop is closed when its thread ends; a
forked child makes its own.

Called while its thread already runs a loop (from async code, a notebook), the sync form cannot
block that loop to run another coroutine: it raises :class:`~sfn_offload.errors.RunningLoopError`
naming the awaitable form, ``handler.aio(event, context)``, instead of the bare ``RuntimeError``
asyncio would give.

>>> async def double(n):
...     return 2 * n
>>> run_coroutine(lambda: double(21), name="double")
42
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .errors import RunningLoopError

__all__ = ["check_no_running_loop", "run_coroutine"]

T = TypeVar("T")


class _ThreadLoop:
    """The loop of one thread; closes it when the thread's storage lets go of it."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        # Closing here, not at interpreter exit: a loop collected unclosed warns (ResourceWarning).
        if not self.loop.is_running():
            self.loop.close()


class _Loops(threading.local):
    current: _ThreadLoop | None = None


# Per-thread state of the same kind as asyncio's own event-loop policy keeps.
_LOOPS = _Loops()


def _thread_loop() -> asyncio.AbstractEventLoop:
    held = _LOOPS.current
    if held is None or held.pid != os.getpid() or held.loop.is_closed():
        # First call on this thread, or a child process that inherited its parent's loop (whose
        # selector it must not share).
        held = _LOOPS.current = _ThreadLoop()
    return held.loop


def check_no_running_loop(name: str) -> None:
    """Raise :class:`RunningLoopError` if this thread is running an event loop.

    >>> check_no_running_loop("handler")  # no loop running here: nothing happens
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RunningLoopError(
        f"{name} is an async def handler decorated with @state_offload: calling it runs the "
        "coroutine to completion on sfn-offload's own event loop, as the Lambda runtime needs, "
        f"but this thread is already running an event loop. From async code, use "
        f"`await {name}.aio(event, context)`."
    )


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]], *, name: str) -> T:
    """Run the coroutine ``make()`` returns to completion on this thread's kept loop.

    ``make`` is called only once the thread is known to have no running loop, so a refused call
    leaves no never-awaited coroutine behind. The coroutine runs in a task made in a copy of the
    current context (``contextvars``), as ``asyncio.run`` does.
    """
    check_no_running_loop(name)
    return _thread_loop().run_until_complete(make())
