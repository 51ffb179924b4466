"""A fault-injecting wrapper for real boto3 clients (moto or real AWS), driven by a seeded RNG.

``FaultInjector(seed, rate).attach(client)`` registers botocore event hooks on a client the test
created (and then injects into sfn-offload); the library's own code is not touched. Faults:

- **at the wire** (``before-send``, registered first so it runs before moto's responder and
  below botocore's retry loop, which therefore retries them like real AWS answers):
  DynamoDB ``ProvisionedThroughputExceededException`` / ``ThrottlingException`` (HTTP 400),
  ``InternalServerError`` (500); S3 ``SlowDown`` (503), ``InternalError`` (500); and connection
  failures raised as ``ConnectionClosedError`` / ``EndpointConnectionError``. An error *answer*
  is returned after moto already applied the request (the write happened, the response was
  lost); a raised connection error stops the request before moto sees it (nothing happened).
  Both are what a real network can do.
- **partial batch results**: part of a ``BatchWriteItem``/``BatchGetItem`` is taken out of the
  request before it is built (``before-parameter-build``) and handed back as
  ``UnprocessedItems``/``UnprocessedKeys`` (``after-call``): those writes really did not happen.
- **broken S3 bodies**: a ``GetObject`` body replaced (``after-call``) by a stream that ends
  early, so reading it raises botocore's ``IncompleteReadError``.

``transient=True`` (default) never fails the last HTTP attempt botocore will make, so a request
that keeps failing still gets through in the end (unless botocore's retry quota runs dry);
``persistent`` (a probability) picks whole API calls that fail on every attempt. A single-request
"batch" cannot be split, so with ``rate=1.0`` a one-element batch is still processed whole.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
from collections import Counter
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError
from botocore.response import StreamingBody

_ATTEMPT = re.compile(r"attempt=(\d+); max=(\d+)")


class _Raw(io.BytesIO):
    """The raw body botocore's AWSResponse reads (``stream()``)."""

    def stream(self, **_: Any) -> Any:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def _response(status: int, body: bytes, headers: dict[str, str]) -> AWSResponse:
    return AWSResponse("https://fault.invalid/", status, headers, _Raw(body))


def ddb_error(code: str, status: int) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "fault"})
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    return _response(status, body.encode(), headers)


def s3_error(code: str, status: int) -> AWSResponse:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>injected</Message><RequestId>fault</RequestId></Error>"
    ).encode()
    return _response(status, body, {"Content-Type": "application/xml"})


WIRE_FAULTS: dict[str, list[str]] = {
    "dynamodb": [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "InternalServerError",
        "ConnectionClosedError",
        "EndpointConnectionError",
    ],
    "s3": ["SlowDown", "InternalError", "ConnectionClosedError", "EndpointConnectionError"],
}


class FaultInjector:
    """Fails a share ``rate`` of the requests of the clients it is attached to."""

    def __init__(
        self,
        seed: int,
        rate: float = 0.3,
        *,
        transient: bool = True,
        persistent: float = 0.0,
        wire: bool = True,
        partial: bool = True,
        broken_bodies: bool = True,
    ) -> None:
        self.seed = seed
        self.rate = rate
        self.wire = wire
        self.transient = transient
        self.persistent = persistent
        self.partial = partial
        self.broken_bodies = broken_bodies
        self.sent: Counter[str] = Counter()  # HTTP attempts per service
        self.failed: Counter[str] = Counter()  # attempts that failed or came back partial
        self.kinds: Counter[str] = Counter()
        self.enabled = True
        self._doomed: set[str] = set()  # invocation ids failing on every attempt
        self._lock = threading.Lock()
        # One generator per (service, decision): concurrency reorders the requests, but the n-th
        # decision of each kind is the same in every run with this seed.
        self._rngs: dict[str, random.Random] = {}

    def _rng(self, stream: str) -> random.Random:
        rng = self._rngs.get(stream)
        if rng is None:
            rng = self._rngs[stream] = random.Random(f"{self.seed}:{stream}")
        return rng

    # -- wiring ------------------------------------------------------------------------------

    def attach(self, client: Any) -> Any:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events
        events.register_first(f"before-send.{service}", self._wire)
        events.register(f"before-parameter-build.{service}.BatchWriteItem", self._drop_writes)
        events.register(f"before-parameter-build.{service}.BatchGetItem", self._drop_keys)
        events.register(f"after-call.{service}.BatchWriteItem", self._return_writes)
        events.register(f"after-call.{service}.BatchGetItem", self._return_keys)
        events.register(f"after-call.{service}.GetObject", self._break_body)
        return client

    def ratio(self, service: str) -> float:
        return self.failed[service] / max(1, self.sent[service])

    def _roll(self, stream: str, probability: float) -> bool:
        with self._lock:
            return self.enabled and self._rng(stream).random() < probability

    def _pick(self, stream: str, options: list[str]) -> str:
        with self._lock:
            return self._rng(stream).choice(options)

    def _count(self, service: str, kind: str | None) -> None:
        with self._lock:
            # a partial result or a broken body is the outcome of an attempt already counted
            self.sent[service] += 0 if kind in {"partial", "broken-body"} else 1
            if kind is not None:
                self.failed[service] += 1
                self.kinds[kind] += 1

    # -- faults at the wire ------------------------------------------------------------------

    def _wire(self, request: Any, event_name: str, **_: Any) -> Any:
        service = event_name.split(".")[1]
        match = _ATTEMPT.search(str(request.headers.get("amz-sdk-request", "")))
        attempt, last = (int(match[1]), int(match[2])) if match else (1, 1)
        invocation = str(request.headers.get("amz-sdk-invocation-id", ""))
        if attempt == 1 and self.persistent and self._roll(f"{service}:doom", self.persistent):
            with self._lock:
                self._doomed.add(invocation)
        doomed = invocation in self._doomed
        may_fail = self.wire and (not self.transient or attempt < last)
        if not (doomed or (may_fail and self._roll(f"{service}:wire", self.rate))):
            self._count(service, None)
            return None
        kind = self._pick(f"{service}:kind", WIRE_FAULTS[service])
        self._count(service, kind)
        if kind == "ConnectionClosedError":
            raise ConnectionClosedError(endpoint_url=request.url)
        if kind == "EndpointConnectionError":
            raise EndpointConnectionError(endpoint_url=request.url)
        if service == "dynamodb":
            return ddb_error(kind, 500 if kind == "InternalServerError" else 400)
        return s3_error(kind, 503 if kind == "SlowDown" else 500)

    # -- partial batch results ---------------------------------------------------------------

    def _drop_writes(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not self.partial or not self._roll("partial", self.rate):
            return
        kept: dict[str, list[Any]] = {}
        dropped: dict[str, list[Any]] = {}
        for table, requests in params["RequestItems"].items():
            cut = self._cut(len(requests))
            kept[table], dropped[table] = list(requests[:cut]), list(requests[cut:])
        params["RequestItems"] = kept
        context["fault_dropped"] = {t: r for t, r in dropped.items() if r}

    def _return_writes(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        dropped = context.pop("fault_dropped", None)
        if dropped:
            self._count("dynamodb", "partial")
            unprocessed = parsed.setdefault("UnprocessedItems", {})
            for table, requests in dropped.items():
                unprocessed.setdefault(table, []).extend(requests)

    def _drop_keys(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not self.partial or not self._roll("partial", self.rate):
            return
        kept: dict[str, Any] = {}
        dropped: dict[str, Any] = {}
        for table, spec in params["RequestItems"].items():
            keys = spec["Keys"]
            cut = self._cut(len(keys))
            kept[table] = {**spec, "Keys": list(keys[:cut])}
            if keys[cut:]:
                dropped[table] = {**spec, "Keys": list(keys[cut:])}
        params["RequestItems"] = kept
        context["fault_dropped"] = dropped

    def _return_keys(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        dropped = context.pop("fault_dropped", None)
        if dropped:
            self._count("dynamodb", "partial")
            unprocessed = parsed.setdefault("UnprocessedKeys", {})
            for table, spec in dropped.items():
                unprocessed[table] = spec

    def _cut(self, n: int) -> int:
        """Keep at least one request (an empty batch is a ValidationException)."""
        with self._lock:
            return self._rng("cut").randint(1, n - 1) if n > 1 else 1

    # -- broken S3 bodies --------------------------------------------------------------------

    def _break_body(self, parsed: dict[str, Any], **_: Any) -> None:
        body = parsed.get("Body")
        if not self.broken_bodies or body is None or not self._roll("body", self.rate):
            return
        data = body.read()
        body.close()
        if not data:
            parsed["Body"] = StreamingBody(io.BytesIO(data), 0)
            return
        self._count("s3", "broken-body")
        parsed["Body"] = StreamingBody(io.BytesIO(data[: len(data) // 2]), len(data))


def no_backoff(monkeypatch: Any) -> list[float]:
    """botocore's standard-mode backoff, computed and recorded but not slept."""
    from botocore.retries import standard

    computed: list[float] = []
    original = standard.ExponentialBackoff.delay_amount

    def record(self: Any, context: Any) -> float:
        computed.append(original(self, context))
        return 0.0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", record)
    return computed
