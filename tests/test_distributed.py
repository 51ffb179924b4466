"""Distributed Map interop: ItemReader files out, ResultWriter manifests in.

moto 5.2's engine runs Distributed Maps with ``ItemReader`` (InputType JSON and CSV, not JSONL)
and ``ResultWriter`` (it writes only an empty manifest; ``sfn_offload.testing`` fills in the
result files in the documented format). JSONL item files and the FAILED/PENDING, JSONL and
FLATTEN result formats are tested against files of the documented shapes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_offload import OffloadConfig, PayloadTooLargeError, TaskContext, hydrate, state_offload
from sfn_offload.distributed import read_result_writer, write_item_file
from sfn_offload.errors import MapRunFailedError, PointerNotAllowedError
from sfn_offload.storage import Address, MemoryStore, PayloadRepository, Record
from sfn_offload.testing import LocalStepFunctions
from sfn_offload.wire import Pointer, is_pointer


@pytest.fixture
def local() -> Any:
    with LocalStepFunctions() as kit:
        yield kit


def _repo() -> PayloadRepository:
    return PayloadRepository(OffloadConfig.from_env())


def _get(local: LocalStepFunctions, key: str) -> bytes:
    body: bytes = local.client("s3").get_object(Bucket=local.bucket, Key=key)["Body"].read()
    return body


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_item_file_holds_items_and_pointers_for_oversized_elements(
    local: LocalStepFunctions, fmt: str
) -> None:
    """GIVEN items, one over a child's input budget WHEN written THEN it is a pointer inside."""
    repo = _repo()
    items = [{"n": 1}, {"n": 2, "blob": "z" * 300_000}, {"n": 3, "text": "Zoë"}]
    item_file = write_item_file(items, repo, namespace="run-1", name="work", item_format=fmt)
    body = _get(local, item_file.key)
    assert item_file.key == f"sfn-offload/run-1/work-{item_file.sha256[:20]}.{fmt}"
    assert item_file.input_type == fmt.upper()
    assert (item_file.count, item_file.offloaded, item_file.size) == (3, 1, len(body))
    rows = json.loads(body) if fmt == "json" else [json.loads(x) for x in body.splitlines()]
    assert rows[0] == {"n": 1}
    assert rows[2] == {"n": 3, "text": "Zoë"}
    assert is_pointer(rows[1])
    assert repo.read_many([Pointer.from_dict(rows[1])]) == [items[1]]
    assert item_file.to_dict()["Bucket"] == local.bucket


def test_item_file_without_bucket_is_a_configuration_error() -> None:
    from sfn_offload import ConfigurationError
    from sfn_offload.storage import MemoryStore

    repo = PayloadRepository(OffloadConfig(table="state"), dynamodb=MemoryStore())
    with pytest.raises(ConfigurationError, match="bucket"):
        write_item_file([1], repo, namespace="n")


def _producer(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    items = [{"n": n, "payload": "p" * (300_000 if n == 2 else 10)} for n in range(5)]
    repo = PayloadRepository(OffloadConfig.from_env())
    return {"items": write_item_file(items, repo, namespace="run", name="items").to_dict()}


def _child(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    return {"n": event["n"], "length": len(event["payload"])}


def _collect(event: dict[str, Any], context: TaskContext) -> dict[str, Any]:
    results = event["results"]  # the ResultWriter output, hydrated into the list of outputs
    return {"total": sum(r["length"] for r in results), "ns": sorted(r["n"] for r in results)}


DISTRIBUTED = {
    "StartAt": "Produce",
    "States": {
        "Produce": {"Type": "Task", "Resource": "${producer}", "Next": "Each"},
        "Each": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket.$": "$.items.Bucket", "Key.$": "$.items.Key"},
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Child",
                "States": {"Child": {"Type": "Task", "Resource": "${child}", "End": True}},
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "sfn-offload-local", "Prefix": "results"},
            },
            "ResultPath": "$.results",
            "Next": "Collect",
        },
        "Collect": {
            "Type": "Task",
            "Resource": "${collect}",
            "Parameters": {"results.$": "$.results", "sfn_execution_arn.$": "$$.Execution.Id"},
            "End": True,
        },
    },
}
#: An execution of state machine "m", whose Map Run the hand-written manifests below name.
M_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:m:run-1"


def test_distributed_map_end_to_end_on_moto(local: LocalStepFunctions) -> None:
    """Producer writes an item file; children hydrate oversized items; the collector reads the
    ResultWriter manifest as a list."""
    local.register("producer", state_offload(_producer))
    local.register("child", state_offload(_child))
    local.register("collect", state_offload(_collect))
    run = local.run(DISTRIBUTED, {})
    assert run.status == "SUCCEEDED", run.cause
    assert run.output == {"total": 4 * 10 + 300_000, "ns": [0, 1, 2, 3, 4]}


def _write(local: LocalStepFunctions, key: str, body: Any, *, jsonl: bool = False) -> int:
    if jsonl:
        data = b"".join(json.dumps(r).encode() + b"\n" for r in body)
    else:
        data = json.dumps(body).encode()
    local.client("s3").put_object(Bucket=local.bucket, Key=key, Body=data)
    return len(data)


def _record(n: int, status: str, output: Any = None, **extra: Any) -> dict[str, Any]:
    record = {
        "ExecutionArn": f"arn:aws:states:us-east-1:123456789012:execution:m/run:child-{n}",
        "Name": f"child-{n}",
        "Status": status,
        "Input": "{}",
        **extra,
    }
    if output is not None:
        record["Output"] = json.dumps(output)
    return record


def _manifest(local: LocalStepFunctions, files: dict[str, list[str]]) -> dict[str, Any]:
    manifest = {
        "DestinationBucket": local.bucket,
        "MapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:m/run:abc",
        "ResultFiles": {
            s: [{"Key": k, "Size": 1} for k in files.get(s, [])]
            for s in ("FAILED", "PENDING", "SUCCEEDED")
        },
    }
    _write(local, "out/abc/manifest.json", manifest)
    return {
        "MapRunArn": manifest["MapRunArn"],
        "ResultWriterDetails": {"Bucket": local.bucket, "Key": "out/abc/manifest.json"},
    }


def test_result_files_json_jsonl_and_flatten_are_read(local: LocalStepFunctions) -> None:
    _write(local, "out/abc/SUCCEEDED_0.json", [_record(0, "SUCCEEDED", {"v": 0})])
    _write(local, "out/abc/SUCCEEDED_1.json", [_record(1, "SUCCEEDED", {"v": 1})], jsonl=True)
    _write(local, "out/abc/SUCCEEDED_2.json", [{"v": 2}, {"v": 3}])  # FLATTEN: outputs only
    output = _manifest(
        local,
        {
            "SUCCEEDED": [
                "out/abc/SUCCEEDED_0.json",
                "out/abc/SUCCEEDED_1.json",
                "out/abc/SUCCEEDED_2.json",
            ]
        },
    )
    results = read_result_writer(output, _repo())
    assert results.succeeded == [{"v": 0}, {"v": 1}, {"v": 2}, {"v": 3}]
    assert (results.failed, results.pending) == ([], [])


def test_failed_and_pending_children_are_reported_not_dropped(local: LocalStepFunctions) -> None:
    _write(local, "out/abc/SUCCEEDED_0.json", [_record(0, "SUCCEEDED", {"v": 0})])
    _write(local, "out/abc/FAILED_0.json", [_record(1, "FAILED", Error="Boom", Cause="it broke")])
    _write(local, "out/abc/PENDING_0.json", [_record(2, "PENDING")], jsonl=True)
    output = _manifest(
        local,
        {
            "SUCCEEDED": ["out/abc/SUCCEEDED_0.json"],
            "FAILED": ["out/abc/FAILED_0.json"],
            "PENDING": ["out/abc/PENDING_0.json"],
        },
    )
    results = read_result_writer(output, _repo())
    assert results.succeeded == [{"v": 0}]
    assert [r["Error"] for r in results.failed] == ["Boom"]
    assert [r["Name"] for r in results.pending] == ["child-2"]

    @state_offload
    def strict(event: dict[str, Any], context: Any) -> Any:
        return event

    with pytest.raises(MapRunFailedError, match="1 child execution\\(s\\) FAILED and 1 PENDING"):
        strict({"results": output, "sfn_execution_arn": M_EXECUTION}, None)

    @state_offload(result_writer="tolerant")
    def tolerant(event: dict[str, Any], context: Any) -> Any:
        return {"ok": len(event["results"]["succeeded"]), "failed": len(event["results"]["failed"])}

    assert tolerant({"results": output, "sfn_execution_arn": M_EXECUTION}, None) == {
        "ok": 1,
        "failed": 1,
    }


def test_result_writer_bucket_must_be_allowed(local: LocalStepFunctions) -> None:
    output = {
        "MapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:m/run:abc",
        "ResultWriterDetails": {"Bucket": "someone-elses-bucket", "Key": "x/manifest.json"},
    }
    with pytest.raises(PointerNotAllowedError, match="someone-elses-bucket"):
        read_result_writer(output, _repo())


def test_item_batcher_input_hydrates_element_by_element(local: LocalStepFunctions) -> None:
    repo = _repo()
    big = {"rows": list(range(50_000))}
    pointer = repo.write_value("run:batch", 0, repo.encode(big)).to_dict()

    @state_offload
    def batch_child(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {
            "sizes": [len(i["rows"]) if isinstance(i, dict) else i for i in event["Items"]],
            "batch_input": event["BatchInput"],
        }

    out = batch_child({"Items": [pointer, 7, pointer], "BatchInput": {"run": "r"}}, None)
    assert out == {"sizes": [50_000, 7, 50_000], "batch_input": {"run": "r"}}


def _memory_repo() -> PayloadRepository:
    return PayloadRepository(
        OffloadConfig(table="state", bucket="state-bucket"),
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
    )


def test_two_item_files_of_one_execution_do_not_overwrite_each_other() -> None:
    repo = _memory_repo()
    a = write_item_file([{"branch": "A"}], repo, namespace="run-1.abcd")
    b = write_item_file([{"branch": "B"}, {"branch": "B2"}], repo, namespace="run-1.abcd")
    assert a.key != b.key
    again = write_item_file([{"branch": "A"}], repo, namespace="run-1.abcd")
    assert again.key == a.key  # a retry with the same items overwrites itself


def test_hydration_cap_counts_result_writer_outputs_too() -> None:
    repo = _memory_repo()
    big = repo.write_value("ns:a", 0, repo.encode("x" * 6000)).to_dict()
    inner = repo.write_value("ns:b", 0, repo.encode("y" * 6000)).to_dict()
    body = json.dumps([{"ExecutionArn": "arn:x", "Output": json.dumps(inner)}]).encode()
    repo.s3.put(Address("state-bucket", "out/1/SUCCEEDED_0.json"), Record(body))
    manifest = {
        "DestinationBucket": "state-bucket",
        "MapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:m/r:1",
        "ResultFiles": {
            "SUCCEEDED": [{"Key": "out/1/SUCCEEDED_0.json"}],
            "FAILED": [],
            "PENDING": [],
        },
    }
    manifest_body = Record(json.dumps(manifest).encode())
    repo.s3.put(Address("state-bucket", "out/1/manifest.json"), manifest_body)
    event = {
        "a": big,
        "m": {
            "MapRunArn": manifest["MapRunArn"],
            "ResultWriterDetails": {"Bucket": "state-bucket", "Key": "out/1/manifest.json"},
        },
        "sfn_execution_arn": M_EXECUTION,
    }
    assert hydrate(event, repo, max_bytes=20_000)["m"] == ["y" * 6000]
    with pytest.raises(PayloadTooLargeError):
        hydrate(event, repo, max_bytes=10_000)
