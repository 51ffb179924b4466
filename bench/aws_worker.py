"""One AWS measurement (fan-out write or hydration) for all three implementations.

Run by ``bench/run.py`` in a fresh process per (case, latency), with ``DYNAMODB_ENDPOINT_URL`` and
``S3_ENDPOINT_URL`` already pointing at ``--endpoint`` (moto, or the latency proxy in front of
it): py2sfn-task-tools 1.0.2 builds its module-level boto3 clients from them at import.

Implementations:

- ``sfn-offload``: ``StateDataClient.put_items`` / ``sfn_offload.hydrate`` (an injected boto3
  session, everything else default: 16 workers, lazy clients reused across calls);
- ``py2sfn``: py2sfn-task-tools 1.0.2 ``StateDataClient.put_items`` / a ``get_item`` loop;
- ``floor``: minimal hand-written boto3: ceil(n/25) BatchWriteItem or ceil(n/100) BatchGetItem,
  one S3 request per large payload, all requests of a call concurrent on a 16-thread pool (the
  same pool size as sfn-offload), no checksums, no verification.

Requests are counted by a :class:`~sfn_offload.testing.RequestCounter` on each implementation's
own session (py2sfn: the default session, hooked before py2sfn is imported): its HTTP attempts
(``before-send``, so retries would count too) are the ``requests``; for sfn-offload its API calls
are kept as a second view (``library_counted``). In latency runs the proxy's own wire count is
recorded as a cross-check. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import common
from common import BUCKET, TABLE
from floor import Floor

from sfn_offload.testing import RequestCounter

# py2sfn-task-tools creates its clients at import, from the default session: hook it first.
boto3.setup_default_session(region_name=common.REGION)
PY2SFN_COUNTER = RequestCounter(boto3.DEFAULT_SESSION)

from py2sfn_task_tools.state_data_client import (  # noqa: E402
    StateDataClient as Py2sfnClient,
)

import sfn_offload  # noqa: E402
from sfn_offload import OffloadConfig, StateDataClient  # noqa: E402
from sfn_offload.storage import Address, AwsClients, PayloadRepository, Record  # noqa: E402
from sfn_offload.wire import Pointer  # noqa: E402

EXECUTION_ARN = f"arn:aws:states:{common.REGION}:{common.ACCOUNT_ID}:execution:bench:run-1"


def _session(counter: RequestCounter) -> boto3.session.Session:
    session = boto3.session.Session(region_name=common.REGION)
    counter.attach(session)
    return session


def _bench_keys(counts: dict[str, int]) -> dict[str, int]:
    """RequestCounter's keys (``"DynamoDB.Query"``) as the results spell them
    (``"dynamodb:Query"``)."""
    out: dict[str, int] = {}
    for key, count in counts.items():
        service, _, operation = key.partition(".")
        out[f"{service.lower()}:{operation}"] = count
    return out


class Admin:
    """Uncounted clients on the moto server itself: reset, create, verify."""

    def __init__(self, moto_url: str) -> None:
        self.moto_url = moto_url
        session = boto3.session.Session(region_name=common.REGION)
        self.dynamodb = session.client("dynamodb", endpoint_url=moto_url)
        self.s3 = session.client("s3", endpoint_url=moto_url)

    def fresh(self) -> None:
        common.reset_moto(self.moto_url)
        common.create_resources(self.dynamodb, self.s3)

    def count_items(self, partition_key: str) -> int:
        kwargs: dict[str, Any] = {
            "TableName": TABLE,
            "KeyConditionExpression": "partition_key = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition_key}},
            "Select": "COUNT",
        }
        total = 0
        while True:
            page = self.dynamodb.query(**kwargs)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count_objects(self) -> int:
        total = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            total += page.get("KeyCount", 0)
        return total


# --------------------------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------------------------


class Impl:
    """One implementation under measurement: how to run it, its counter, what each run took."""

    def __init__(self, name: str, counter: RequestCounter, run: Callable[[str], Any]) -> None:
        self.name = name
        self.counter = counter
        self.run = run
        self.times: list[float] = []
        self.cpu: list[float] = []  # client CPU (all threads of this process)
        self.requests: list[dict[str, int]] = []
        self.wire: list[dict[str, int] | None] = []
        self.library: list[dict[str, int]] = []


def _timed(impl: Impl, label: str, endpoint: str, proxied: bool, library: bool = False) -> Any:
    """Run ``impl`` once, timed; record its requests (and, with ``library``, its API calls)."""
    before = impl.counter.attempts
    calls_before = impl.counter.calls
    wire_before = common.proxy_stats(endpoint) if proxied else None
    gc.collect()  # every implementation starts from a clean heap
    cpu = time.process_time()
    start = time.perf_counter()
    result = impl.run(label)
    impl.times.append(time.perf_counter() - start)
    impl.cpu.append(time.process_time() - cpu)
    wire_after = common.proxy_stats(endpoint) if proxied else None
    impl.requests.append(common.diff(_bench_keys(impl.counter.attempts), _bench_keys(before)))
    if wire_before is not None and wire_after is not None:
        impl.wire.append(common.diff(wire_after, wire_before))
    if library:
        impl.library.append(common.diff(_bench_keys(impl.counter.calls), _bench_keys(calls_before)))
    return result


def _summary(impl: Impl) -> dict[str, Any]:
    first = impl.requests[0] if impl.requests else {}
    return {
        "times_s": [round(t, 4) for t in impl.times],
        "median_s": round(common.median(impl.times), 4),
        "client_cpu_s": round(common.median(impl.cpu), 4),
        "requests": first,
        "requests_total": sum(first.values()),
        "requests_stable": all(r == first for r in impl.requests),
        "wire_requests": impl.wire[0] if impl.wire else None,
        "wire_total": sum(impl.wire[0].values()) if impl.wire else None,
        "library_counted": impl.library[0] if impl.library else None,
    }


def _sfn_repository(endpoint: str, counter: RequestCounter) -> PayloadRepository:
    config = OffloadConfig(
        table=TABLE, bucket=BUCKET, endpoint_urls={"dynamodb": endpoint, "s3": endpoint}
    )
    clients = AwsClients(
        boto3_session=_session(counter),
        endpoint_urls=config.endpoint_urls,
        max_pool_connections=config.max_workers,
    )
    return PayloadRepository(config, clients=clients)


def fanout(args: argparse.Namespace, admin: Admin) -> dict[str, Any]:
    if args.case == "fanout-small":
        items: list[Any] = [common.small_element(i) for i in range(args.n)]
    else:
        items = common.large_elements(args.n, args.size)
    element_bytes = common.median([common.compact_size(x) for x in items[:50]])
    namespace = f"bench-{uuid.uuid4().hex[:8]}"

    floor_counter = RequestCounter()
    floor = Floor(args.endpoint, _session(floor_counter))
    sfn_counter = RequestCounter()
    repo = _sfn_repository(args.endpoint, sfn_counter)
    sfn = StateDataClient(TABLE, namespace, s3_bucket=BUCKET, repository=repo)
    py2sfn = Py2sfnClient(TABLE, namespace, s3_bucket=BUCKET)
    runs = {
        "floor": Impl(
            "floor", floor_counter, lambda key: floor.put_items(f"{namespace}:{key}", items)
        ),
        "sfn-offload": Impl("sfn-offload", sfn_counter, lambda key: sfn.put_items(key, items)),
        "py2sfn": Impl("py2sfn", PY2SFN_COUNTER, lambda key: py2sfn.put_items(key, items)),
    }
    warm = items[:30] if args.case == "fanout-small" else items[:2]
    for rep in range(args.reps):
        for name, impl in runs.items():
            admin.fresh()
            key = f"rows-{name}-{rep}"
            if rep == 0:  # a warm Lambda: clients, pools and models already loaded
                {
                    "floor": lambda: floor.put_items(f"{namespace}:warm", warm),
                    "sfn-offload": lambda: sfn.put_items("warm", warm),
                    "py2sfn": lambda: py2sfn.put_items("warm", warm),
                }[name]()
            _timed(impl, key, args.endpoint, args.proxied, library=name == "sfn-offload")
            if rep == 0:
                stored = admin.count_items(f"{namespace}:{key}")
                if stored != len(items):
                    raise RuntimeError(f"{name} stored {stored} of {len(items)} elements")
                objects = admin.count_objects()
                impl_objects = objects - (len(warm) if args.case == "fanout-large" else 0)
                expected = len(items) if args.case == "fanout-large" else 0
                if impl_objects != expected:
                    raise RuntimeError(f"{name} stored {impl_objects} S3 objects, not {expected}")
    return {
        "case": args.case,
        "n": len(items),
        "element_bytes": int(element_bytes),
        "impls": {name: _summary(impl) for name, impl in runs.items()},
    }


def hydrate(args: argparse.Namespace, admin: Admin) -> dict[str, Any]:
    n, n_s3 = args.n, args.s3_count
    step = max(1, n // n_s3) if n_s3 else 0
    s3_indices = set(range(0, n, step)[:n_s3]) if n_s3 else set()
    shared_large = common.orders(args.size - 40)
    values: list[Any] = [
        {"shard": i, "orders": shared_large}
        if i in s3_indices
        else {"iteration": i, "orders": common.orders(1_000, seed=i)}
        for i in range(n)
    ]
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    admin.fresh()
    pointers = _write_value_layout(admin, namespace, values)
    event = {"sfn_execution_arn": EXECUTION_ARN, "results": pointers}
    stored_s3 = sum(1 for p in pointers if p["backend"] == "s3")

    floor_counter = RequestCounter()
    floor = Floor(args.endpoint, _session(floor_counter))
    sfn_counter = RequestCounter()
    repo = _sfn_repository(args.endpoint, sfn_counter)
    # py2sfn reads what py2sfn wrote: put_items at indices 0..n-1 (S3 over 390,000 bytes).
    py2sfn = Py2sfnClient(TABLE, namespace, s3_bucket=BUCKET)
    py2sfn.put_items("results", values)

    runs = {
        "floor": Impl("floor", floor_counter, lambda _: floor.read(pointers)),
        "sfn-offload": Impl(
            "sfn-offload", sfn_counter, lambda _: sfn_offload.hydrate(event, repo)["results"]
        ),
        "py2sfn": Impl(
            "py2sfn", PY2SFN_COUNTER, lambda _: [py2sfn.get_item("results", i) for i in range(n)]
        ),
    }
    warm_ptrs = pointers[:3] + [p for p in pointers if p["backend"] == "s3"][:1]
    floor.read(warm_ptrs)
    sfn_offload.hydrate({"results": warm_ptrs}, repo)
    py2sfn.get_item("results", 0)
    py2sfn.get_item("results", min(s3_indices) if s3_indices else 1)
    _read_repeatedly(args, runs, values)
    return {
        "case": args.case,
        "n": n,
        "dynamodb_payloads": n - stored_s3,
        "s3_payloads": stored_s3,
        "small_bytes": int(
            common.median([common.compact_size(values[i]) for i in range(min(n, 20))])
        ),
        "large_bytes": common.compact_size(shared_large) + 40 if n_s3 else None,
        "impls": {name: _summary(impl) for name, impl in runs.items()},
    }


def _write_value_layout(admin: Admin, namespace: str, values: list[Any]) -> list[dict[str, Any]]:
    """Store ``values`` in sfn-offload's value layout (what @state_offload writes in each Map
    iteration) through the library's own stores, on the moto server directly (setup, not
    measured); returns their pointers."""
    setup_repo = _sfn_repository(admin.moto_url, RequestCounter())
    expires_at = setup_repo.expires_at()
    items: list[tuple[Address, Record]] = []
    objects: list[tuple[Address, Record]] = []
    pointers: list[dict[str, Any]] = []
    for i, value in enumerate(values):
        enc = setup_repo.encode(value)
        record = Record(enc.body, enc.encoding, enc.sha256, enc.size, expires_at=expires_at)
        partition_key = f"{namespace}:result-{i}:{enc.sha256[:20]}"
        if enc.size <= setup_repo.config.item_budget_bytes:
            items.append((Address(TABLE, partition_key, 0), record))
            pointer = Pointer("dynamodb", TABLE, partition_key, 0, enc.size, enc.sha256)
        else:
            key = f"sfn-offload/{partition_key}/0"
            objects.append((Address(BUCKET, key, 0), record))
            pointer = Pointer("s3", BUCKET, key, 0, enc.size, enc.sha256)
        pointers.append(pointer.to_dict())
    setup_repo.s3.put_many(objects)
    setup_repo.dynamodb.put_many(items)
    setup_repo.close()
    return pointers


def _read_repeatedly(args: argparse.Namespace, runs: dict[str, Impl], values: list[Any]) -> None:
    """The timed reads, implementations interleaved; py2sfn's slow loop runs ``slow_reps``."""
    for rep in range(max(args.reps, args.slow_reps)):
        for name, impl in runs.items():
            if rep >= (args.slow_reps if name == "py2sfn" else args.reps):
                continue
            got = _timed(impl, name, args.endpoint, args.proxied, library=name == "sfn-offload")
            if rep == 0 and got != values:
                raise RuntimeError(f"{name} did not return the stored values")
            del got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["fanout-small", "fanout-large", "hydrate"])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--size", type=int, default=500_000, help="bytes of a large element")
    parser.add_argument("--s3-count", type=int, default=0, help="hydrate: payloads in S3")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--slow-reps", type=int, default=1, help="hydrate: py2sfn repetitions")
    parser.add_argument("--moto", required=True, help="the moto server (setup, verification)")
    parser.add_argument("--endpoint", required=True, help="what the implementations talk to")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    args.proxied = args.latency_ms > 0
    if os.environ.get("DYNAMODB_ENDPOINT_URL") != args.endpoint:
        raise SystemExit("DYNAMODB_ENDPOINT_URL must be --endpoint (py2sfn reads it at import)")
    admin = Admin(args.moto)
    started = time.perf_counter()
    out = fanout(args, admin) if args.case.startswith("fanout") else hydrate(args, admin)
    out["latency_ms"] = args.latency_ms
    out["reps"] = args.reps
    out["worker_seconds"] = round(time.perf_counter() - started, 1)
    out["floor_requests"] = _floor_formula(out)
    print(json.dumps(out))
    return 0


def _floor_formula(out: dict[str, Any]) -> int:
    """The minimum number of requests, from the counts alone."""
    n = out["n"]
    if out["case"] == "fanout-small":
        return math.ceil(n / 25)
    if out["case"] == "fanout-large":
        return math.ceil(n / 25) + n
    return math.ceil(out["dynamodb_payloads"] / 100) + out["s3_payloads"]


if __name__ == "__main__":
    sys.exit(main())
