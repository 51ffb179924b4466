"""Shared fixtures.

Functional tests take the ``aws`` fixture, which runs each test twice: on moto in-process
(always) and against a real AWS account (only when ``SFN_OFFLOAD_TEST_REAL_AWS=1``; the test
creates and deletes its own uniquely named table and bucket). Without the variable the real-AWS
variant is reported as skipped, so the opt-in mode stays visible.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from sfn_offload.storage.setup import ensure_table

REAL_AWS = os.environ.get("SFN_OFFLOAD_TEST_REAL_AWS") == "1"
_SAVED_REAL_ENV = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's AWS or sfn-offload settings (or sends traffic anywhere)."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "SFN_OFFLOAD_", "SFN_DATA_")) or name.endswith("_ENDPOINT_URL"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ACCOUNT_ID", "123456789012")  # py2sfn-task-tools reads it at import


@dataclass
class AwsResources:
    """A table and bucket ready for a test, on moto or real AWS."""

    mode: str
    table: str
    bucket: str
    region: str

    def dynamodb(self):  # type: ignore[no-untyped-def]
        return boto3.client("dynamodb", region_name=self.region)

    def s3(self):  # type: ignore[no-untyped-def]
        return boto3.client("s3", region_name=self.region)


def create_table(client, name: str) -> None:  # type: ignore[no-untyped-def]
    """The table as ``sfn-offload setup`` creates it (py2sfn's key schema, TTL on expires_at)."""
    ensure_table(client, name)


def create_bucket(client, name: str, region: str) -> None:  # type: ignore[no-untyped-def]
    if region == "us-east-1":
        client.create_bucket(Bucket=name)
    else:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def _empty_and_delete(resources: AwsResources) -> None:
    s3 = resources.s3()
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=resources.bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=resources.bucket, Delete={"Objects": keys})
    s3.delete_bucket(Bucket=resources.bucket)
    resources.dynamodb().delete_table(TableName=resources.table)


@pytest.fixture
def moto_resources() -> Iterator[AwsResources]:
    """A fresh table and bucket on moto in-process."""
    with mock_aws():
        resources = AwsResources("moto", "sfn-offload-test", "sfn-offload-test-bucket", "us-east-1")
        create_table(resources.dynamodb(), resources.table)
        create_bucket(resources.s3(), resources.bucket, resources.region)
        yield resources


@pytest.fixture(params=["moto", "real"])
def aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsResources]:
    """A table and bucket: on moto, and (opt-in) on real AWS."""
    if request.param == "moto":
        yield request.getfixturevalue("moto_resources")
        return
    if not REAL_AWS:
        pytest.skip("real-AWS mode is off: set SFN_OFFLOAD_TEST_REAL_AWS=1 (and credentials)")
    for name, value in _SAVED_REAL_ENV.items():
        monkeypatch.setenv(name, value)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    suffix = uuid.uuid4().hex[:10]
    resources = AwsResources(
        "real", f"sfn-offload-test-{suffix}", f"sfn-offload-test-{suffix}", region
    )
    create_table(resources.dynamodb(), resources.table)
    create_bucket(resources.s3(), resources.bucket, region)
    try:
        yield resources
    finally:
        _empty_and_delete(resources)
