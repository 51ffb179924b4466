"""The ``sfn-offload`` console script: show, inspect and setup, on moto.

Exit codes under test: 0 ok, 1 data/integrity/not-found, 2 usage, 3 AWS/configuration.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from moto.server import ThreadedMotoServer

from conftest import AwsResources, create_bucket, create_table
from examples.order_report import handlers
from sfn_offload import OffloadConfig, StateDataClient
from sfn_offload.cli.app import EXIT_AWS, EXIT_DATA, EXIT_OK, EXIT_USAGE, cli, exit_code, main
from sfn_offload.errors import StoreError
from sfn_offload.storage import PayloadRepository
from sfn_offload.testing import LocalStepFunctions
from sfn_offload.wire import Pointer
from sfn_offload.wire.codec import digest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "order_report"
TASKS = ("check_feature", "load_orders", "price_shard", "aggregate")
REPORT = {"status": "ok", "rows": [{"n": n, "city": "Zürich"} for n in range(50)]}
SHARDS = [[{"id": i * 10 + j} for j in range(3)] for i in range(4)]


def invoke(*args: str, code: int = EXIT_OK, stdin: str | None = None) -> Result:
    """Run the CLI in process; fail with its traceback if it crashed instead of exiting."""
    result = CliRunner().invoke(cli, list(args), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI crashed: {result.output}") from result.exception
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def repo(moto_resources: AwsResources) -> PayloadRepository:
    return PayloadRepository(
        OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket)
    )


@pytest.fixture
def value_pointer(repo: PayloadRepository) -> dict[str, Any]:
    pointer = repo.write_value("run-1.0a1b2c3d:report", 0, repo.encode(REPORT))
    assert pointer.backend == "dynamodb"
    return pointer.to_dict()


@pytest.fixture
def list_pointer(repo: PayloadRepository, moto_resources: AwsResources) -> dict[str, Any]:
    key = "run-1.0a1b2c3d:shards"
    repo.write_items(moto_resources.table, key, [repo.encode(s) for s in SHARDS])
    return Pointer("dynamodb", moto_resources.table, key, count=len(SHARDS)).to_dict(
        with_items=True
    )


# --------------------------------------------------------------------------------------------
# show
# --------------------------------------------------------------------------------------------


class TestShow:
    def test_dynamodb_value_pointer_prints_the_verified_data(
        self, moto_resources: AwsResources, value_pointer: dict[str, Any]
    ) -> None:
        """GIVEN a DynamoDB pointer WHEN shown THEN stdout is the data, stderr says verified."""
        result = invoke("show", json.dumps(value_pointer), "--table", moto_resources.table)
        assert json.loads(result.stdout) == REPORT
        assert "  " in result.stdout  # indented by default
        assert "verified" in result.stderr
        assert moto_resources.table in result.stderr

    def test_s3_value_pointer(self, moto_resources: AwsResources) -> None:
        s3_repo = PayloadRepository(OffloadConfig(bucket=moto_resources.bucket))
        pointer = s3_repo.write_value("run-1.0a1b2c3d:report", 0, s3_repo.encode(REPORT))
        assert pointer.backend == "s3"
        result = invoke("show", json.dumps(pointer.to_dict()), "--bucket", moto_resources.bucket)
        assert json.loads(result.stdout) == REPORT
        assert f"s3 bucket {moto_resources.bucket!r}" in result.stderr

    def test_raw_prints_one_line_of_compact_json(
        self, moto_resources: AwsResources, value_pointer: dict[str, Any]
    ) -> None:
        result = invoke("show", "--raw", json.dumps(value_pointer), "--table", moto_resources.table)
        assert result.stdout == json.dumps(REPORT, ensure_ascii=False, separators=(",", ":")) + "\n"

    def test_list_pointer_without_index_prints_count_and_whole_list(
        self, moto_resources: AwsResources, list_pointer: dict[str, Any]
    ) -> None:
        result = invoke("show", json.dumps(list_pointer), "--table", moto_resources.table)
        assert json.loads(result.stdout) == SHARDS
        assert f"list of {len(SHARDS)} element(s)" in result.stderr

    def test_list_pointer_with_index_prints_one_element(
        self, moto_resources: AwsResources, list_pointer: dict[str, Any]
    ) -> None:
        result = invoke(
            "show", json.dumps(list_pointer), "--index", "2", "--table", moto_resources.table
        )
        assert json.loads(result.stdout) == SHARDS[2]

    def test_index_outside_the_list_is_a_usage_error(
        self, moto_resources: AwsResources, list_pointer: dict[str, Any]
    ) -> None:
        result = invoke(
            "show",
            json.dumps(list_pointer),
            "--index",
            "4",
            "--table",
            moto_resources.table,
            code=EXIT_USAGE,
        )
        assert "outside the list of 4" in result.stderr

    def test_index_on_a_value_pointer_is_a_usage_error(
        self, moto_resources: AwsResources, value_pointer: dict[str, Any]
    ) -> None:
        result = invoke(
            "show",
            json.dumps(value_pointer),
            "--index",
            "0",
            "--table",
            moto_resources.table,
            code=EXIT_USAGE,
        )
        assert "Invalid value for --index" in result.stderr
        assert "not to a pointer reference" in result.stderr

    def test_py2sfn_results_item_and_list_element(self, moto_resources: AwsResources) -> None:
        """GIVEN StateDataClient (py2sfn API) results THEN show reads them, --index too."""
        client = StateDataClient(moto_resources.table, "exec-1", s3_bucket=moto_resources.bucket)
        item = client.put_item("jerry", {"name": "jerry"})
        items = client.put_items("characters", [{"name": "elaine"}, {"name": "george"}])
        table = ("--table", moto_resources.table)
        legacy = {k: item[k] for k in ("table_name", "partition_key", "key")}  # py2sfn's keys only
        assert json.loads(invoke("show", json.dumps(legacy), *table).stdout) == {"name": "jerry"}
        assert json.loads(invoke("show", json.dumps(items), *table).stdout) == [
            {"name": "elaine"},
            {"name": "george"},
        ]
        element = invoke("show", json.dumps(items), "--index", "1", *table)
        assert json.loads(element.stdout) == {"name": "george"}

    def test_tampered_pointer_digest_exits_1_with_a_message(
        self, moto_resources: AwsResources, value_pointer: dict[str, Any]
    ) -> None:
        tampered = {**value_pointer, "sha256": digest(b"something else")}
        result = invoke(
            "show", json.dumps(tampered), "--table", moto_resources.table, code=EXIT_DATA
        )
        assert result.stdout == ""
        assert result.stderr.startswith("error: ")
        assert "sha" in result.stderr.lower()
        assert "Traceback" not in result.stderr

    def test_tampered_stored_bytes_exit_1(
        self, moto_resources: AwsResources, value_pointer: dict[str, Any]
    ) -> None:
        moto_resources.dynamodb().update_item(
            TableName=moto_resources.table,
            Key={"partition_key": {"S": value_pointer["key"]}, "sort_key": {"N": "0"}},
            UpdateExpression="SET #d = :d",
            ExpressionAttributeNames={"#d": "data"},
            ExpressionAttributeValues={":d": {"S": json.dumps({"status": "forged"})}},
        )
        result = invoke(
            "show", json.dumps(value_pointer), "--table", moto_resources.table, code=EXIT_DATA
        )
        assert "error: " in result.stderr

    def test_missing_item_exits_1(self, moto_resources: AwsResources) -> None:
        pointer = Pointer("dynamodb", moto_resources.table, "run-1:gone", 0, 2, "0" * 64)
        result = invoke(
            "show", json.dumps(pointer.to_dict()), "--table", moto_resources.table, code=EXIT_DATA
        )
        assert "no such item" in result.stderr
        assert "run-1:gone" in result.stderr

    @pytest.mark.parametrize(
        ("argument", "message"),
        [
            ('{"__sfn_offload__": 1, "backend": ', "not valid JSON"),
            ('{"just": "data"}', "not a pointer"),
            ('{"__sfn_offload__": 9, "backend": "s3"}', "unsupported pointer version 9"),
        ],
        ids=["malformed-json", "not-a-pointer", "bad-version"],
    )
    def test_bad_pointer_argument_is_a_usage_error(self, argument: str, message: str) -> None:
        result = invoke("show", argument, "--table", "state", code=EXIT_USAGE)
        assert message in result.stderr

    def test_pointer_to_a_table_off_the_allow_list_is_refused(
        self, moto_resources: AwsResources, repo: PayloadRepository
    ) -> None:
        """GIVEN a pointer to another table WHEN shown THEN refused unless --allow-any."""
        create_table(moto_resources.dynamodb(), "other-table")
        pointer = repo.write_value("k", 0, repo.encode({"secret": 1}), table="other-table")
        text = json.dumps(pointer.to_dict())
        refused = invoke("show", text, "--table", moto_resources.table, code=EXIT_DATA)
        assert "'other-table', which is not allowed" in refused.stderr
        assert "--allow-any" in refused.stderr  # the hint
        allowed = invoke("show", text, "--allow-any")
        assert json.loads(allowed.stdout) == {"secret": 1}

    def test_allow_list_defaults_to_the_environment(
        self,
        moto_resources: AwsResources,
        value_pointer: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        text = json.dumps(value_pointer)
        refused = invoke("show", text, code=EXIT_DATA)  # nothing configured: nothing allowed
        assert "none configured" in refused.stderr
        monkeypatch.setenv("SFN_OFFLOAD_TABLE", moto_resources.table)
        assert json.loads(invoke("show", text).stdout) == REPORT

    def test_out_writes_the_file_and_nothing_to_stdout(
        self, moto_resources: AwsResources, value_pointer: dict[str, Any], tmp_path: Path
    ) -> None:
        out = tmp_path / "report.json"
        result = invoke(
            "show", json.dumps(value_pointer), "--out", str(out), "--table", moto_resources.table
        )
        assert result.stdout == ""
        assert json.loads(out.read_text(encoding="utf-8")) == REPORT
        assert f"to {out}" in result.stderr

    def test_out_into_a_missing_directory_exits_1(
        self, moto_resources: AwsResources, value_pointer: dict[str, Any], tmp_path: Path
    ) -> None:
        out = tmp_path / "missing" / "report.json"
        result = invoke(
            "show",
            json.dumps(value_pointer),
            "--out",
            str(out),
            "--table",
            moto_resources.table,
            code=EXIT_DATA,
        )
        assert "Could not open file" in result.stderr
        assert "Traceback" not in result.stderr

    def test_dash_reads_the_pointer_from_stdin(
        self, moto_resources: AwsResources, value_pointer: dict[str, Any]
    ) -> None:
        result = invoke(
            "show", "-", "--table", moto_resources.table, stdin=json.dumps(value_pointer)
        )
        assert json.loads(result.stdout) == REPORT

    def test_missing_table_is_an_aws_error_and_debug_shows_the_traceback(
        self, moto_resources: AwsResources
    ) -> None:
        pointer = Pointer("dynamodb", "no-such-table", "k", 0, 2, "0" * 64).to_dict()
        plain = invoke("show", json.dumps(pointer), "--allow-any", code=EXIT_AWS)
        assert "does not exist" in plain.stderr
        assert "Traceback" not in plain.stderr
        debug = invoke("show", json.dumps(pointer), "--allow-any", "--debug", code=EXIT_AWS)
        assert "Traceback" in debug.stderr

    def test_no_region_is_a_configuration_error(
        self,
        moto_resources: AwsResources,
        value_pointer: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
        result = invoke(
            "show", json.dumps(value_pointer), "--table", moto_resources.table, code=EXIT_AWS
        )
        assert "no AWS region" in result.stderr


# --------------------------------------------------------------------------------------------
# endpoints: --endpoint-url applies to every service and wins over AWS_ENDPOINT_URL_*
# --------------------------------------------------------------------------------------------


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_endpoint_url_overrides_the_environment(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=moto_server)
    create_table(ddb, "served-table")
    repo = PayloadRepository(
        OffloadConfig(table="served-table", endpoint_urls={"dynamodb": moto_server})
    )
    text = json.dumps(repo.write_value("k", 0, repo.encode(REPORT)).to_dict())
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")  # nothing listens
    result = invoke("show", text, "--table", "served-table", "--endpoint-url", moto_server)
    assert json.loads(result.stdout) == REPORT
    # Without the option, boto3's own variable applies.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server)
    assert json.loads(invoke("show", text, "--table", "served-table").stdout) == REPORT


def test_endpoint_url_must_be_a_url() -> None:
    result = invoke("show", "{}", "--endpoint-url", "localhost:4566", code=EXIT_USAGE)
    assert "http://" in result.stderr


# --------------------------------------------------------------------------------------------
# inspect: the demo's state machine, run once for the class
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def demo_run() -> Iterator[tuple[LocalStepFunctions, str]]:
    with LocalStepFunctions() as local:
        for name in TASKS:
            local.register(name, getattr(handlers, name))
        run = local.run(
            EXAMPLE / "state_machine.asl.json",
            {"tenant": "acme", "report_enabled": True},
            name="order-report-inspected",
        )
        assert run.status == "SUCCEEDED", (run.error, run.cause)
        yield local, run.arn


class TestInspect:
    ALLOW = ("--table", "sfn-offload-local", "--bucket", "sfn-offload-local")

    def inspect_json(self, arn: str, *args: str, code: int = EXIT_OK) -> dict[str, Any]:
        result = invoke("inspect", arn, "--json", *self.ALLOW, *args, code=code)
        report: dict[str, Any] = json.loads(result.stdout)
        return report

    def test_table_lists_every_state_with_sizes_and_resolved_pointers(
        self, demo_run: tuple[LocalStepFunctions, str]
    ) -> None:
        _, arn = demo_run
        out = invoke("inspect", arn, *self.ALLOW).stdout
        assert f"Execution {arn}: SUCCEEDED" in out
        for label in ("CheckFeature", "LoadOrders", "PriceShards", "PriceShard [*]", "Aggregate"):
            assert f" {label} " in out
        assert "PriceShard [0]" not in out  # the iterations are one group row
        assert "$.orders" in out  # the orders pointer LoadOrders left in the state
        assert out.count("s3 bucket 'sfn-offload-local' key 'sfn-offload/") == 1
        assert "in LoadOrders output $.shards" in out
        assert f"list of {handlers.SHARDS} elements" in out
        assert f"in PriceShard [*] input $.shard ({handlers.SHARDS} runs)" in out
        assert "% of limit" in out

    def test_json_reports_pointers_where_they_live_and_resolved_sizes(
        self, demo_run: tuple[LocalStepFunctions, str]
    ) -> None:
        _, arn = demo_run
        report = self.inspect_json(arn)
        assert report["status"] == "SUCCEEDED"
        assert report["errors"] == []
        assert report["limit_bytes"] == 262_144
        states = {s["label"]: s for s in report["states"]}
        assert len([label for label in states if label.startswith("PriceShard [")]) == 40
        loaded = states["LoadOrders"]["output"]
        by_path = {r["path"]: r for r in loaded["references"]}
        assert by_path["$.orders"]["kind"] == "pointer"
        assert by_path["$.orders"]["backend"] == "s3"
        assert by_path["$.orders"]["bucket"] == "sfn-offload-local"
        assert by_path["$.orders"]["resolved_bytes"] > 2_000_000
        assert by_path["$.shards"] | {"resolved_bytes": None} == {
            "path": "$.shards",
            "kind": "list",
            "backend": "dynamodb",
            "table": "sfn-offload-local",
            "key": by_path["$.shards"]["key"],
            "index": None,
            "count": handlers.SHARDS,
            "stored_bytes": None,
            "resolved_bytes": None,
        }
        assert loaded["inline_bytes"] < 2_000 < loaded["resolved_bytes"]
        shard = states["PriceShard [7]"]["input"]
        (element,) = shard["references"]
        assert (element["path"], element["kind"], element["index"]) == ("$.shard", "element", 7)
        assert element["key"] == by_path["$.shards"]["key"]
        assert shard["resolved_bytes"] > shard["inline_bytes"]
        for state in report["states"]:
            for side in ("input", "output"):
                if state[side] is not None:
                    assert state[side]["inline_bytes"] <= 262_144
                    assert state[side]["percent_of_limit"] < 100

    def test_each_payload_is_read_once_per_walk(
        self, demo_run: tuple[LocalStepFunctions, str]
    ) -> None:
        local, arn = demo_run
        local.aws_calls.clear()
        report = self.inspect_json(arn)
        s3_objects = {
            r["key"]
            for state in report["states"]
            for side in ("input", "output")
            if state[side]
            for r in state[side]["references"]
            if r["backend"] == "s3"
        }
        assert local.aws_calls[("s3", "GetObject")] == len(s3_objects)
        assert local.aws_calls[("dynamodb", "BatchGetItem")] == 1  # 40 elements + 1 item

    def test_state_filter(self, demo_run: tuple[LocalStepFunctions, str]) -> None:
        _, arn = demo_run
        report = self.inspect_json(arn, "--state", "PriceShard", "--state", "Aggregate")
        names = [s["name"] for s in report["states"]]
        assert set(names) == {"PriceShard", "Aggregate"}
        assert names.count("PriceShard") == handlers.SHARDS
        table = invoke("inspect", arn, *self.ALLOW, "--state", "Aggregate").stdout
        assert " Aggregate " in table
        assert "LoadOrders" not in table

    def test_state_filter_on_a_map_brings_its_iterations(
        self, demo_run: tuple[LocalStepFunctions, str]
    ) -> None:
        _, arn = demo_run
        report = self.inspect_json(arn, "--state", "PriceShards")
        names = [s["name"] for s in report["states"]]
        assert names.count("PriceShards") == 1
        assert names.count("PriceShard") == handlers.SHARDS
        assert [(r["label"], r["runs"]) for r in report["rows"]] == [
            ("PriceShards", 1),
            ("PriceShard [*]", handlers.SHARDS),
        ]
        expanded = invoke("inspect", arn, *self.ALLOW, "--state", "PriceShards", "--expand")
        assert f"PriceShard [{handlers.SHARDS - 1}]" in expanded.stdout
        assert "│ PriceShard [*]" not in expanded.stdout  # a table row per run, no group row

    def test_json_lists_each_payload_once_with_its_states(
        self, demo_run: tuple[LocalStepFunctions, str]
    ) -> None:
        _, arn = demo_run
        pointers = self.inspect_json(arn)["pointers"]
        assert len({p["key"] for p in pointers}) == len(pointers) == 4
        shards = next(p for p in pointers if p["kinds"] == ["list", "element"])
        assert shards["count"] == shards["elements"] == handlers.SHARDS
        assert [(c["state"], c["side"], c["runs"]) for c in shards["carried_by"]] == [
            ("LoadOrders", "output", 1),
            ("PriceShards", "input", 1),
            ("PriceShards", "output", 1),
            ("PriceShard [*]", "input", handlers.SHARDS),
            ("Aggregate", "input", 1),
        ]

    def test_html_writes_the_page_and_dash_prints_it(
        self, demo_run: tuple[LocalStepFunctions, str], tmp_path: Path
    ) -> None:
        _, arn = demo_run
        out = tmp_path / "report.html"
        result = invoke("inspect", arn, *self.ALLOW, "--html", str(out))
        assert f"to {out}" in result.stderr
        assert f"Execution {arn}: SUCCEEDED" in result.stdout  # the text report as well
        page = out.read_text(encoding="utf-8")
        root = ET.fromstring(page)
        labels = [g.get("data-label") for g in root.iter("g")]
        assert labels == [
            "CheckFeature",
            "LoadOrders",
            "PriceShards",
            "PriceShard [*]",
            "Aggregate",
        ]
        (pointers,) = [t for t in root.iter("table") if t.get("id") == "pointers"]
        assert len([tr for tr in pointers.iter("tr") if tr.find("td") is not None]) == 4
        assert invoke("inspect", arn, *self.ALLOW, "--html", "-").stdout == page
        both = invoke("inspect", arn, "--html", "-", "--json", code=EXIT_USAGE)
        assert "not with --json" in both.stderr

    def test_refusals_are_one_message_with_the_fix(
        self, demo_run: tuple[LocalStepFunctions, str]
    ) -> None:
        _, arn = demo_run
        result = invoke("inspect", arn, "--table", "other", code=EXIT_DATA)
        errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
        assert len(errors) == 1
        assert "table 'sfn-offload-local' (" in errors[0]
        assert "bucket 'sfn-offload-local' (1 pointer)" in errors[0]
        assert "--bucket sfn-offload-local --table sfn-offload-local" in errors[0]
        assert "--allow-any" in errors[0]

    def test_unknown_state_exits_1_naming_the_states_that_ran(
        self, demo_run: tuple[LocalStepFunctions, str]
    ) -> None:
        _, arn = demo_run
        result = invoke("inspect", arn, *self.ALLOW, "--state", "Nope", code=EXIT_DATA)
        assert "no state named Nope" in result.stderr
        assert "CheckFeature, LoadOrders, PriceShards, PriceShard, Aggregate" in result.stderr

    def test_no_resolve_reads_no_payload(self, demo_run: tuple[LocalStepFunctions, str]) -> None:
        local, arn = demo_run
        local.aws_calls.clear()
        report = invoke("inspect", arn, "--json", "--no-resolve").stdout  # no allow-list needed
        loaded = next(s for s in json.loads(report)["states"] if s["name"] == "LoadOrders")
        assert loaded["output"]["resolved_bytes"] is None
        assert len(loaded["output"]["references"]) == 2
        assert not [k for k in local.aws_calls if k[0] in ("dynamodb", "s3")]

    def test_data_prints_resolved_documents(self, demo_run: tuple[LocalStepFunctions, str]) -> None:
        _, arn = demo_run
        report = self.inspect_json(arn, "--state", "PriceShard", "--data")
        first = report["states"][0]
        assert isinstance(first["input"]["data"]["shard"], list)  # the element, not a reference
        assert len(first["input"]["data"]["shard"]) == handlers.ORDERS_PER_SHARD

    def test_pointers_off_the_allow_list_are_reported_per_state(
        self, demo_run: tuple[LocalStepFunctions, str]
    ) -> None:
        _, arn = demo_run
        result = invoke("inspect", arn, "--state", "Aggregate", code=EXIT_DATA)
        assert "not allowed" in result.stdout  # listed in the report's errors
        assert " Aggregate " in result.stdout
        assert invoke("inspect", arn, "--state", "Aggregate", "--allow-any").exit_code == 0

    def test_a_tampered_payload_fails_only_the_states_that_use_it(
        self, demo_run: tuple[LocalStepFunctions, str]
    ) -> None:
        local, arn = demo_run
        report = self.inspect_json(arn, "--state", "PriceShard")
        key = report["states"][0]["input"]["references"][0]["key"]
        ddb = local.client("dynamodb")
        item_key = {"partition_key": {"S": key}, "sort_key": {"N": "5"}}
        original = ddb.get_item(TableName=local.table, Key=item_key)["Item"]
        ddb.put_item(TableName=local.table, Item={**original, "data": {"S": "[]"}})
        try:
            report = self.inspect_json(arn, "--state", "PriceShard", code=EXIT_DATA)
        finally:
            ddb.put_item(TableName=local.table, Item=original)
        failed = [s["label"] for s in report["states"] if s["input"]["error"]]
        assert failed == ["PriceShard [5]"]
        assert report["errors"][0].startswith("PriceShard [5] input: ")

    def test_unknown_execution_exits_1(self, demo_run: tuple[LocalStepFunctions, str]) -> None:
        arn = "arn:aws:states:us-east-1:123456789012:execution:order-report:never-ran"
        result = invoke("inspect", arn, code=EXIT_DATA)
        assert "ExecutionDoesNotExist" in result.stderr

    def test_malformed_arn_is_a_usage_error(self) -> None:
        result = invoke("inspect", "order-report-inspected", code=EXIT_USAGE)
        assert "EXECUTION_ARN" in result.stderr


# --------------------------------------------------------------------------------------------
# setup
# --------------------------------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.mark.usefixtures("aws")
class TestSetup:
    def test_creates_table_and_bucket_then_validates_them(self) -> None:
        first = invoke("setup", "--table", "payloads", "--bucket", "payload-bucket")
        assert "table payloads: created" in first.stdout
        assert "bucket payload-bucket: created" in first.stdout
        assert "MISMATCH" not in first.stdout
        ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        ttl = ddb.describe_time_to_live(TableName="payloads")["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
        table = ddb.describe_table(TableName="payloads")["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        block = s3.get_public_access_block(Bucket="payload-bucket")
        assert all(block["PublicAccessBlockConfiguration"].values())
        rules = s3.get_bucket_lifecycle_configuration(Bucket="payload-bucket")["Rules"]
        assert sorted((r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in rules) == [
            ("sfn-offload/", 380),  # the default lifetime: a Standard execution's year + redrive
            ("workflow_state_data/", 380),
        ]
        second = invoke("setup", "--table", "payloads", "--bucket", "payload-bucket")
        assert "table payloads: exists" in second.stdout
        assert "bucket payload-bucket: exists" in second.stdout
        assert second.stdout.count("  ok ") == 7  # 3 table checks, 4 bucket checks
        assert "SFN_OFFLOAD_TABLE=payloads SFN_OFFLOAD_BUCKET=payload-bucket" in second.stdout

    def test_the_lifecycle_rules_cover_a_custom_s3_prefix(self) -> None:
        """GIVEN functions writing under SFN_OFFLOAD_S3_PREFIX=team-a/ WHEN setup runs with it
        THEN the bucket's lifecycle expires that prefix too, and a bucket without a rule for it
        is reported."""
        invoke("setup", "--bucket", "payload-bucket", "--s3-prefix", "team-a/", "--ttl-days", "9")
        rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket="payload-bucket")
        assert sorted(r["Filter"]["Prefix"] for r in rules["Rules"]) == [
            "team-a/",
            "workflow_state_data/",
        ]
        other = invoke(
            "setup", "--bucket", "payload-bucket", "--ttl-days", "9", code=EXIT_DATA
        ).stdout
        assert "MISMATCH lifecycle sfn-offload/" in other

    def test_a_table_with_another_key_schema_is_reported_and_exits_1(self) -> None:
        boto3.client("dynamodb").create_table(
            TableName="legacy",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        result = invoke("setup", "--table", "legacy", code=EXIT_DATA)
        assert "MISMATCH key schema: found id (S, HASH), expected partition_key (S, HASH)" in (
            result.stdout
        )
        assert "MISMATCH TTL: found disabled" in result.stdout
        assert "does not match" in result.stderr

    def test_an_existing_bucket_without_lifecycle_or_block_is_reported(self) -> None:
        create_bucket(boto3.client("s3"), "bare-bucket", "us-east-1")
        result = invoke("setup", "--bucket", "bare-bucket", "--ttl-days", "3", code=EXIT_DATA)
        assert "MISMATCH lifecycle sfn-offload/: no expiry rule" in result.stdout
        assert "MISMATCH public access block" in result.stdout

    def test_lifecycle_days_must_match_the_ttl(self) -> None:
        invoke("setup", "--bucket", "payload-bucket", "--ttl-days", "7")
        result = invoke("setup", "--bucket", "payload-bucket", "--ttl-days", "3", code=EXIT_DATA)
        assert "expires after 7 days, expected 3" in result.stdout

    def test_a_custom_s3_prefix_gets_its_own_lifecycle_rule(self) -> None:
        """GIVEN --s3-prefix orders/payloads/ WHEN setup creates the bucket THEN its lifecycle
        rules expire that prefix and py2sfn's, and the line to configure the functions has it."""
        result = invoke("setup", "--bucket", "payload-bucket", "--s3-prefix", "orders/payloads/")
        rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket="payload-bucket")
        assert sorted((r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in rules["Rules"]) == [
            ("orders/payloads/", 380),
            ("workflow_state_data/", 380),
        ]
        assert "lifecycle orders/payloads/" in result.stdout
        assert "SFN_OFFLOAD_S3_PREFIX=orders/payloads/" in result.stdout

    def test_the_prefix_comes_from_sfn_offload_s3_prefix(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SFN_OFFLOAD_S3_PREFIX", "tenant-a/")
        invoke("setup", "--bucket", "payload-bucket")
        rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket="payload-bucket")
        assert {r["Filter"]["Prefix"] for r in rules["Rules"]} == {
            "tenant-a/",
            "workflow_state_data/",
        }

    def test_a_bucket_set_up_for_another_prefix_is_reported(self) -> None:
        """GIVEN a bucket set up with the default prefix WHEN setup checks it for a custom
        prefix THEN the missing rule is a MISMATCH naming the prefix (objects would never
        expire), and the bucket is left as it was."""
        invoke("setup", "--bucket", "payload-bucket")
        result = invoke(
            "setup", "--bucket", "payload-bucket", "--s3-prefix", "orders/", code=EXIT_DATA
        )
        assert "MISMATCH lifecycle orders/: no expiry rule" in result.stdout
        assert "'orders/'" in result.stdout

    def test_an_invalid_prefix_is_a_usage_error(self) -> None:
        result = invoke("setup", "--bucket", "payload-bucket", "--s3-prefix", "/x", code=EXIT_USAGE)
        assert "must not start with '/'" in result.stderr

    def test_needs_a_table_or_a_bucket_with_a_valid_name(self) -> None:
        assert "--table, --bucket" in invoke("setup", code=EXIT_USAGE).stderr
        assert "not a valid" in invoke("setup", "--bucket", "Not_A_Bucket", code=EXIT_USAGE).stderr


def test_print_template_passes_cfn_lint_and_creates_nothing(tmp_path: Path) -> None:
    # No mock_aws here: any AWS request would fail for want of real credentials.
    result = invoke(
        "setup", "--table", "payloads", "--bucket", "payload-bucket", "--ttl-days", "3",
        "--print-template",
    )  # fmt: skip
    template = tmp_path / "template.yaml"
    template.write_text(result.stdout, encoding="utf-8")
    for needle in (
        'TableName: "payloads"',
        'BucketName: "payload-bucket"',
        "AttributeName: expires_at",
        'Prefix: "sfn-offload/"',
        'Prefix: "workflow_state_data/"',
        "ExpirationInDays: 3",
        "RestrictPublicBuckets: true",
    ):
        assert needle in result.stdout
    # a custom prefix, and "" (the whole bucket, one rule), must lint as well
    custom = invoke("setup", "--bucket", "b-custom", "--s3-prefix", "orders/", "--print-template")
    assert 'Prefix: "orders/"' in custom.stdout
    assert 'Prefix: "workflow_state_data/"' in custom.stdout
    assert 'Value: "orders/"' in custom.stdout
    everything = invoke("setup", "--bucket", "b-all", "--s3-prefix", "", "--print-template")
    assert everything.stdout.count("Prefix:") == 1
    (tmp_path / "custom.yaml").write_text(custom.stdout, encoding="utf-8")
    (tmp_path / "all.yaml").write_text(everything.stdout, encoding="utf-8")
    lint = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            str(template),
            str(tmp_path / "custom.yaml"),
            str(tmp_path / "all.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


# --------------------------------------------------------------------------------------------
# the script itself
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (StoreError("x", code="ExecutionDoesNotExist"), EXIT_DATA),
        (StoreError("x", code="InvalidArn"), EXIT_USAGE),
        (StoreError("x", code="AccessDeniedException"), EXIT_AWS),
    ],
)
def test_aws_error_codes_map_to_exit_codes(error: Exception, code: int) -> None:
    assert exit_code(error) == code


def test_console_script_entry_point_and_help_document_exit_codes() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "sfn-offload"]
    assert script.value == "sfn_offload.cli:main"
    help_text = invoke("--help").stdout
    assert "Exit codes:" in help_text
    for line in ("0  success", "1  data problem", "2  usage error", "3  AWS or configuration"):
        assert line in help_text
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0


def test_importing_the_library_does_not_import_click_or_rich() -> None:
    probe = "import sys, sfn_offload; print(sorted({'click', 'rich'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
