"""Shared pieces of the benchmarks: servers, payloads, statistics, subprocesses.

Nothing here imports ``sfn_offload`` or py2sfn-task-tools: workers decide what to import and
when (py2sfn-task-tools creates boto3 clients at import, so its environment must be set first).
Requests are counted with :class:`sfn_offload.testing.RequestCounter` in the workers.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable

#: A pathspec for ``git status``: what the benchmark writes is no change to the code measured.
NOT_RESULTS = ":(exclude)bench/results"

TABLE = "bench-state"
BUCKET = "bench-payloads"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
MAX_WORKERS = 16  # sfn-offload's default max_workers; the floor uses the same pool size
#: The simulated Lambda-to-DynamoDB round trip the latency runs add to every request.
LATENCY_MS = 10.0

#: Environment for every worker: fake credentials, a region, nothing from the caller's AWS setup.
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCOUNT_ID": ACCOUNT_ID,  # py2sfn-task-tools reads it at import
    "AWS_EC2_METADATA_DISABLED": "true",
}


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without AWS/sfn-offload settings, plus :data:`BASE_ENV`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SFN_OFFLOAD_", "SFN_DATA_"))
        and not k.endswith("_ENDPOINT_URL")
    }
    env.update(BASE_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(BENCH)])
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within 30 s")


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server in its own process (its CPU work does not share the client's GIL)."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # werkzeug logs every request
        env=clean_env(),
    )
    try:
        _wait_for_port(port, process, "moto server")
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@contextmanager
def latency_proxy(upstream: str, delay_ms: float) -> Iterator[str]:
    """``bench/proxy.py`` in its own process in front of ``upstream``; yields its URL."""
    host_port = upstream.removeprefix("http://")
    process = subprocess.Popen(
        [PYTHON, str(BENCH / "proxy.py"), "--upstream", host_port, "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"latency proxy did not start (said {line!r})")
        port = int(line.split()[1])
        _wait_for_port(port, process, "latency proxy")
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def http(method: str, url: str) -> bytes:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=60) as response:
        body: bytes = response.read()
        return body


def reset_moto(moto_url: str) -> None:
    """Drop every table, bucket and object (keeps the server's memory flat between runs)."""
    http("POST", f"{moto_url}/moto-api/reset")


def proxy_stats(endpoint: str) -> dict[str, int] | None:
    """Requests the latency proxy forwarded so far (``None`` when ``endpoint`` is moto)."""
    try:
        stats: dict[str, int] = json.loads(http("GET", f"{endpoint}/__bench_proxy__/stats"))[
            "requests"
        ]
    except Exception:
        return None
    return stats


def admin_session() -> Any:
    """A boto3 session with the fake credentials, whatever the caller's environment holds."""
    import boto3

    return boto3.session.Session(
        region_name=REGION,
        aws_access_key_id=BASE_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=BASE_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def create_resources(dynamodb: Any, s3: Any) -> None:
    """The table (py2sfn's key schema, TTL on ``expires_at``) and the bucket."""
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "partition_key", "KeyType": "HASH"},
            {"AttributeName": "sort_key", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "partition_key", "AttributeType": "S"},
            {"AttributeName": "sort_key", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    s3.create_bucket(Bucket=BUCKET)


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    out = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
    return {k: v for k, v in sorted(out.items()) if v}


# --------------------------------------------------------------------------------------------
# payloads: order records with repetitive keys
# --------------------------------------------------------------------------------------------

_STATUSES = ("pending", "paid", "packed", "shipped", "delivered", "returned")
_COUNTRIES = (("DE", "Berlin"), ("FR", "Lyon"), ("US", "Austin"), ("JP", "Osaka"), ("BR", "Recife"))


def order(rng: random.Random, i: int) -> dict[str, Any]:
    """One order (~400 bytes of JSON): the kind of record Map states fan out and reports hold."""
    country, city = rng.choice(_COUNTRIES)
    lines = [
        {
            "sku": f"SKU-{rng.randrange(10_000):05d}",
            "quantity": rng.randrange(1, 5),
            "unit_price": round(rng.uniform(1, 200), 2),
        }
        for _ in range(rng.randrange(1, 4))
    ]
    return {
        "order_id": f"ORD-{i:09d}",
        "customer_id": f"CUST-{rng.randrange(100_000):06d}",
        "status": rng.choice(_STATUSES),
        "created_at": f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
        f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
        "currency": "EUR",
        "total": round(sum(line["quantity"] * line["unit_price"] for line in lines), 2),
        "shipping": {"country": country, "city": city, "method": "standard"},
        "lines": lines,
    }


def orders(total_bytes: int, seed: int = 7) -> list[dict[str, Any]]:
    """Order records whose compact JSON list is about ``total_bytes`` long."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    size = 2
    while size < total_bytes:
        record = order(rng, len(out))
        out.append(record)
        size += len(json.dumps(record, separators=(",", ":"))) + 1
    return out


def small_element(i: int) -> dict[str, Any]:
    """A fan-out element of about 200 bytes of JSON (an order summary)."""
    return {
        "order_id": f"ORD-{i:09d}",
        "customer_id": f"CUST-{i * 7919 % 100_000:06d}",
        "status": _STATUSES[i % len(_STATUSES)],
        "total": round(10 + (i * 37 % 5000) / 7, 2),
        "currency": "EUR",
        "created_at": "2024-06-01T12:00:00Z",
        "country": _COUNTRIES[i % len(_COUNTRIES)][0],
        "line_count": 1 + i % 4,
        "warehouse": f"WH-{i % 17:02d}",
    }


def large_elements(n: int, size: int) -> list[dict[str, Any]]:
    """``n`` shards of about ``size`` bytes each. The order list is shared between shards to
    keep the benchmark's own memory small; every shard still serializes in full and differs
    (its ``shard`` field), so each has its own digest and key."""
    shared = orders(size - 40)
    return [{"shard": i, "orders": shared} for i in range(n)]


def sized_element(i: int, size: int) -> dict[str, Any]:
    """A list element of about ``size`` bytes of compact JSON (at least ~60): an order summary
    padded with a note."""
    element: dict[str, Any] = {
        "order_id": f"ORD-{i:09d}",
        "status": _STATUSES[i % len(_STATUSES)],
        "total": round(10 + (i * 37 % 5000) / 7, 2),
        "note": "",
    }
    element["note"] = "n" * max(0, size - compact_size(element))
    return element


def list_values(small: int, small_bytes: int, large: int, large_bytes: int) -> list[Any]:
    """``small`` elements of ~``small_bytes`` and ``large`` of ~``large_bytes`` (over the item
    budgets, so they go to S3), the large ones spread evenly through the list."""
    total = small + large
    large_at = {round(k * total / large) for k in range(large)} if large else set()
    shared = orders(large_bytes - 40) if large else []
    return [
        {"shard": i, "orders": shared} if i in large_at else sized_element(i, small_bytes)
        for i in range(total)
    ]


def compact_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


# --------------------------------------------------------------------------------------------
# statistics and subprocesses
# --------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def run_json(args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float) -> Any:
    """Run a worker script (``python <args>``) and parse the JSON it prints last."""
    done = subprocess.run(
        [PYTHON, *args],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"worker {' '.join(args)} failed with code {done.returncode}:\n{done.stderr[-4000:]}"
        )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"worker {' '.join(args)} printed nothing:\n{done.stderr[-4000:]}")
    return json.loads(lines[-1])
