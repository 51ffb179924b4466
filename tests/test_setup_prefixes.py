"""Every prefix the library writes S3 objects under expires: ``expiring_prefixes`` and the
lifecycle rules that ``ensure_bucket`` creates and checks from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from conftest import create_table
from sfn_offload import ConfigurationError, OffloadConfig, StateDataClient, fan_out, offload
from sfn_offload.distributed import write_item_file
from sfn_offload.storage import PayloadRepository
from sfn_offload.storage.setup import ensure_bucket, expiring_prefixes

TEMPLATE = Path(__file__).resolve().parent.parent / "examples" / "order_report" / "template.yaml"


@pytest.mark.parametrize(
    ("s3_prefix", "expected"),
    [
        ("sfn-offload/", ("sfn-offload/", "workflow_state_data/")),
        ("orders/payloads/", ("orders/payloads/", "workflow_state_data/")),
        ("no-slash", ("no-slash", "workflow_state_data/")),
        ("workflow_state_data/", ("workflow_state_data/",)),
        ("workflow_state_data/sfn/", ("workflow_state_data/",)),  # covered by py2sfn's
        ("", ("",)),  # the whole bucket
    ],
)
def test_expiring_prefixes_cover_the_configured_prefix_and_py2sfns(
    s3_prefix: str, expected: tuple[str, ...]
) -> None:
    assert expiring_prefixes(s3_prefix) == expected


def test_an_invalid_prefix_is_refused_as_the_configuration_refuses_it() -> None:
    with pytest.raises(ConfigurationError, match="must not start with '/'"):
        expiring_prefixes("/payloads/")


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def test_every_key_the_library_writes_is_under_an_expiring_prefix(s3: Any) -> None:
    """GIVEN a bucket set up for s3_prefix "tenant/" and a repository writing with it
    WHEN the decorator's writes (payloads over the item budget, a fanned-out list), an
    ItemReader file and StateDataClient's py2sfn-layout overflow land
    THEN every key starts with a prefix that expires after the TTL."""
    ensure_bucket(s3, "payloads-bucket", ttl_days=2, s3_prefix="tenant/")
    create_table(boto3.client("dynamodb", region_name="us-east-1"), "payloads-table")
    repo = PayloadRepository(
        OffloadConfig(
            table="payloads-table",
            bucket="payloads-bucket",
            s3_prefix="tenant/",
            item_budget_bytes=1_000,
            ttl_days=2,
        )
    )
    result = {"big": "b" * 5_000, "rows": fan_out(["r" * 2_000] * 2)}
    offload(result, repo, namespace="run-1", budget=2_000)
    write_item_file([{"n": i} for i in range(3)], repo, namespace="run-1")
    StateDataClient("payloads-table", "run-1", repository=repo).put_item("k", "x" * 5_000)

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="payloads-bucket")["Contents"]]
    rules = s3.get_bucket_lifecycle_configuration(Bucket="payloads-bucket")["Rules"]
    prefixes = [r["Filter"]["Prefix"] for r in rules]
    assert {r["Expiration"]["Days"] for r in rules} == {2}
    assert any(k.startswith("workflow_state_data/") for k in keys)
    assert sum(k.startswith("tenant/") for k in keys) >= 2  # a payload, an ItemReader file
    for key in keys:
        assert any(key.startswith(p) for p in prefixes), f"{key} never expires ({prefixes})"


def test_a_rule_on_a_shorter_prefix_satisfies_the_check(s3: Any) -> None:
    """GIVEN an existing bucket whose one rule expires everything ("" prefix)
    WHEN ensure_bucket checks it for "orders/" THEN both lifecycle checks pass."""
    ensure_bucket(s3, "payloads-bucket", ttl_days=7, s3_prefix="")
    result = ensure_bucket(s3, "payloads-bucket", ttl_days=7, s3_prefix="orders/")
    assert not result.created
    lifecycle = [c for c in result.checks if c.name.startswith("lifecycle")]
    assert [c.name for c in lifecycle] == ["lifecycle orders/", "lifecycle workflow_state_data/"]
    assert all(c.ok for c in lifecycle)


# --------------------------------------------------------------------------------------------
# the example CloudFormation template
# --------------------------------------------------------------------------------------------


class _Tagged(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags as {"!Tag": value}."""


_Tagged.add_multi_constructor(
    "!",
    lambda loader, suffix, node: {
        f"!{suffix}": loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
    },
)


def test_the_template_expires_and_grants_every_prefix_its_functions_write() -> None:
    """GIVEN examples/order_report/template.yaml WHEN its S3Prefix parameter is what the
    functions get as SFN_OFFLOAD_S3_PREFIX THEN one lifecycle rule expires that parameter and
    the others expire the rest of expiring_prefixes(), and the task role reaches exactly
    those prefixes."""
    template = yaml.load(TEMPLATE.read_text("utf-8"), Loader=_Tagged)  # a SafeLoader subclass
    resources = template["Resources"]
    default = template["Parameters"]["S3Prefix"]["Default"]
    assert default == OffloadConfig().s3_prefix
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions
    for function in functions:
        env = function["Properties"]["Environment"]["Variables"]
        assert env["SFN_OFFLOAD_S3_PREFIX"] == {"!Ref": "S3Prefix"}
    rules = resources["StateBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    prefixes = [r["Prefix"] for r in rules]
    assert {"!Ref": "S3Prefix"} in prefixes
    fixed = [p for p in prefixes if isinstance(p, str)]
    assert set(fixed) == set(expiring_prefixes(default)) - {default}
    assert all(r["ExpirationInDays"] == {"!Ref": "TtlDays"} for r in rules)
    statements = resources["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    [objects] = [s for s in statements if s["Sid"] == "StatePayloadObjects"]
    assert objects["Resource"] == [
        {"!Sub": "${StateBucket.Arn}/${S3Prefix}*"},
        *[{"!Sub": f"${{StateBucket.Arn}}/{p}*"} for p in fixed],
    ]
