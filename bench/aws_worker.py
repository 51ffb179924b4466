"""One AWS measurement (a fan-out write, a whole list, or Map iterations' elements) for every
implementation, in one process.

Run by ``bench/run.py`` in a fresh process per (case, latency), with ``DYNAMODB_ENDPOINT_URL`` and
``S3_ENDPOINT_URL`` already pointing at ``--endpoint`` (moto, or the latency proxy in front of
it): py2sfn-task-tools 1.0.2 builds its module-level boto3 clients from them at import.

Implementations, each on its best public path for the job:

- ``sfn-offload``: fan-out ``StateDataClient.put_items``; whole list: a handler under
  ``@state_offload`` receiving the list pointer; one element: the same handler receiving an
  element reference (what a Map's ItemSelector passes). Also, for reads, the explicit client:
  ``get_items`` and ``get_item_for_map_iteration``. An injected boto3 session, everything else
  default (16 workers, lazy clients reused across calls).
- ``py2sfn``: py2sfn-task-tools 1.0.2 ``put_items``, ``get_items`` (one paginated Query, then a
  GET per S3 element, in sequence) and ``get_item_for_map_iteration``, on what its own
  ``put_items`` wrote.
- ``floor``: minimal hand-written boto3 (``floor.py``): ceil(n/25) BatchWriteItem, the
  partition's Query pages, one GetItem per element, one S3 request per large element, all
  requests that can run together concurrent on a 16-thread pool, no checksums, no verification.

Requests are counted by a :class:`~sfn_offload.testing.RequestCounter` on each implementation's
own session (py2sfn: the default session, hooked before py2sfn is imported): its HTTP attempts
(``before-send``, so retries would count too) are the ``requests``; its API calls are kept as a
second view (``library_counted``). In latency runs the proxy's own wire count is recorded as a
cross-check. Prints one JSON object.
"""

from __future__ import annotations

import argparse
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
from aws_harness import Admin, Impl, counted_session, summary, timed
from common import BUCKET, TABLE
from floor import Floor

from sfn_offload.testing import RequestCounter

# py2sfn-task-tools creates its clients at import, from the default session: hook it first.
boto3.setup_default_session(region_name=common.REGION)
PY2SFN_COUNTER = RequestCounter(boto3.DEFAULT_SESSION)

from py2sfn_task_tools.state_data_client import (  # noqa: E402
    StateDataClient as Py2sfnClient,
)

from sfn_offload import OffloadConfig, StateDataClient, state_offload  # noqa: E402
from sfn_offload._identity import resolve_identity  # noqa: E402
from sfn_offload.storage import AwsClients, PayloadRepository  # noqa: E402
from sfn_offload.wire import Pointer  # noqa: E402

EXECUTION_ARN = f"arn:aws:states:{common.REGION}:{common.ACCOUNT_ID}:execution:bench:run-1"


def _sfn_repository(endpoint: str, counter: RequestCounter) -> PayloadRepository:
    config = OffloadConfig(
        table=TABLE, bucket=BUCKET, endpoint_urls={"dynamodb": endpoint, "s3": endpoint}
    )
    clients = AwsClients(
        boto3_session=counted_session(counter),
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
    floor = Floor(args.endpoint, counted_session(floor_counter))
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
            timed(impl, key, args.endpoint, args.proxied, library=name == "sfn-offload")
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
        "impls": {name: summary(impl) for name, impl in runs.items()},
    }


class _Context:
    """The Lambda context attributes the decorator reads."""

    function_name = "bench"
    invoked_function_arn = f"arn:aws:lambda:{common.REGION}:{common.ACCOUNT_ID}:function:bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


def _stored_list(
    args: argparse.Namespace, admin: Admin
) -> tuple[list[Any], str, dict[str, dict[str, int]], dict[str, str]]:
    """The list written by sfn-offload's put_items under ``rows`` and by py2sfn's under
    ``rows-py2sfn``, and a three-element ``warm`` list in both layouts for the warm-up reads
    (setup, not measured). Returns the values, the namespace, what each layout's partition
    holds (see :meth:`Admin.partition`) and each sfn-offload list's digest (what put_items
    returns as ``sha256``, and what a fan_out list pointer carries)."""
    values = common.list_values(args.n, args.size, args.large, args.large_size)
    # The lists are written in the reading execution's namespace, as a task of the same
    # execution writes them: a list without a digest is only read there (#14).
    namespace = resolve_identity({"sfn_execution_arn": EXECUTION_ARN}, None).namespace
    admin.fresh()
    setup = _sfn_repository(admin.moto_url, RequestCounter())
    sfn = StateDataClient(TABLE, namespace, s3_bucket=BUCKET, repository=setup)
    py2sfn = Py2sfnClient(TABLE, namespace, s3_bucket=BUCKET)
    roots = {}
    for key, data in (("rows", values), ("warm", values[:3])):
        roots[key] = sfn.put_items(key, data)["sha256"]
        py2sfn.put_items(f"{key}-py2sfn", data)
    setup.close()
    stored = {
        "sfn-offload": admin.partition(f"{namespace}:rows"),
        "py2sfn": admin.partition(f"{namespace}:rows-py2sfn"),
    }
    return values, namespace, stored, roots


def _decorated(repo: PayloadRepository) -> Callable[[dict[str, Any]], Any]:
    """A handler under @state_offload (its hydrating half: nothing to offload) that returns
    what it received."""

    @state_offload(repository=repo, offload=False)
    def handler(event: dict[str, Any], context: Any) -> Any:
        return event["data"]

    return lambda event: handler(event, _Context())


def whole_list(args: argparse.Namespace, admin: Admin) -> dict[str, Any]:
    """A whole list read by each implementation's best public path."""
    values, namespace, stored, roots = _stored_list(args, admin)
    # The list pointer as sfn-offload hands it on: with the list's digest, checked as it is read.
    events = {
        key: {
            "sfn_execution_arn": EXECUTION_ARN,
            "data": Pointer(
                "dynamodb", TABLE, f"{namespace}:{key}", count=n, sha256=roots[key]
            ).to_dict(with_items=True),
        }
        for key, n in (("rows", len(values)), ("warm", 3))
    }

    floor_counter = RequestCounter()
    floor = Floor(args.endpoint, counted_session(floor_counter))
    layout_counter = RequestCounter()
    layout_floor = Floor(args.endpoint, counted_session(layout_counter))
    decorator_counter = RequestCounter()
    decorator = _decorated(_sfn_repository(args.endpoint, decorator_counter))
    client_counter = RequestCounter()
    client = StateDataClient(
        TABLE, namespace, repository=_sfn_repository(args.endpoint, client_counter)
    )
    py2sfn = Py2sfnClient(TABLE, namespace, s3_bucket=BUCKET)
    runs = {
        "floor": Impl("floor", floor_counter, lambda k: floor.read_list(f"{namespace}:{k}")),
        "sfn-offload": Impl("sfn-offload", decorator_counter, lambda k: decorator(events[k])),
        "sfn-offload get_items": Impl("sfn-offload get_items", client_counter, client.get_items),
        "py2sfn": Impl("py2sfn", PY2SFN_COUNTER, lambda k: py2sfn.get_items(f"{k}-py2sfn")),
        # The floor again, on py2sfn's items: what the two layouts cost moto to serve.
        "floor on py2sfn's items": Impl(
            "floor on py2sfn's items",
            layout_counter,
            lambda k: layout_floor.read_list(f"{namespace}:{k}-py2sfn"),
        ),
    }
    for impl in runs.values():  # a warm Lambda: clients, pools and models exist
        impl.run("warm")
    _repeat(args, runs, values)
    return {
        "case": args.case,
        "n": len(values),
        "small_bytes": args.size,
        "large": args.large,
        "large_bytes": args.large_size,
        "stored": stored["sfn-offload"],
        "stored_py2sfn": stored["py2sfn"],
        "impls": {name: summary(impl) for name, impl in runs.items()},
    }


def element(args: argparse.Namespace, admin: Admin) -> dict[str, Any]:
    """Map iterations, each loading its own element: ``--iterations`` indices spread through
    the list by a stride prime to its length (so about the list's share of them are in S3)."""
    values, namespace, stored, roots = _stored_list(args, admin)
    indices = [k * 7919 % len(values) for k in range(args.iterations)]
    picks = {"rows": indices, "warm": [0, 1, 2]}
    decorator_events = _element_events(
        namespace, {"rows": (len(values), roots["rows"]), "warm": (3, roots["warm"])}, picks
    )
    floor_counter = RequestCounter()
    floor = Floor(args.endpoint, counted_session(floor_counter))
    decorator_counter = RequestCounter()
    decorator = _decorated(_sfn_repository(args.endpoint, decorator_counter))
    client_counter = RequestCounter()
    client = StateDataClient(
        TABLE, namespace, repository=_sfn_repository(args.endpoint, client_counter)
    )
    py2sfn = Py2sfnClient(TABLE, namespace, s3_bucket=BUCKET)
    runs = {
        "floor": Impl(
            "floor",
            floor_counter,
            lambda k: [floor.read_element(f"{namespace}:{k}", i) for i in picks[k]],
        ),
        "sfn-offload": Impl(
            "sfn-offload", decorator_counter, lambda k: [decorator(e) for e in decorator_events[k]]
        ),
        "sfn-offload client": Impl(
            "sfn-offload client",
            client_counter,
            lambda k: [
                client.get_item_for_map_iteration({"items_result_key": k, "context_index": i})
                for i in picks[k]
            ],
        ),
        "py2sfn": Impl(
            "py2sfn",
            PY2SFN_COUNTER,
            lambda k: [
                py2sfn.get_item_for_map_iteration(
                    {"items_result_key": f"{k}-py2sfn", "context_index": i}
                )
                for i in picks[k]
            ],
        ),
    }
    for impl in runs.values():
        impl.run("warm")
    _repeat(args, runs, [values[i] for i in indices])
    return {
        "case": args.case,
        "n": len(values),
        "iterations": len(indices),
        "s3_iterations": sum(1 for i in indices if "shard" in values[i]),
        "small_bytes": args.size,
        "large": args.large,
        "large_bytes": args.large_size,
        "stored": stored["sfn-offload"],
        "impls": {name: summary(impl) for name, impl in runs.items()},
    }


def _element_events(
    namespace: str, lists: dict[str, tuple[int, str]], picks: dict[str, list[int]]
) -> dict[str, list[dict[str, Any]]]:
    """What a Map's ItemSelector passes each iteration: the list's constant-size ref (with the
    list's digest, as fan_out writes it) and the iteration's index, per list."""
    refs = {
        key: Pointer("dynamodb", TABLE, f"{namespace}:{key}", count=n, sha256=root).to_dict()
        for key, (n, root) in lists.items()
    }
    return {
        key: [
            {
                "sfn_execution_arn": EXECUTION_ARN,
                "data": {"sfn_offload_list": refs[key], "sfn_offload_index": i},
            }
            for i in picks[key]
        ]
        for key in lists
    }


def _repeat(args: argparse.Namespace, runs: dict[str, Impl], expected: list[Any]) -> None:
    """The timed reads, implementations interleaved; py2sfn runs ``slow_reps`` times."""
    for rep in range(max(args.reps, args.slow_reps)):
        for name, impl in runs.items():
            if rep >= (args.slow_reps if name == "py2sfn" else args.reps):
                continue
            got = timed(impl, "rows", args.endpoint, args.proxied, library=True)
            if rep == 0 and got != expected:
                raise RuntimeError(f"{name} did not return the stored values")
            del got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["fanout-small", "fanout-large", "list", "element"])
    parser.add_argument("--n", type=int, required=True, help="elements (small ones for lists)")
    parser.add_argument("--size", type=int, default=500_000, help="bytes of an element")
    parser.add_argument("--large", type=int, default=0, help="elements for S3")
    parser.add_argument("--large-size", type=int, default=450_000, help="bytes of those")
    parser.add_argument("--iterations", type=int, default=100, help="element: Map iterations")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--slow-reps", type=int, default=1, help="reads: py2sfn repetitions")
    parser.add_argument("--moto", required=True, help="the moto server (setup, verification)")
    parser.add_argument("--endpoint", required=True, help="what the implementations talk to")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    args.proxied = args.latency_ms > 0
    if os.environ.get("DYNAMODB_ENDPOINT_URL") != args.endpoint:
        raise SystemExit("DYNAMODB_ENDPOINT_URL must be --endpoint (py2sfn reads it at import)")
    admin = Admin(args.moto)
    started = time.perf_counter()
    cases = {"list": whole_list, "element": element}
    out = cases.get(args.case, fanout)(args, admin)
    out["latency_ms"] = args.latency_ms
    out["reps"] = args.reps
    out["worker_seconds"] = round(time.perf_counter() - started, 1)
    out["floor_requests"] = _floor_formula(out)
    print(json.dumps(out))
    return 0


def _floor_formula(out: dict[str, Any]) -> int:
    """The minimum number of requests, from the counts alone (reads: the Query pages moto
    returns for the partition, and one GET per element in S3)."""
    n = out["n"]
    if out["case"] == "fanout-small":
        return math.ceil(n / 25)
    if out["case"] == "fanout-large":
        return math.ceil(n / 25) + n
    if out["case"] == "list":
        return int(out["stored"]["query_pages"] + out["stored"]["s3_objects"])
    return int(out["iterations"] + out["s3_iterations"])


if __name__ == "__main__":
    sys.exit(main())
