"""Create or validate the table and bucket sfn-offload needs (``sfn-offload setup``).

Plain functions; no click, no printing.

- :func:`ensure_table`: DynamoDB table with ``partition_key`` (S, HASH) / ``sort_key`` (N, RANGE),
  on-demand billing and TTL on ``expires_at`` (the py2sfn-task-tools schema).
- :func:`ensure_bucket`: S3 bucket with SSE-S3 default encryption, every public access block
  setting on, and lifecycle rules expiring every prefix the library writes
  (:func:`expiring_prefixes`: the configured ``s3_prefix``, default ``sfn-offload/``, and
  py2sfn's ``workflow_state_data/``) after the same number of days as the items' TTL.
- :func:`~sfn_offload.storage.template.cloudformation_template` (in ``template``): the same
  resources as CloudFormation YAML.

A resource that already exists is validated, never changed: each requirement becomes a
:class:`Check`, and a failed check says what was found and what is expected.

>>> expiring_prefixes("orders/payloads/")
('orders/payloads/', 'workflow_state_data/')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .._config import OffloadConfig
from ..errors import ConfigurationError, NoItemFound, StoreError, translate_aws_errors
from .tiering import LEGACY_S3_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TableDescriptionTypeDef
    from mypy_boto3_s3 import S3Client

__all__ = [
    "EXECUTION_ACTIONS",
    "KEY_ACTIONS",
    "OBJECT_ACTIONS",
    "TABLE_ACTIONS",
    "Check",
    "SetupResult",
    "ensure_bucket",
    "ensure_table",
    "expiring_prefixes",
    "lifecycle_rule_id",
]

KEY_SCHEMA: Final = (("partition_key", "S", "HASH"), ("sort_key", "N", "RANGE"))
TTL_ATTRIBUTE: Final = "expires_at"
#: IAM actions the library sends, by resource (tests/test_security.py checks the example
#: template's TaskRole against the requests of every code path; the CDK construct grants these).
TABLE_ACTIONS: Final = (
    "dynamodb:PutItem",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",  # also deletes
    "dynamodb:Query",
)
OBJECT_ACTIONS: Final = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
EXECUTION_ACTIONS: Final = ("states:StopExecution", "states:DescribeExecution")
#: With ``kms_key_id`` (SSE-KMS objects).
KEY_ACTIONS: Final = ("kms:GenerateDataKey", "kms:Decrypt")
#: The decorator's default ``s3_prefix`` (``OffloadConfig.s3_prefix``).
DEFAULT_S3_PREFIX: Final = "sfn-offload/"
#: Prefixes of the objects sfn-offload writes with the default ``s3_prefix``: see
#: :func:`expiring_prefixes`.
EXPIRING_PREFIXES: Final = (DEFAULT_S3_PREFIX, f"{LEGACY_S3_PREFIX}/")
_NO_ENCRYPTION: Final = "ServerSideEncryptionConfigurationNotFoundError"
_NO_PUBLIC_ACCESS_BLOCK: Final = "NoSuchPublicAccessBlockConfiguration"
_NO_LIFECYCLE: Final = "NoSuchLifecycleConfiguration"
PUBLIC_ACCESS_SETTINGS: Final = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


@dataclass(frozen=True, slots=True)
class Check:
    """One requirement of a resource: met or not, and what was found."""

    name: str
    ok: bool
    detail: str


@dataclass
class SetupResult:
    """What :func:`ensure_table` or :func:`ensure_bucket` did and found."""

    kind: str  # "table" or "bucket"
    name: str
    created: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "created": self.created,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


def expiring_prefixes(s3_prefix: str = DEFAULT_S3_PREFIX) -> tuple[str, ...]:
    """Every key prefix the library writes S3 objects under, for lifecycle rules and IAM.

    - ``s3_prefix``: the decorator's payloads over the item budget
      (``{s3_prefix}{partition key}/{index}``) and Distributed Map ``ItemReader`` files
      (``{s3_prefix}{namespace}/{name}-{digest}.json``);
    - ``workflow_state_data/``: ``StateDataClient``'s overflow objects, in py2sfn-task-tools'
      layout (``workflow_state_data/{table}/{partition key}/{index}``).

    A prefix that another one already covers is left out (``""`` covers the whole bucket).

    >>> expiring_prefixes()
    ('sfn-offload/', 'workflow_state_data/')
    >>> expiring_prefixes("")
    ('',)
    """
    OffloadConfig(s3_prefix=s3_prefix)  # the same validation as the functions' configuration
    prefixes = dict.fromkeys((s3_prefix, f"{LEGACY_S3_PREFIX}/"))
    return tuple(p for p in prefixes if not any(o != p and p.startswith(o) for o in prefixes))


def _schema_text(schema: tuple[tuple[str, str, str], ...]) -> str:
    return " / ".join(f"{name} ({kind}, {key_type})" for name, kind, key_type in schema)


# --------------------------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------------------------


def ensure_table(client: DynamoDBClient, table: str) -> SetupResult:
    """Create ``table`` (waiting until it is active, then enabling TTL), or validate it."""
    where = f"table {table!r}"
    try:
        with translate_aws_errors("DynamoDB.DescribeTable", where):
            described = client.describe_table(TableName=table)["Table"]
        created = False
    except ConfigurationError:  # ResourceNotFoundException: no such table
        described = _create_table(client, table, where)
        created = True
    result = SetupResult("table", table, created)
    result.checks.append(_key_schema_check(described))
    with translate_aws_errors("DynamoDB.DescribeTimeToLive", where):
        ttl = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    status, attribute = ttl.get("TimeToLiveStatus", "DISABLED"), ttl.get("AttributeName")
    ttl_ok = status in ("ENABLED", "ENABLING") and attribute == TTL_ATTRIBUTE
    result.checks.append(
        Check(
            "TTL",
            ttl_ok,
            f"{status.lower()} on {attribute}"
            if ttl_ok
            else f"found {status.lower()}{f' on {attribute}' if attribute else ''}, expected "
            f"enabled on {TTL_ATTRIBUTE} (aws dynamodb update-time-to-live --table-name {table} "
            f"--time-to-live-specification Enabled=true,AttributeName={TTL_ATTRIBUTE})",
        )
    )
    billing = described.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    # Provisioned capacity works too (it only needs enough of it): reported, never a failure.
    result.checks.append(Check("billing", True, billing.lower().replace("_", "-")))
    return result


def _create_table(client: DynamoDBClient, table: str, where: str) -> TableDescriptionTypeDef:
    """Create the table, wait until it is active, enable TTL; what DescribeTable then says."""
    with translate_aws_errors("DynamoDB.CreateTable", where):
        client.create_table(
            TableName=table,
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
        client.get_waiter("table_exists").wait(TableName=table)
    with translate_aws_errors("DynamoDB.UpdateTimeToLive", where):
        client.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    with translate_aws_errors("DynamoDB.DescribeTable", where):
        return client.describe_table(TableName=table)["Table"]


def _key_schema_check(described: TableDescriptionTypeDef) -> Check:
    types = {
        a["AttributeName"]: a["AttributeType"] for a in described.get("AttributeDefinitions", [])
    }
    found = tuple(
        (k["AttributeName"], types.get(k["AttributeName"], "?"), k["KeyType"])
        for k in described.get("KeySchema", [])
    )
    return Check(
        "key schema",
        found == KEY_SCHEMA,
        _schema_text(found)
        if found == KEY_SCHEMA
        else f"found {_schema_text(found) or 'none'}, expected {_schema_text(KEY_SCHEMA)} "
        "(recreate the table: a key schema cannot be changed)",
    )


# --------------------------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------------------------


def lifecycle_rule_id(prefix: str) -> str:
    """The ID of the lifecycle rule expiring ``prefix``.

    >>> lifecycle_rule_id("orders/payloads/"), lifecycle_rule_id("")
    ('sfn-offload-expire-orders-payloads', 'sfn-offload-expire-all')
    """
    slug = re.sub(r"[^A-Za-z0-9]+", "-", prefix).strip("-") or "all"
    return f"sfn-offload-expire-{slug}"[:255]


def lifecycle_rules(ttl_days: int, prefixes: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "ID": lifecycle_rule_id(prefix),
            "Filter": {"Prefix": prefix},
            "Status": "Enabled",
            "Expiration": {"Days": ttl_days},
        }
        for prefix in prefixes
    ]


def ensure_bucket(
    client: S3Client, bucket: str, *, ttl_days: int, s3_prefix: str = DEFAULT_S3_PREFIX
) -> SetupResult:
    """Create ``bucket`` with encryption, public access blocked and lifecycle expiry of every
    prefix the library writes with ``s3_prefix`` (:func:`expiring_prefixes`), or validate it."""
    where = f"bucket {bucket!r}"
    prefixes = expiring_prefixes(s3_prefix)
    try:
        with translate_aws_errors("S3.HeadBucket", where):
            client.head_bucket(Bucket=bucket)
        created = False
    except (NoItemFound, ConfigurationError):  # 404 / NoSuchBucket
        region = client.meta.region_name or "us-east-1"
        with translate_aws_errors("S3.CreateBucket", where):
            if region == "us-east-1":
                client.create_bucket(Bucket=bucket)
            else:
                client.create_bucket(
                    Bucket=bucket,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )
        with translate_aws_errors("S3.PutPublicAccessBlock", where):
            client.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        with translate_aws_errors("S3.PutBucketEncryption", where):
            client.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            )
        with translate_aws_errors("S3.PutBucketLifecycleConfiguration", where):
            client.put_bucket_lifecycle_configuration(
                Bucket=bucket,
                LifecycleConfiguration={"Rules": lifecycle_rules(ttl_days, prefixes)},  # type: ignore[typeddict-item]
            )
        created = True
    result = SetupResult("bucket", bucket, created)
    result.checks.append(_check_encryption(client, bucket))
    result.checks.append(_check_public_access(client, bucket))
    result.checks.extend(_check_lifecycle(client, bucket, ttl_days, prefixes))
    return result


def _get(client: S3Client, operation: str, bucket: str, missing_code: str) -> dict[str, Any] | None:
    """Call ``client.<operation>(Bucket=bucket)``; ``None`` when the setting does not exist."""
    try:
        with translate_aws_errors(f"S3.{operation}", f"bucket {bucket!r}"):
            method = getattr(client, _snake(operation))
            return dict(method(Bucket=bucket))
    except StoreError as exc:
        if exc.code == missing_code:
            return None
        raise


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _check_encryption(client: S3Client, bucket: str) -> Check:
    found = _get(client, "GetBucketEncryption", bucket, _NO_ENCRYPTION)
    rules = (found or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithms = [
        r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules
    ]
    known = [a for a in algorithms if a in ("AES256", "aws:kms", "aws:kms:dsse")]
    if known:
        name = "SSE-S3 (AES256)" if known[0] == "AES256" else f"SSE-KMS ({known[0]})"
        return Check("encryption", True, name)
    return Check("encryption", False, "no default encryption, expected SSE-S3 (AES256)")


def _check_public_access(client: S3Client, bucket: str) -> Check:
    found = _get(client, "GetPublicAccessBlock", bucket, _NO_PUBLIC_ACCESS_BLOCK)
    settings = (found or {}).get("PublicAccessBlockConfiguration", {})
    off = [name for name in PUBLIC_ACCESS_SETTINGS if settings.get(name) is not True]
    if not off:
        return Check("public access block", True, "all four settings on")
    return Check("public access block", False, f"{', '.join(off)} off, expected all four on")


def _rule_prefix(rule: dict[str, Any]) -> str | None:
    filt = rule.get("Filter")
    if isinstance(filt, dict):
        if "Prefix" in filt:
            return str(filt["Prefix"])
        and_ = filt.get("And")
        if isinstance(and_, dict) and not and_.get("Tags"):
            return str(and_.get("Prefix", ""))
        return "" if not filt else None  # an empty filter applies to every object
    return str(rule["Prefix"]) if "Prefix" in rule else None


def _check_lifecycle(
    client: S3Client, bucket: str, ttl_days: int, prefixes: tuple[str, ...]
) -> list[Check]:
    found = _get(client, "GetBucketLifecycleConfiguration", bucket, _NO_LIFECYCLE)
    rules = [r for r in (found or {}).get("Rules", []) if r.get("Status") == "Enabled"]
    checks = []
    for prefix in prefixes:
        days = [
            r["Expiration"]["Days"]
            for r in rules
            if "Days" in r.get("Expiration", {})
            and (rule_prefix := _rule_prefix(r)) is not None
            and prefix.startswith(rule_prefix)
        ]
        name = f"lifecycle {prefix}"
        if not days:
            checks.append(
                Check(
                    name,
                    False,
                    f"no expiry rule, expected expiry after {ttl_days} days (add a lifecycle "
                    f"rule expiring prefix {prefix!r}: objects under it would never expire)",
                )
            )
        elif min(days) != ttl_days:
            checks.append(
                Check(
                    name,
                    False,
                    f"expires after {min(days)} days, expected {ttl_days} (the items' TTL: "
                    "sooner loses payloads items still point to, later only costs storage)",
                )
            )
        else:
            checks.append(Check(name, True, f"expires after {ttl_days} days"))
    return checks
