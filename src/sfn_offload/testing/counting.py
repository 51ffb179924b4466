"""Count the AWS requests botocore clients make, per ``"Service.Operation"``.

Tests and benchmarks ask "how many BatchGetItem did that take?". The stores do not count their
own requests; this counter listens on botocore's event system instead, so it sees every request
whoever sends it, and production code carries no bookkeeping.

Attach it to a client, or to a boto3 or botocore session (clients created from the session
while the counter is attached are counted too: botocore copies a session's hooks into each
client it builds, which is also why hooks added to a session later do not reach clients that
already exist). Leaving the ``with`` block, or :meth:`RequestCounter.detach`, stops the counting
everywhere, including in those copies.

>>> import boto3
>>> from botocore.stub import Stubber
>>> client = boto3.session.Session(region_name="us-east-1").client("dynamodb")
>>> with RequestCounter(client) as counter, Stubber(client) as stub:
...     stub.add_response("batch_get_item", {"Responses": {}})
...     _ = client.batch_get_item(RequestItems={"t": {"Keys": [{"k": {"S": "a"}}]}})
>>> counter["DynamoDB.BatchGetItem"], counter.total, counter.for_service("DynamoDB")
(1, 1, {'BatchGetItem': 1})
>>> counter.attempts  # the Stubber answered: nothing went over HTTP
{}

Two views:

- **calls** (``counter[...]``, :attr:`~RequestCounter.calls`, :attr:`~RequestCounter.total`):
  one per client method call, counted when botocore starts building its parameters
  (``before-parameter-build``), whoever answers it (AWS, moto, a Stubber, a fake). botocore's own
  retries of that call do not add to it; a call the library repeats itself (an unprocessed batch,
  a re-read broken body) does.
- **attempts** (:attr:`~RequestCounter.attempts`): one per HTTP request botocore sends
  (``before-send``), its retries included. A Stubber or another ``before-call`` answer sends
  none.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["RequestCounter"]

_CALL_EVENT = "before-parameter-build"
_SEND_EVENT = "before-send"


class _Hook:
    """One registration of a counter's handlers on one event emitter.

    botocore copies a session's handlers into every client it builds, so unregistering from the
    session cannot reach those copies; they check ``live`` instead, which :meth:`detach` clears.
    """

    def __init__(self, counter: RequestCounter, emitter: Any) -> None:
        self.counter = counter
        self.emitter = emitter
        self.live = True

    def on_call(self, model: Any, **_: Any) -> None:
        if self.live:
            service_id = model.service_model.service_id
            self.counter._add_call(str(service_id), service_id.hyphenize(), str(model.name))

    def on_send(self, event_name: str, **_: Any) -> None:
        if self.live:
            self.counter._add_attempt(event_name)

    def register(self) -> None:
        self.emitter.register(_CALL_EVENT, self.on_call)
        self.emitter.register(_SEND_EVENT, self.on_send)

    def detach(self) -> None:
        self.live = False
        self.emitter.unregister(_CALL_EVENT, self.on_call)
        self.emitter.unregister(_SEND_EVENT, self.on_send)


class RequestCounter:
    """Counts AWS requests per ``"Service.Operation"`` (botocore's service id, e.g. ``DynamoDB``,
    ``S3``, ``SFN``) through botocore event hooks. Thread-safe.

    ``targets`` are boto3 clients, boto3 sessions or botocore sessions; more can be added with
    :meth:`attach`. Counting starts at once; it stops at :meth:`detach` or at the end of a
    ``with`` block, also in the clients a session created meanwhile:

    >>> import boto3
    >>> from botocore.stub import Stubber
    >>> session = boto3.session.Session(region_name="us-east-1")
    >>> counter = RequestCounter(session)
    >>> s3 = session.client("s3")
    >>> with Stubber(s3) as stub:
    ...     stub.add_response("list_buckets", {"Buckets": []})
    ...     stub.add_response("list_buckets", {"Buckets": []})
    ...     _ = s3.list_buckets()
    ...     counter.detach()
    ...     _ = s3.list_buckets()
    >>> counter
    RequestCounter({'S3.ListBuckets': 1})
    """

    def __init__(self, *targets: Any) -> None:
        self._calls: Counter[str] = Counter()
        self._attempts: Counter[str] = Counter()
        # before-send names the service by its hyphenized id ("dynamodb"); calls, which always
        # come first, teach the proper one ("DynamoDB") so both views use the same keys.
        self._service_ids: dict[str, str] = {}
        self._hooks: list[_Hook] = []
        self._lock = threading.Lock()
        for target in targets:
            self.attach(target)

    # -- wiring ---------------------------------------------------------------------------

    def attach(self, target: Any) -> RequestCounter:
        """Count the requests of a client, or of the clients a session creates from now on."""
        hook = _Hook(self, _emitter_of(target))
        hook.register()
        with self._lock:
            self._hooks.append(hook)
        return self

    def detach(self) -> None:
        """Stop counting everywhere this counter was attached; the counts are kept."""
        with self._lock:
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            hook.detach()

    def __enter__(self) -> RequestCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()

    # -- reading ----------------------------------------------------------------------------

    def __getitem__(self, key: str) -> int:
        """Calls of one ``"Service.Operation"`` (0 when there were none)."""
        with self._lock:
            return self._calls[key]

    @property
    def total(self) -> int:
        """Calls of every operation together."""
        with self._lock:
            return sum(self._calls.values())

    @property
    def calls(self) -> dict[str, int]:
        """A copy of the call counts, ``{"Service.Operation": n}``, sorted by key."""
        with self._lock:
            return dict(sorted(self._calls.items()))

    @property
    def attempts(self) -> dict[str, int]:
        """A copy of the HTTP attempt counts (retries included), keyed like :attr:`calls`."""
        with self._lock:
            return dict(sorted(self._attempts.items()))

    def for_service(self, service: str) -> dict[str, int]:
        """Calls of one service's operations, ``{"Operation": n}``: ``for_service("S3")``."""
        prefix = f"{service}."
        return {k.removeprefix(prefix): n for k, n in self.calls.items() if k.startswith(prefix)}

    def clear(self) -> None:
        """Forget every count (the counter stays attached)."""
        with self._lock:
            self._calls.clear()
            self._attempts.clear()

    def __repr__(self) -> str:
        return f"RequestCounter({self.calls})"

    # -- counting (called by the hooks) -------------------------------------------------------

    def _add_call(self, service_id: str, hyphenized: str, operation: str) -> None:
        with self._lock:
            self._service_ids[hyphenized] = service_id
            self._calls[f"{service_id}.{operation}"] += 1

    def _add_attempt(self, event_name: str) -> None:
        # "before-send.<hyphenized service id>.<Operation>"
        _, service, operation = [*event_name.split(".", 2), "?", "?"][:3]
        with self._lock:
            self._attempts[f"{self._service_ids.get(service, service)}.{operation}"] += 1


def _emitter_of(target: Any) -> Any:
    """The event emitter of a client, a boto3 session or a botocore session."""
    meta = getattr(target, "meta", None)
    if meta is not None and hasattr(meta, "events"):
        return meta.events  # a client
    botocore_session = getattr(target, "_session", target)  # a boto3 session wraps one
    get_component = getattr(botocore_session, "get_component", None)
    if get_component is None:
        raise TypeError(
            f"RequestCounter counts a boto3 client or a boto3/botocore session, not a "
            f"{type(target).__name__}"
        )
    return get_component("event_emitter")
