"""Security: the allow-list, encryption and owner options on the wire, payloads never logged, and
an IAM policy that is least privilege and matches the docs.

Functional tests take the ``aws`` fixture: they run on moto and, with
``SFN_OFFLOAD_TEST_REAL_AWS=1``, against a real account.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.cfn import load_template

from conftest import AwsResources
from fakes import FakeLambdaContext
from sfn_offload import (
    NoItemFound,
    OffloadConfig,
    SfnOffloadError,
    StateDataClient,
    StopExecution,
    fan_out,
    hydrate,
    offload,
    state_offload,
)
from sfn_offload._stop import send_stop
from sfn_offload.errors import (
    IntegrityError,
    PayloadEncodingError,
    PointerNotAllowedError,
    StopExecutionError,
)
from sfn_offload.storage import AwsClients, PayloadRepository

ROOT = Path(__file__).resolve().parent.parent
NS = "exec-sec"


class Wire:
    """Records every request that reaches AWS and the parameters it was built from."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.params: list[tuple[str, dict[str, Any]]] = []

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-send", self._sent)
        client.meta.events.register("before-parameter-build", self._params)
        return client

    def _sent(self, event_name: str, **_: Any) -> None:
        self.sent.append(event_name.split(".", 1)[1])

    def _params(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        self.params.append((event_name.split(".", 1)[1], dict(params)))

    def operations(self) -> set[str]:
        return {name for name, _ in self.params}


def _repo(res: AwsResources, wire: Wire, **config: Any) -> PayloadRepository:
    settings: dict[str, Any] = {"table": res.table, "bucket": res.bucket, **config}
    return PayloadRepository(
        OffloadConfig(**settings),
        clients=AwsClients(
            dynamodb_client=wire.attach(res.dynamodb()), s3_client=wire.attach(res.s3())
        ),
    )


# --------------------------------------------------------------------------------------------
# allow-list: checked before any request
# --------------------------------------------------------------------------------------------


def test_pointers_off_the_allow_list_are_refused_before_any_request(aws: AwsResources) -> None:
    """GIVEN an event mixing valid pointers with one naming another table (or bucket)
    WHEN it is hydrated THEN PointerNotAllowedError names it, and no request was sent at all
    (not even for the valid ones)."""
    writer = _repo(aws, Wire(), item_budget_bytes=1_300)
    good = offload(
        {"a": "x" * 1_500, "b": "y" * 1_200}, writer, namespace=NS, budget=700
    )  # one S3 object, one item
    assert {p["backend"] for p in good.values()} == {"s3", "dynamodb"}
    for backend, field, name in (("dynamodb", "table", "other-table"), ("s3", "bucket", "other-b")):
        wire = Wire()
        reader = _repo(aws, wire)
        stolen = next({**p, field: name} for p in good.values() if p["backend"] == backend)
        event = {"ok": good, "list": [{"deep": stolen}]}

        with pytest.raises(PointerNotAllowedError, match=f"{field} '{name}', which is not allowed"):
            hydrate(event, reader)

        assert wire.sent == []
    assert hydrate(good, _repo(aws, Wire())) == {"a": "x" * 1_500, "b": "y" * 1_200}


def test_explicit_allow_lists_extend_the_defaults_and_nothing_else(
    moto_resources: AwsResources,
) -> None:
    res = moto_resources
    from conftest import create_table

    create_table(res.dynamodb(), "other-table")
    other = _repo(res, Wire(), table="other-table")
    pointer = other.write_value("k", 0, other.encode({"v": 1})).to_dict()

    wire = Wire()
    with pytest.raises(PointerNotAllowedError):
        hydrate({"p": pointer}, _repo(res, wire))
    assert wire.sent == []

    allowed = _repo(res, Wire(), allowed_tables=[res.table, "other-table"])
    assert hydrate({"p": pointer}, allowed) == {"p": {"v": 1}}
    assert allowed.config.allowed_buckets == frozenset({res.bucket})


def test_map_iteration_events_naming_other_tables_are_refused_before_any_request(
    aws: AwsResources,
) -> None:
    wire = Wire()
    client = StateDataClient(aws.table, NS, repository=_repo(aws, wire))
    event = {
        "items_result_table_name": "other-table",
        "items_result_partition_key": "x:rows",
        "context_index": 0,
    }

    with pytest.raises(PointerNotAllowedError):
        client.get_global_item_for_map_iteration(event)
    with pytest.raises(PointerNotAllowedError):
        client.put_global_item_for_map_iteration(event, {"result": 1})

    assert wire.sent == []


# --------------------------------------------------------------------------------------------
# SSE-KMS and ExpectedBucketOwner reach the requests
# --------------------------------------------------------------------------------------------


def test_kms_key_and_expected_bucket_owner_reach_every_s3_request(aws: AwsResources) -> None:
    """GIVEN kms_key_id (the AWS-managed key alias, present in every account) and the account
    as expected_bucket_owner WHEN payloads are written, read and replaced in both layouts
    THEN every PutObject asks for SSE-KMS with that key, every S3 request names the owner, and
    the stored objects are encrypted with aws:kms."""
    account = boto3.client("sts", region_name=aws.region).get_caller_identity()["Account"]
    wire = Wire()
    repo = _repo(
        aws,
        wire,
        item_budget_bytes=1_000,
        kms_key_id="alias/aws/s3",
        expected_bucket_owner=account,
    )
    client = StateDataClient(aws.table, NS, repository=repo)
    big = {"text": "k" * 2_000}

    client.put_item("big", big)  # item layout: overflow object
    assert client.get_item("big") == big
    client.put_item("big", {"small": True})  # replaces it: the overflow object is deleted
    out = offload({"part": big}, repo, namespace=NS, budget=400)  # value layout: direct object
    assert hydrate(out, repo) == {"part": big}

    s3_calls = [(op, params) for op, params in wire.params if op.startswith("s3.")]
    operations = {op for op, _ in s3_calls}
    assert {"s3.PutObject", "s3.GetObject", "s3.DeleteObjects"} <= operations
    for op, params in s3_calls:
        assert params.get("ExpectedBucketOwner") == account, op
        if op == "s3.PutObject":
            assert params["ServerSideEncryption"] == "aws:kms"
            assert params["SSEKMSKeyId"] == "alias/aws/s3"
    head = aws.s3().head_object(Bucket=aws.bucket, Key=out["part"]["key"])
    assert head["ServerSideEncryption"] == "aws:kms"


# --------------------------------------------------------------------------------------------
# payloads, StopExecution error and cause never reach a log
# --------------------------------------------------------------------------------------------


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.paused = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.paused:
            self.records.append(record)

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        """For the test's own raw requests (tampering with stored data), which are the
        application's requests, not sfn-offload's, and are logged by botocore as they are."""
        self.paused = True
        try:
            yield
        finally:
            self.paused = False

    def text(self) -> str:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return "\n".join(formatter.format(r) for r in self.records)


@pytest.fixture
def all_logs() -> Iterator[Capture]:
    """Every logger at DEBUG, propagating to one capturing handler on the root."""
    capture = Capture()
    root = logging.getLogger()
    saved = [(root, root.level, root.disabled, root.propagate)]
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            saved.append((logger, logger.level, logger.disabled, logger.propagate))
            logger.setLevel(logging.DEBUG)
            logger.disabled = False
            logger.propagate = True
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for logger, level, disabled, propagate in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.propagate = propagate


def _running_execution(region: str) -> str:
    sfn = boto3.client("stepfunctions", region_name=region)
    machine = sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "W", "States": {"W": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    return sfn.start_execution(stateMachineArn=machine, name="run-1")["executionArn"]


def test_no_payload_nor_stop_error_or_cause_appears_in_any_log(
    moto_resources: AwsResources, all_logs: Capture
) -> None:
    """GIVEN every logger of the process at DEBUG (sfn_offload, botocore, urllib3, moto...)
    WHEN payloads carrying a marker are offloaded and hydrated (items, S3 objects, a fan-out,
    the explicit client), a task stops its execution with the marker as error and cause, and
    loads fail (tampered item, missing object, unencodable result)
    THEN the marker is in no log record, and in no error message."""
    res = moto_resources
    marker = f"PAYLOAD-MARKER-{uuid.uuid4().hex}"
    repo = _repo(res, Wire(), item_budget_bytes=2_000)
    client = StateDataClient(res.table, NS, repository=repo)
    with all_logs.pause():
        arn = _running_execution(res.region)
    payload = {
        "status": "ok",
        "small": [marker] * 60,  # ~3 KB: over the item budget? no: an item; gzip off
        "large": {"rows": [f"{marker}-{i}" for i in range(100)]},  # S3
        "rows": fan_out([{"v": marker, "i": i} for i in range(30)]),
    }

    @state_offload(repository=repo, max_inline_bytes=2_000)
    def produce(event: dict[str, Any], context: Any) -> Any:
        return payload

    @state_offload(repository=repo)
    def consume(event: dict[str, Any], context: Any) -> Any:
        assert event["large"]["rows"][0].startswith(marker)
        raise StopExecution(error=f"E-{marker}", cause=f"C-{marker}")

    out = produce({"sfn_execution_arn": arn}, FakeLambdaContext())
    assert marker not in json.dumps(out)
    summary = consume({**out, "sfn_execution_arn": arn}, FakeLambdaContext())
    assert summary["stopped"] is True
    with pytest.raises(StopExecutionError) as stop_failed:
        send_stop(repo.clients.stepfunctions, arn.replace("run-1", "missing"), marker, marker)

    client.put_item("k", {"v": marker})
    client.put_items("l", [marker, {"m": marker * 50}])
    assert client.get_item("k") == {"v": marker}
    assert client.get_items("l")[0] == marker
    errors: list[SfnOffloadError] = [stop_failed.value]
    with all_logs.pause():
        key = {"partition_key": {"S": f"{NS}:k"}, "sort_key": {"N": "0"}}
        item = res.dynamodb().get_item(TableName=res.table, Key=key)["Item"]
        item["data"] = {"S": item["data"]["S"].replace(marker, marker.lower())}
        res.dynamodb().put_item(TableName=res.table, Item=item)
    with pytest.raises(IntegrityError) as tampered:
        client.get_item("k")
    errors.append(tampered.value)
    s3_pointer = next(p for p in out.values() if isinstance(p, dict) and p.get("backend") == "s3")
    with all_logs.pause():
        res.s3().delete_object(Bucket=res.bucket, Key=s3_pointer["key"])
    with pytest.raises(NoItemFound) as missing:
        hydrate(out, repo)
    errors.append(missing.value)
    with pytest.raises(PayloadEncodingError) as unencodable:
        offload({"a": marker, "b": {marker}}, repo, namespace=NS, budget=10)
    errors.append(unencodable.value)

    logged = all_logs.text()
    assert all_logs.records  # DEBUG logging really was on
    assert any(r.name.startswith("botocore") for r in all_logs.records)
    assert "redacted by sfn-offload" in logged  # botocore's wire logs of our requests
    assert marker not in logged
    assert marker.lower() not in logged
    for error in errors:
        assert marker not in str(error)


def test_the_applications_own_requests_are_not_redacted(
    moto_resources: AwsResources, all_logs: Capture
) -> None:
    """The filter only touches records of requests sfn-offload sends."""
    repo = _repo(moto_resources, Wire())
    repo.write_value("k", 0, repo.encode("LIBRARY-VALUE"))  # installs the filter
    client = moto_resources.dynamodb()
    client.put_item(
        TableName=moto_resources.table,
        Item={"partition_key": {"S": "APP-OWN-VALUE"}, "sort_key": {"N": "0"}},
    )
    logged = all_logs.text()
    assert "APP-OWN-VALUE" in logged
    assert "LIBRARY-VALUE" not in logged


# --------------------------------------------------------------------------------------------
# IAM: least privilege, and the docs match the example template
# --------------------------------------------------------------------------------------------


def template_task_role() -> list[dict[str, Any]]:
    """The TaskRole's statements, with ``${Parameter}`` references replaced by their defaults."""
    text = (ROOT / "examples" / "order_report" / "template.yaml").read_text("utf-8")
    template = load_template(text)
    defaults = {name: p["Default"] for name, p in template["Parameters"].items() if "Default" in p}
    for name, value in defaults.items():
        text = text.replace(f"${{{name}}}", str(value))
    template = load_template(text)
    role = template["Resources"]["TaskRole"]["Properties"]
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def template_actions() -> set[str]:
    actions: set[str] = set()
    for statement in template_task_role():
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def readme_actions() -> tuple[set[str], set[str]]:
    """(actions always needed, actions needed with kms_key_id) from README.md's IAM section."""
    text = (ROOT / "README.md").read_text("utf-8")
    section = re.search(r"^## IAM\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README.md has no '## IAM' section"
    body = section.group(1)
    always, _, with_kms = body.partition("`kms_key_id`")
    return _actions(always), _actions(with_kms)


def _actions(text: str) -> set[str]:
    found: set[str] = set()
    prefix = None
    for token in re.findall(r"`([^`]+)`", text):
        if re.fullmatch(r"[a-z0-9]+:[A-Za-z]+", token):
            prefix = token.split(":")[0]
            found.add(token)
        elif re.fullmatch(r"[A-Z][A-Za-z]+", token) and prefix:
            found.add(f"{prefix}:{token}")  # "`dynamodb:GetItem`, `PutItem`" lists share a prefix
    return found


#: IAM action of each API operation the library sends (DeleteObjects needs s3:DeleteObject).
IAM_ACTION = {
    "s3.DeleteObjects": "s3:DeleteObject",
    "s3.HeadObject": "s3:GetObject",
}


def _iam_action(operation: str) -> str:
    """``dynamodb.PutItem`` -> ``dynamodb:PutItem``; botocore calls Step Functions ``sfn``."""
    service, name = operation.split(".")
    prefix = "states" if service == "sfn" else service
    return f"{prefix}:{name}"


#: Granted by the template and listed in README.md but never sent by sfn-offload. Empty: the
#: library reads items with BatchGetItem and Query only, so GetItem is not granted.
GRANTED_BUT_UNUSED: set[str] = set()


def test_the_readme_iam_section_lists_exactly_the_template_task_role_actions() -> None:
    always, with_kms = readme_actions()
    assert always == template_actions()
    assert with_kms == {"kms:GenerateDataKey", "kms:Decrypt"}


def test_the_template_grants_what_the_library_sends_and_nothing_more(
    moto_resources: AwsResources,
) -> None:
    """GIVEN a run through every code path that talks to AWS (both layouts, overwrite and
    shrink, lists, hydration, StopExecution and its fallback DescribeExecution)
    WHEN the operations sent are mapped to IAM actions THEN the template's TaskRole grants all
    of them, on resources that cover every key written, and grants nothing else."""
    res = moto_resources
    wire = Wire()
    repo = _repo(res, wire, item_budget_bytes=1_000)
    wire.attach(repo.clients.stepfunctions)
    client = StateDataClient(res.table, NS, repository=repo)
    big = {"t": "b" * 1_500}
    client.put_item("k", big)
    client.get_item("k")
    client.put_item("k", 1)
    client.put_items("l", [big, 2, 3])
    client.put_items("l", [4])
    client.get_items("l")
    out = offload({"p": big, "rows": fan_out([1, 2])}, repo, namespace=NS, budget=1_000)
    hydrate(out, repo)
    arn = _running_execution(res.region)
    send_stop(repo.clients.stepfunctions, arn, "E", "C")
    with pytest.raises(StopExecutionError):
        send_stop(repo.clients.stepfunctions, arn.replace("run-1", "missing"), "E", "C")

    used = {IAM_ACTION.get(op, _iam_action(op)) for op in wire.operations()}
    granted = template_actions()
    assert used <= granted, f"not granted: {sorted(used - granted)}"
    assert granted - used <= GRANTED_BUT_UNUSED, f"granted but unused: {sorted(granted - used)}"
    prefixes = [
        resource.split("}/", 1)[1].rstrip("*")
        for statement in template_task_role()
        if any(a.startswith("s3:") for a in statement["Action"])
        for resource in statement["Resource"]
    ]
    keys = {params["Key"] for op, params in wire.params if "Key" in params}
    keys |= {
        obj["Key"]
        for op, params in wire.params
        if op == "s3.DeleteObjects"
        for obj in params["Delete"]["Objects"]
    }
    assert keys
    assert all(any(key.startswith(p) for p in prefixes) for key in keys), (keys, prefixes)
