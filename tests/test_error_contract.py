"""Issue #14, outcome 5: everything raised is an ``SfnOffloadError``, whatever the input, and
failures ASL should treat differently have distinct ``errorType`` names.

The property tests feed arbitrary events (JSON values full of pointer-, list-, element-, Map- and
ResultWriter-shaped objects with wrong, huge or mistyped fields, and real pointers with one field
changed), arbitrary handler results (values JSON cannot carry, deep nesting, tuples, duplicate
keys) and arbitrary pointers to a decorated handler, ``hydrate`` and the explicit client.
The routing test runs the documented ASL (``examples/snippets/asl/error_routing.asl.json``) in
the local kit, with each failure produced for real.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import decimal
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import BUCKET, EXECUTION_ARN, TABLE, FakeLambdaContext, memory_repo
from faultinject import ddb_error
from sfn_offload import OffloadConfig, SfnOffloadError, StateDataClient, hydrate, state_offload
from sfn_offload._identity import resolve_identity
from sfn_offload.cli.report import find_references, parse_reference
from sfn_offload.errors import (
    ACCESS_DENIED_CODES,
    THROTTLING_CODES,
    StoreAccessDeniedError,
    StoreError,
    StoreThrottledError,
    translate_aws_errors,
)
from sfn_offload.storage import AwsClients, PayloadRepository
from sfn_offload.testing import LocalStepFunctions
from sfn_offload.wire import Pointer

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = resolve_identity({"sfn_execution_arn": EXECUTION_ARN}, None).namespace
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------

ODD_SCALARS = st.sampled_from(
    [None, True, False, 0, -1, 1, 2**31, 2**63, 10**30, -(10**30), 1.5, "", "x", "\ud800",
     "a" * 2_000, "0" * 64, "arn:aws:states:us-east-1:123456789012:execution:m:n",
     "arn:aws:states:us-east-1:123456789012:mapRun:m/l:1", "x/manifest.json",
     "sfn-offload/x", TABLE, BUCKET, "dynamodb", "s3", "json", "json+gzip", [], {}, [1], {"a": 1}]
)  # fmt: skip
KEYS = st.sampled_from(
    ["__sfn_offload__", "backend", "table", "bucket", "key", "index", "size", "sha256",
     "encoding", "count", "items", "ref", "sfn_offload_list", "sfn_offload_index",
     "sfn_offload_results", "sfn_offload_map", "execution", "state", "entered",
     "items_result_table_name", "items_result_partition_key", "items_result_key",
     "context_index", "context_value", "MapRunArn", "ResultWriterDetails", "Bucket", "Key",
     "sfn_execution_arn", "meta", "sfn_offload_siblings", "sfn_offload_reserve", "data"]
)  # fmt: skip
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
    allow_infinity=False) | st.text(max_size=20) | ODD_SCALARS  # fmt: skip
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


def _pointer_like(draw: Any) -> dict[str, Any]:
    """A pointer-shaped dict: a real field set with some fields replaced or dropped."""
    base = Pointer("dynamodb", TABLE, f"{NAMESPACE}:k", 0, 10, "a" * 64).to_dict()
    if draw(st.booleans()):
        base = Pointer("dynamodb", TABLE, f"{NAMESPACE}:l", count=3).to_dict(with_items=True)
    if draw(st.booleans()):
        base = {**base, "backend": "s3", "bucket": BUCKET, "key": "sfn-offload/k/0"}
        base.pop("table", None)
    for _ in range(draw(st.integers(0, 3))):
        field = draw(KEYS)
        if draw(st.booleans()):
            base[field] = draw(JSON)
        else:
            base.pop(field, None)
    return base


@st.composite
def shaped(draw: Any) -> Any:
    """One of the shapes hydration interprets, made slightly wrong (or right)."""
    kind = draw(st.sampled_from(["pointer", "element", "py2sfn", "results", "writer", "plain"]))
    if kind == "pointer":
        return _pointer_like(draw)
    if kind == "element":
        return {"sfn_offload_list": _pointer_like(draw), "sfn_offload_index": draw(JSON)}
    if kind == "py2sfn":
        return {
            "items_result_table_name": draw(st.sampled_from([TABLE, "other", 5])),
            "items_result_partition_key": draw(JSON),
            "items_result_key": draw(JSON),
            "context_index": draw(JSON),
        }
    if kind == "results":
        return {"sfn_offload_results": draw(st.dictionaries(KEYS, JSON, max_size=5))}
    if kind == "writer":
        return {
            "MapRunArn": draw(JSON),
            "ResultWriterDetails": {"Bucket": draw(JSON), "Key": draw(JSON)},
        }
    return draw(JSON)


EVENTS = st.recursive(
    shaped(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=6,
)


class Opaque:
    pass


class HugeInt(int):
    """An integer past Python's 4,300-digit limit (with a repr hypothesis can print)."""

    def __repr__(self) -> str:
        return "HugeInt(10**5000)"


Pair = collections.namedtuple("Pair", "a b")
NON_JSON = st.sampled_from(
    [float("nan"), float("inf"), decimal.Decimal("NaN"), decimal.Decimal("1.5"), {1, 2},
     frozenset(), b"\xff", b"ok", bytearray(b"x"), datetime.date(2020, 1, 1), Opaque(), 1j,
     HugeInt(10**5000), Pair(1, 2), ("t", "u"), "\udfff", {1: "a", "1": "b"}, {True: 1, "true": 2},
     {None: 1, "null": 2}, {1.5: "x"}, {(1, 2): "x"}, {float("nan"): 1}]
)  # fmt: skip


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


RESULTS = st.recursive(
    JSON_SCALARS | NON_JSON | st.integers(0, 1_200).map(_nested),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=4)
    ),
    max_leaves=12,
)


def _decorated(repo: PayloadRepository, result: Any, **options: Any) -> Any:
    @state_offload(repository=repo, **options)
    def handler(event: Any, context: Any) -> Any:
        return result

    return handler


# --------------------------------------------------------------------------------------------
# the property: nothing but SfnOffloadError escapes
# --------------------------------------------------------------------------------------------


@PROPERTY
@given(
    event=EVENTS,
    with_arn=st.booleans(),
    context=st.sampled_from([None, FakeLambdaContext()]),
    cross=st.booleans(),
)
def test_any_event_either_hydrates_or_raises_a_library_error(
    event: Any, with_arn: bool, context: Any, cross: bool
) -> None:
    repo = memory_repo(cross_execution_reads=cross)
    repo.write_items(TABLE, f"{NAMESPACE}:l", [repo.encode(i) for i in range(3)])
    repo.write_value(f"{NAMESPACE}:k", 0, repo.encode("stored"))  # not what pointers say
    if with_arn and isinstance(event, dict):
        event = {**event, "sfn_execution_arn": EXECUTION_ARN}
    handler = _decorated(repo, "done")
    with contextlib.suppress(SfnOffloadError):
        handler(event, context)
    with contextlib.suppress(SfnOffloadError):
        hydrate(event, repo)


@PROPERTY
@given(
    result=RESULTS,
    budget=st.sampled_from([None, 200, 2_000]),
    keep=st.sampled_from([(), ("a",), ("0",)]),
    fan=st.booleans(),
)
def test_any_result_is_returned_or_refused_with_a_library_error(
    result: Any, budget: int | None, keep: tuple[str, ...], fan: bool
) -> None:
    from sfn_offload import fan_out

    repo = memory_repo()
    value = fan_out(result) if fan and isinstance(result, list) else result
    handler = _decorated(repo, value, max_inline_bytes=budget, keep_inline=keep)
    with contextlib.suppress(SfnOffloadError):
        handler({"sfn_execution_arn": EXECUTION_ARN}, None)


@PROPERTY
@given(data=RESULTS, key=st.text(max_size=10) | ODD_SCALARS, index=JSON, event=EVENTS)
def test_the_explicit_client_raises_only_library_errors(
    data: Any, key: Any, index: Any, event: Any
) -> None:
    client = StateDataClient(TABLE, NAMESPACE, repository=memory_repo())
    calls = [
        lambda: client.put_item(key, data, index),
        lambda: client.put_items(key, data),
        lambda: client.get_item(key, index),
        lambda: client.get_items(key),
        lambda: client.get_item_for_map_iteration(event),
        lambda: client.get_global_item_for_map_iteration(event),
        lambda: client.put_item_for_map_iteration(event, data),
    ]
    for call in calls:
        with contextlib.suppress(SfnOffloadError):
            call()


@PROPERTY
@given(node=EVENTS)
def test_the_cli_reads_any_reference_or_refuses_it_with_a_library_error(node: Any) -> None:
    for parse in (lambda: parse_reference(node), lambda: find_references(node)):
        with contextlib.suppress(SfnOffloadError):
            parse()


# --------------------------------------------------------------------------------------------
# distinct errorTypes for ASL
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_throttling_is_store_throttled_error(code: str) -> None:
    from botocore.exceptions import ClientError

    with (
        pytest.raises(StoreThrottledError) as caught,
        translate_aws_errors("DynamoDB.BatchGetItem", "table 't'"),
    ):
        raise ClientError({"Error": {"Code": code, "Message": "slow down"}}, "Op")
    assert isinstance(caught.value, StoreError)
    assert caught.value.code == code


@pytest.mark.parametrize("code", sorted(ACCESS_DENIED_CODES))
def test_a_denied_request_is_store_access_denied_error(code: str) -> None:
    from botocore.exceptions import ClientError

    with (
        pytest.raises(StoreAccessDeniedError),
        translate_aws_errors("S3.GetObject", "bucket 'b' key 'k'"),
    ):
        raise ClientError({"Error": {"Code": code, "Message": "no"}}, "Op")


def test_other_failures_stay_plain_store_errors() -> None:
    from botocore.exceptions import ClientError

    with (
        pytest.raises(StoreError) as caught,
        translate_aws_errors("DynamoDB.Query", "table 't'"),
    ):
        raise ClientError({"Error": {"Code": "InternalServerError"}}, "Query")
    assert type(caught.value) is StoreError


ROUTING = json.loads((ROOT / "examples/snippets/asl/error_routing.asl.json").read_text())


@pytest.fixture
def local() -> Any:
    with LocalStepFunctions() as kit:
        yield kit


def _repo(local: LocalStepFunctions, **config: Any) -> PayloadRepository:
    ddb = boto3.client(
        "dynamodb", region_name=local.region, config=Config(retries={"total_max_attempts": 1})
    )
    return PayloadRepository(
        OffloadConfig(table=local.table, bucket=local.bucket, **config),
        clients=AwsClients(dynamodb_client=ddb, s3_client=local.client("s3")),
    )


def _load(repo: PayloadRepository) -> Any:
    @state_offload(repository=repo)
    def load(event: Any, context: Any) -> Any:
        return {"loaded": len(json.dumps(event["report"]))}

    return load


def _answer(repo: PayloadRepository, code: str, times: int) -> None:
    """The table answers ``code`` to the first ``times`` BatchGetItem requests."""
    left = {"n": times}

    def answer(**_: Any) -> Any:
        if left["n"] > 0:
            left["n"] -= 1
            return ddb_error(code, 400)
        return None

    repo.clients.dynamodb.meta.events.register_first("before-send.dynamodb.BatchGetItem", answer)


@pytest.mark.parametrize(
    "case", ["missing", "foreign", "corrupt", "too-large", "denied", "throttled-once"]
)
def test_the_documented_asl_routes_each_failure(local: LocalStepFunctions, case: str) -> None:
    """GIVEN the error-routing ASL of docs/RELIABILITY.md and a failure produced for real
    WHEN the execution runs THEN throttling is retried (and succeeds), and every other failure
    reaches the state its errorType names."""
    repo = _repo(local, max_workers=1)
    report = repo.write_value(f"{NAMESPACE}:report", 0, repo.encode({"rows": [1, 2, 3]})).to_dict()
    load = _load(repo)
    expected = {
        "missing": "DataMissing",
        "foreign": "DataMissing",
        "corrupt": "DataCorrupt",
        "too-large": "TooLarge",
        "denied": "Denied",
        "throttled-once": None,
    }[case]
    if case == "missing":
        report = {**report, "key": f"{NAMESPACE}:never-written"}
    elif case == "foreign":
        report = Pointer("dynamodb", local.table, "run-7.00000000:rows", count=2).to_dict()
    elif case == "corrupt":
        report = {**report, "sha256": "0" * 64}
    elif case == "too-large":
        load = _load_with_cap(repo)
    elif case == "denied":
        _answer(repo, "AccessDeniedException", 10)
    else:
        _answer(repo, "ThrottlingException", 1)
    local.register("load", load)

    run = local.run(ROUTING, {"report": report}, name="orders", timeout=60)
    if expected is None:
        assert run.status == "SUCCEEDED", run.cause
        assert local.invocations.count("load") == 2  # the Retry ran it again
    else:
        assert (run.status, run.error) == ("FAILED", expected)
        assert local.invocations.count("load") == 1  # not retried


def _load_with_cap(repo: PayloadRepository) -> Any:
    @state_offload(repository=repo, max_hydrate_bytes=5)
    def load(event: Any, context: Any) -> Any:
        return {"loaded": True}

    return load
