"""Measurements that need no AWS at all: decorator overhead, cold start, storage efficiency.

The decorator and storage measurements run in-process on a ``PayloadRepository`` backed by
``MemoryStore`` (passed as ``repository=``), so they time the library's own work only; the
cold-start measurement runs fresh interpreters.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import time
import timeit
from collections.abc import Callable
from typing import Any

import common
from common import BUCKET, PYTHON, TABLE

EXECUTION_ARN = f"arn:aws:states:{common.REGION}:{common.ACCOUNT_ID}:execution:orders:run-42"


class _Context:
    """The attributes of the Lambda Python runtime's context object."""

    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{common.REGION}:{common.ACCOUNT_ID}:function:bench"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "local"
    identity = None
    client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _memory_repository(**config: Any) -> Any:
    from sfn_offload import OffloadConfig
    from sfn_offload.storage import MemoryStore, PayloadRepository

    return PayloadRepository(
        OffloadConfig(table=TABLE, bucket=BUCKET, **config),
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
    )


def sized_event(target: int) -> dict[str, Any]:
    """A Step Functions task input of exactly ``target`` bytes of compact JSON, no pointers."""
    event: dict[str, Any] = {
        "sfn_execution_arn": EXECUTION_ARN,
        "tenant": "acme",
        "orders": common.orders(max(0, target - 600)),
    }
    while common.compact_size(event) > target - 20 and event["orders"]:
        event["orders"].pop()
    pad = target - common.compact_size({**event, "note": ""})
    event["note"] = "x" * max(0, pad)
    return event


def _per_call_us(variants: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median (and ``<name>_min``) microseconds of CPU per call of each variant (timeit with
    this process's CPU clock, so other processes on the machine do not add to it: GC off, loops
    sized to ~20 ms), the variants' samples interleaved so drift hits all of them alike."""
    timers = {name: timeit.Timer(fn, timer=time.process_time) for name, fn in variants.items()}
    numbers = {}
    for name, timer in timers.items():
        number, took = timer.autorange()
        numbers[name] = max(1, int(number * 0.02 / max(took, 1e-9)))  # ~20 ms a sample
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(repeat + 1):
        for name, timer in timers.items():
            took = timer.timeit(numbers[name]) / numbers[name] * 1e6
            if round_:  # the first round only warms caches and the CPU's clock
                samples[name].append(took)
    out = {name: round(common.median(values), 2) for name, values in samples.items()}
    out.update({f"{name}_min": round(min(values), 2) for name, values in samples.items()})
    return out


def decorator_overhead(repeat: int) -> dict[str, Any]:
    from sfn_offload import state_offload

    repo = _memory_repository()
    context = _Context()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"status": "ok", "orders": len(event["orders"])}

    decorated = state_offload(repository=repo)(handler)
    out: dict[str, Any] = {"repeat": repeat, "cases": []}
    for label, size in (("1 KiB", 1024), ("200 KiB", 200 * 1024)):
        out["cases"].append(_pass_through(handler, decorated, context, label, size, repeat))
    out["cases"].append(_offload_decision(repo, context, repeat))
    # The stores are MemoryStore test doubles, which count every call made to them.
    requests = {**repo.dynamodb.requests, **repo.s3.requests}
    out["store_requests"] = sum(requests.values())  # must be 0: pass-through does no I/O
    out["aws_clients_created"] = repo.clients.created  # must be []
    return out


def _pass_through(
    handler: Callable[..., Any],
    decorated: Callable[..., Any],
    context: Any,
    label: str,
    size: int,
    repeat: int,
) -> dict[str, Any]:
    """An event of ``size`` bytes without pointers, a small result: bare vs decorated handler."""
    event = sized_event(size)
    assert decorated(event, context) == handler(event, context)  # really a pass-through
    times = _per_call_us(
        {
            "bare": lambda e=event: handler(e, context),
            "decorated": lambda e=event: decorated(e, context),
            "dumps_loads": lambda e=event: json.loads(json.dumps(e)),
        },
        repeat,
    )
    overhead = times["decorated"] - times["bare"]
    return {
        "case": f"pass-through, {label} event, small result",
        "event_bytes": common.compact_size(event),
        "bare_us": times["bare"],
        "decorated_us": times["decorated"],
        "overhead_us": round(overhead, 2),
        "overhead_us_from_min": round(times["decorated_min"] - times["bare_min"], 2),
        "dumps_loads_us": times["dumps_loads"],
        "overhead_vs_dumps_loads": round(overhead / times["dumps_loads"], 3),
    }


def _offload_decision(repo: Any, context: Any, repeat: int) -> dict[str, Any]:
    """The offload decision alone: a small event, a 200 KiB result that fits the budget."""
    from sfn_offload import state_offload

    event = sized_event(1024)
    big = sized_event(200 * 1024)
    big.pop("sfn_execution_arn")

    def big_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return big

    big_decorated = state_offload(repository=repo)(big_handler)
    assert big_decorated(event, context) is big  # under budget: returned as it is
    times = _per_call_us(
        {
            "bare": lambda: big_handler(event, context),
            "decorated": lambda: big_decorated(event, context),
            "dumps": lambda: json.dumps(big),
        },
        repeat,
    )
    overhead = times["decorated"] - times["bare"]
    return {
        "case": "offload decision, 1 KiB event, 200 KiB result (under budget)",
        "event_bytes": common.compact_size(event),
        "result_bytes": common.compact_size(big),
        "bare_us": times["bare"],
        "decorated_us": times["decorated"],
        "overhead_us": round(overhead, 2),
        "dumps_us": times["dumps"],
        "overhead_vs_dumps": round(overhead / times["dumps"], 3),
    }


# --------------------------------------------------------------------------------------------
# library CPU per hydrated pointer
# --------------------------------------------------------------------------------------------


def hydrate_cpu(pointers: int, repeat: int) -> dict[str, Any]:
    """CPU per pointer of ``hydrate()`` on a MemoryStore repository: an event holding
    ``pointers`` value pointers (what Map iterations return), and a list pointer of as many
    elements; beside it, ``json.loads`` of the same payload bytes (what any reader pays).

    CPU time of this process (``time.process_time``), one discarded warm-up round, then
    ``repeat`` rounds with the variants interleaved; per pointer.
    """
    import gc

    from sfn_offload import StateDataClient, hydrate
    from sfn_offload._identity import resolve_identity
    from sfn_offload.wire import Pointer

    repo = _memory_repository()
    payloads = [
        {"iteration": i, "status": "ok", "total": round(i * 1.25, 2)} for i in range(pointers)
    ]
    values = [
        repo.write_value(f"run-42.9724030d:result-{i}:0", 0, repo.encode(p)).to_dict()
        for i, p in enumerate(payloads)
    ]
    value_event = {"sfn_execution_arn": EXECUTION_ARN, "results": values}
    # In the reading execution's namespace: a list without a digest is only read there (#14).
    namespace = resolve_identity({"sfn_execution_arn": EXECUTION_ARN}, None).namespace
    StateDataClient(TABLE, namespace, repository=repo).put_items("rows", payloads)
    list_pointer = Pointer("dynamodb", TABLE, f"{namespace}:rows", count=pointers)
    list_event = {"sfn_execution_arn": EXECUTION_ARN, "rows": list_pointer.to_dict(with_items=True)}
    bodies = [json.dumps(p, separators=(",", ":")).encode() for p in payloads]
    assert hydrate(value_event, repo)["results"] == payloads
    assert hydrate(list_event, repo)["rows"] == payloads
    variants = {
        "value pointers": lambda: hydrate(value_event, repo),
        "list elements": lambda: hydrate(list_event, repo),
        "json.loads": lambda: [json.loads(b) for b in bodies],
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(repeat + 1):
        for name, fn in variants.items():
            gc.collect()
            start = time.process_time()
            fn()
            took = (time.process_time() - start) / pointers * 1e6
            if round_:
                samples[name].append(took)
    loads = common.median(samples["json.loads"])
    cases = []
    for name, label in (
        ("value pointers", f"{pointers:,} value pointers in an event"),
        ("list elements", f"a list pointer of {pointers:,} elements"),
    ):
        cases.append(
            {
                "case": label,
                "median_us": round(common.median(samples[name]), 2),
                "min_us": round(min(samples[name]), 2),
                "json_loads_us": round(loads, 2),
                "payload_bytes": round(sum(map(len, bodies)) / pointers),
            }
        )
    return {"pointers": pointers, "repeat": repeat, "cases": cases}


# --------------------------------------------------------------------------------------------
# cold start
# --------------------------------------------------------------------------------------------

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)\s*$")

_SIDE_EFFECT_PROBE = textwrap.dedent(
    """
    import json, socket, threading, time
    import boto3, aws_lambda_powertools
    import botocore.client, botocore.endpoint

    clients, requests, connects = [], [], []
    init, send = botocore.client.BaseClient.__init__, botocore.endpoint.Endpoint.make_request
    def spy_init(self, *args, **kwargs):
        clients.append(type(self).__name__)
        init(self, *args, **kwargs)
    def spy_send(self, *args, **kwargs):
        requests.append(1)
        return send(self, *args, **kwargs)
    botocore.client.BaseClient.__init__ = spy_init
    botocore.endpoint.Endpoint.make_request = spy_send
    socket.socket.connect = lambda self, address: connects.append(str(address))
    threads = threading.active_count()

    start = time.perf_counter()
    import sfn_offload
    took = time.perf_counter() - start

    print(json.dumps({
        "import_wall_ms": took * 1000,
        "clients_created": len(clients),
        "requests_sent": len(requests),
        "sockets_connected": len(connects),
        "default_session_is_none": boto3.DEFAULT_SESSION is None,
        "threads_started": threading.active_count() - threads,
    }))
    """
)


def cold_start(repeat: int) -> dict[str, Any]:
    env = common.clean_env()
    # The warm-up run must be able to write .pyc files: with PYTHONDONTWRITEBYTECODE set (some
    # shells and CI images set it), every edited module would be compiled in every measured run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cumulative: dict[str, list[int]] = {"sfn_offload": [], "boto3": [], "aws_lambda_powertools": []}
    code = "import boto3, aws_lambda_powertools; import sfn_offload"
    for run in range(repeat + 1):
        done = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        if run == 0:
            continue  # warms the OS file cache and writes any missing .pyc files
        found = {}
        for line in done.stderr.splitlines():
            match = _IMPORTTIME.match(line)
            if match and match.group(4) in cumulative and len(match.group(3)) == 1:
                found[match.group(4)] = int(match.group(2))
        for name, value in found.items():
            cumulative[name].append(value)
        if "sfn_offload" not in found:
            raise RuntimeError("no top-level sfn_offload line in -X importtime output")
    probes = [
        common.run_json(["-c", _SIDE_EFFECT_PROBE], env=env, timeout=120)
        for _ in range(max(3, repeat // 2))
    ]
    side_effects = {
        key: max(p[key] for p in probes)
        for key in ("clients_created", "requests_sent", "sockets_connected", "threads_started")
    }
    side_effects["default_session_is_none"] = all(p["default_session_is_none"] for p in probes)
    return {
        "repeat": repeat,
        "sfn_offload_import_ms": round(common.median(cumulative["sfn_offload"]) / 1000, 2),
        "sfn_offload_import_min_ms": round(min(cumulative["sfn_offload"]) / 1000, 2),
        "sfn_offload_samples_us": cumulative["sfn_offload"],
        "boto3_import_ms": round(common.median(cumulative["boto3"]) / 1000, 2),
        "powertools_import_ms": round(common.median(cumulative["aws_lambda_powertools"]) / 1000, 2),
        "import_wall_ms": round(common.median([p["import_wall_ms"] for p in probes]), 2),
        "side_effects": side_effects,
    }


# --------------------------------------------------------------------------------------------
# storage efficiency
# --------------------------------------------------------------------------------------------


def storage(sizes_mb: list[float]) -> dict[str, Any]:
    from sfn_offload import StateDataClient
    from sfn_offload.budget import inline_budget
    from sfn_offload.steps import offload_result

    rows = []
    for mb in sizes_mb:
        records = common.orders(int(mb * 1_000_000))
        payload = {"tenant": "acme", "generated_at": "2024-06-01T00:00:00Z", "orders": records}
        result = {"status": "ok", "order_count": len(records), "report": payload}
        py2sfn_bytes = len(json.dumps(payload).encode())  # exactly what py2sfn's put_item stores
        for compression in ("none", "gzip"):
            repo = _memory_repository(compression=compression)
            start = time.perf_counter()
            done = offload_result(
                result, repo, namespace="run-42.9724030d", budget=inline_budget(1024)
            )
            out, stats = done.result, done.stats
            took = time.perf_counter() - start
            placed = _placement(repo)
            item_repo = _memory_repository(compression=compression)
            start = time.perf_counter()
            StateDataClient(TABLE, "run-42", repository=item_repo).put_item("report", payload)
            put_took = time.perf_counter() - start
            rows.append(
                {
                    "payload_mb": mb,
                    "compression": compression,
                    "json_bytes": common.compact_size(payload),
                    "decorator": {
                        **placed,
                        "inline_bytes": stats.inline_bytes,
                        "offloaded_parts": stats.offloaded,
                        "inline_status_kept": out.get("status") == "ok",
                        "seconds": round(took, 3),
                    },
                    "put_item": {**_placement(item_repo), "seconds": round(put_took, 3)},
                    "py2sfn_put_item": {
                        "stored_bytes": py2sfn_bytes,
                        "placement": "S3 (+ item)" if py2sfn_bytes > 390_000 else "DynamoDB",
                    },
                }
            )
    return {"rows": rows}


def _placement(repo: Any) -> dict[str, Any]:
    ddb = list(repo.dynamodb.data.values())
    s3 = list(repo.s3.data.values())
    ddb_bytes = sum(len(r.body or b"") for r in ddb)
    s3_bytes = sum(len(r.body or b"") for r in s3)
    where = []
    if ddb:
        where.append(f"DynamoDB x{len(ddb)}")
    if s3:
        where.append(f"S3 x{len(s3)}")
    return {
        "placement": " + ".join(where) or "kept inline (under budget)",
        "dynamodb_items": len(ddb),
        "dynamodb_payload_bytes": ddb_bytes,
        "s3_objects": len(s3),
        "s3_bytes": s3_bytes,
        "stored_bytes": ddb_bytes + s3_bytes,
        "encodings": sorted({r.encoding for r in ddb + s3}),
    }
