"""The result files of a Distributed Map's ResultWriter, which moto does not write."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .patching import Patches

__all__ = ["install_result_writer", "write_result_files"]


def install_result_writer(patches: Patches, s3_client: Callable[[], Any]) -> None:
    """After moto writes its manifest, write the results and a manifest that lists them.

    moto 5.2's ResultWriter writes a manifest listing no result files and drops the results;
    code that reads them back (``sfn_offload.distributed``) needs both.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (  # noqa: E501
        resource_eval_s3,
    )

    owner = resource_eval_s3.ResourceEvalS3
    original = owner._handle_put_object

    def handle_put_object(env: Any, runtime_part: Any, credentials: Any) -> None:
        # The original pops [results, parameters] and pushes the ResultWriter output.
        results = env.stack[-2] if len(env.stack) > 1 else []
        original(env, runtime_part, credentials)
        written = env.stack[-1]
        if isinstance(results, list) and isinstance(written, dict):
            write_result_files(s3_client(), written, results)

    patches.replace(owner, "_handle_put_object", staticmethod(handle_put_object))


def write_result_files(s3: Any, written: dict[str, Any], results: list[Any]) -> None:
    """Write ``results`` as Step Functions does (OutputType JSON, Transformation NONE).

    One ``SUCCEEDED_0.json`` holding an execution record per child, its Output a JSON string,
    and the manifest (at the key moto reported) rewritten to list it.
    """
    details = written["ResultWriterDetails"]
    bucket, manifest_key = details["Bucket"], details["Key"]
    prefix = manifest_key.rsplit("/", 1)[0]
    run_arn = written["MapRunArn"]
    records = [
        {
            "ExecutionArn": f"{run_arn}:child-{n}",
            "Name": f"child-{n}",
            "Status": "SUCCEEDED",
            "Input": "{}",
            "InputDetails": {"Included": True},
            "Output": json.dumps(result),
            "OutputDetails": {"Included": True},
        }
        for n, result in enumerate(results)
    ]
    body = json.dumps(records).encode("utf-8")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/SUCCEEDED_0.json", Body=body)
    manifest = {
        "DestinationBucket": bucket,
        "MapRunArn": run_arn,
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [{"Key": f"{prefix}/SUCCEEDED_0.json", "Size": len(body)}],
        },
    }
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode())
