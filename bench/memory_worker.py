"""Peak memory of one offload or hydration of a large payload, in a fresh process.

Method: after imports, client warm-up and building the payload, the kernel's RSS high-water mark
is reset (``echo 5 > /proc/self/clear_refs``, Linux >= 4.0) and the current RSS taken as the
baseline; after the operation the high-water mark (``VmHWM``, the same counter as
``getrusage(RUSAGE_SELF).ru_maxrss`` but without the pre-exec memory of the forking parent) is the
peak. Peak minus baseline is what the operation needed at most. Where ``clear_refs`` is
unavailable the baseline is the earlier high-water mark itself (a lower bound of the true delta)
and ``method`` says so.

``--op offload``: ``sfn_offload.offload`` of ``{"status": "ok", "report": <payload>}`` with the
default budget (writes the report to S3 on moto) / floor: one compact ``json.dumps`` +
``put_object``. ``--op hydrate``: ``sfn_offload.hydrate`` of the pointer that offload wrote /
floor: ``json.loads(get_object(...)["Body"].read())``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from typing import Any

import boto3
import common
from common import BUCKET, TABLE

from sfn_offload import OffloadConfig, hydrate, offload
from sfn_offload.budget import inline_budget
from sfn_offload.storage import AwsClients, PayloadRepository


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_bytes() -> int:
    """This process's RSS high-water mark. ``VmHWM`` rather than ``ru_maxrss``: the latter
    also remembers the pre-exec memory of the parent process it was forked from."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _reset_peak() -> str:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return "RSS high-water delta (no clear_refs: baseline is the earlier high-water mark)"
    return "RSS high-water mark (VmHWM) after resetting it with clear_refs"


def payload(shape: str, size: int) -> Any:
    if shape == "records":
        return {"tenant": "acme", "orders": common.orders(size)}
    # Text documents: the Python object is about as large as its JSON.
    base = "".join(f"line {i}: shipped order ORD-{i:09d} to the warehouse\n" for i in range(900))
    count = max(1, size // (len(base) + 10))
    return {"tenant": "acme", "documents": [f"{i:08d}{base}" for i in range(count)]}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("op", choices=["offload", "hydrate"])
    parser.add_argument("impl", choices=["sfn-offload", "floor"])
    parser.add_argument("--shape", choices=["records", "text"], required=True)
    parser.add_argument("--mb", type=float, required=True)
    parser.add_argument("--moto", required=True)
    parser.add_argument("--pointer", help="hydrate: the pointer offload printed (JSON)")
    return parser.parse_args(argv)


def _warm_clients(moto: str) -> tuple[PayloadRepository, Any]:
    """The repository and a plain S3 client, both used once: clients and connection pools exist
    before the baseline (a warm Lambda)."""
    config = OffloadConfig(table=TABLE, bucket=BUCKET, endpoint_urls={"dynamodb": moto, "s3": moto})
    repo = PayloadRepository(config, clients=AwsClients(endpoint_urls=config.endpoint_urls))
    s3 = boto3.session.Session(region_name=common.REGION).client("s3", endpoint_url=moto)
    warm = offload({"a": "y" * 5000, "b": "z" * 400_000}, repo, namespace="warm", budget=1024)
    hydrate(warm, repo)
    s3.put_object(Bucket=BUCKET, Key="warm", Body=b"{}")
    s3.get_object(Bucket=BUCKET, Key="warm")["Body"].read()
    return repo, s3


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    repo, s3 = _warm_clients(args.moto)

    out: dict[str, Any] = {"op": args.op, "impl": args.impl, "shape": args.shape}
    gc.collect()
    before_payload = _rss_bytes()
    if args.op == "offload":
        value = {"status": "ok", "report": payload(args.shape, int(args.mb * 1_000_000))}
        gc.collect()
        out["object_bytes"] = _rss_bytes() - before_payload
        out["payload_bytes"] = common.compact_size(value["report"])
    else:
        pointer = json.loads(args.pointer)
        out["payload_bytes"] = pointer["size"]
    gc.collect()
    out["method"] = _reset_peak()
    baseline = _rss_bytes()
    if "no clear_refs" in out["method"]:
        baseline = max(baseline, _peak_bytes())

    start = time.perf_counter()
    if args.op == "offload" and args.impl == "sfn-offload":
        result = offload(value, repo, namespace="mem", budget=inline_budget(1024))
        out["pointer"] = result["report"]
    elif args.op == "offload":
        body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        s3.put_object(Bucket=BUCKET, Key="floor/report", Body=body)
        del body
        result = None
    elif args.impl == "sfn-offload":
        result = hydrate({"report": pointer}, repo)
    else:
        obj = s3.get_object(Bucket=BUCKET, Key=pointer["key"])
        result = json.loads(obj["Body"].read())
    out["seconds"] = round(time.perf_counter() - start, 3)
    peak = _peak_bytes()
    out["retained_bytes"] = max(0, _rss_bytes() - baseline)  # e.g. the hydrated object
    out["peak_delta_bytes"] = peak - baseline
    if args.op == "hydrate":
        out["object_bytes"] = out["retained_bytes"]
    del result
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
