"""``sfn_offload.cdk.PayloadStorage``, synthesized and read with ``aws_cdk.assertions.Template``.

Skipped, with the reason, where Node.js (which jsii runs the CDK in) or the ``cdk`` extra is
missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

if shutil.which("node") is None:
    pytest.skip(
        "Node.js is not installed: aws-cdk-lib runs on jsii, which needs it "
        "(apt-get install nodejs, or nodejs.org)",
        allow_module_level=True,
    )
pytest.importorskip("aws_cdk", reason="the cdk extra is not installed: pip install -e '.[cdk]'")

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk.assertions import Match, Template
from tests.cfn import load_template

from sfn_offload import ConfigurationError
from sfn_offload.cdk import PayloadStorage
from sfn_offload.storage.setup import (
    EXECUTION_ACTIONS,
    KEY_ACTIONS,
    OBJECT_ACTIONS,
    TABLE_ACTIONS,
)

ROOT = Path(__file__).resolve().parent.parent


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Orders")


def _function(stack: cdk.Stack, name: str = "Report") -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )


def _logical_id(template: Template, kind: str) -> str:
    [logical_id] = template.find_resources(kind)
    return logical_id


def _role_statements(template: Template, function_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the function's role."""
    role = template.to_json()["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> set[str]:
    listed = statement["Action"]
    return {listed} if isinstance(listed, str) else set(listed)


# --------------------------------------------------------------------------------------------
# the resources
# --------------------------------------------------------------------------------------------


def test_the_table_has_the_py2sfn_key_schema_ttl_and_on_demand_billing() -> None:
    stack = _stack()
    PayloadStorage(stack, "Payloads")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [
                    {"AttributeName": "partition_key", "KeyType": "HASH"},
                    {"AttributeName": "sort_key", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "partition_key", "AttributeType": "S"},
                    {"AttributeName": "sort_key", "AttributeType": "N"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            },
            # running executions may still need their payloads
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_the_bucket_is_encrypted_private_tls_only_and_expires_every_prefix_written() -> None:
    """GIVEN the defaults WHEN synthesized THEN the bucket has SSE-S3, all four public access
    settings, bucket-owner-enforced ownership, a policy denying non-TLS requests, and lifecycle
    rules expiring sfn-offload/ and workflow_state_data/ after the TTL (7 days)."""
    stack = _stack()
    PayloadStorage(stack, "Payloads")
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "sfn-offload-expire-sfn-offload",
                        "Prefix": "sfn-offload/",
                        "ExpirationInDays": 7,
                        "Status": "Enabled",
                    },
                    {
                        "Id": "sfn-offload-expire-workflow-state-data",
                        "Prefix": "workflow_state_data/",
                        "ExpirationInDays": 7,
                        "Status": "Enabled",
                    },
                ]
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Principal": {"AWS": "*"},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize(
    ("s3_prefix", "rules"),
    [
        ("orders/payloads/", [("orders/payloads/", 3), ("workflow_state_data/", 3)]),
        ("", [(None, 3)]),  # the whole bucket: one rule, no prefix
    ],
)
def test_the_lifecycle_follows_the_configured_prefix_and_ttl(
    s3_prefix: str, rules: list[tuple[str | None, int]]
) -> None:
    stack = _stack()
    PayloadStorage(stack, "Payloads", s3_prefix=s3_prefix, ttl_days=3)
    [bucket] = Template.from_stack(stack).find_resources("AWS::S3::Bucket").values()
    found = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [(r.get("Prefix"), r["ExpirationInDays"]) for r in found] == rules


def test_names_removal_policy_and_a_kms_key_are_passed_through() -> None:
    stack = _stack()
    key = kms.Key(stack, "Key")
    PayloadStorage(
        stack,
        "Payloads",
        table_name="orders-state",
        bucket_name="orders-state-bucket",
        encryption_key=key,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    template = Template.from_stack(stack)
    template.has_resource(
        "AWS::DynamoDB::Table",
        {"Properties": {"TableName": "orders-state"}, "DeletionPolicy": "Delete"},
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": "orders-state-bucket",
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": {
                                "Fn::GetAtt": [_logical_id(template, "AWS::KMS::Key"), "Arn"]
                            },
                        },
                    }
                ]
            },
        },
    )


@pytest.mark.parametrize(("table", "bucket"), [(True, False), (False, True)])
def test_a_table_only_or_bucket_only_setup(table: bool, bucket: bool) -> None:
    stack = _stack()
    storage = PayloadStorage(stack, "Payloads", table=table, bucket=bucket)
    function = _function(stack)
    storage.grant(function)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::DynamoDB::Table", int(table))
    template.resource_count_is("AWS::S3::Bucket", int(bucket))
    env = template.to_json()["Resources"][stack.get_logical_id(function.node.default_child)]
    variables = env["Properties"]["Environment"]["Variables"]
    assert ("SFN_OFFLOAD_TABLE" in variables) is table
    assert ("SFN_OFFLOAD_BUCKET" in variables) is bucket
    assert ("SFN_OFFLOAD_S3_PREFIX" in variables) is bucket
    granted = set().union(
        *(
            _actions(s)
            for s in _role_statements(template, _logical_id(template, "AWS::Lambda::Function"))
        )
    )
    assert granted == (set(TABLE_ACTIONS) if table else set(OBJECT_ACTIONS))


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"table": False, "bucket": False}, "needs a table or a bucket"),
        ({"ttl_days": 0}, "ttl_days must be an integer in [1, 3650]"),
        ({"s3_prefix": "/payloads/"}, "must not start with '/'"),
        ({"table_name": "t"}, "not a valid DynamoDB table name"),
        ({"bucket_name": "Not_A_Bucket"}, "not a valid S3 bucket name"),
    ],
)
def test_invalid_settings_are_refused_naming_the_construct(
    options: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        PayloadStorage(_stack(), "Payloads", **options)
    assert "PayloadStorage 'Payloads'" in str(raised.value)
    assert says in str(raised.value)


# --------------------------------------------------------------------------------------------
# grant(function)
# --------------------------------------------------------------------------------------------


def test_grant_sets_the_environment_the_library_reads() -> None:
    stack = _stack()
    storage = PayloadStorage(stack, "Payloads", ttl_days=3, s3_prefix="orders/")
    storage.grant(_function(stack))
    template = Template.from_stack(stack)
    table = _logical_id(template, "AWS::DynamoDB::Table")
    bucket = _logical_id(template, "AWS::S3::Bucket")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": {
                    "SFN_OFFLOAD_TABLE": {"Ref": table},
                    "SFN_OFFLOAD_BUCKET": {"Ref": bucket},
                    "SFN_OFFLOAD_S3_PREFIX": "orders/",
                    "SFN_OFFLOAD_TTL_DAYS": "3",
                }
            }
        },
    )


def test_grant_allows_exactly_what_the_library_sends_on_exactly_these_resources() -> None:
    """GIVEN storage with s3_prefix "orders/" granted to a function
    WHEN the role's policies are read THEN the table statement names the table's ARN only, the
    object statement the objects under orders/ and workflow_state_data/ only, and nothing
    else is allowed: the same actions as the example template's TaskRole (which
    tests/test_security.py checks against every request the library sends)."""
    stack = _stack()
    storage = PayloadStorage(stack, "Payloads", s3_prefix="orders/")
    storage.grant(_function(stack), state_machine="order-report")
    template = Template.from_stack(stack)
    table = _logical_id(template, "AWS::DynamoDB::Table")
    bucket = _logical_id(template, "AWS::S3::Bucket")
    statements = _role_statements(template, _logical_id(template, "AWS::Lambda::Function"))
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in statements)
    by_actions = {frozenset(_actions(s)): s["Resource"] for s in statements}
    assert by_actions == {
        frozenset(TABLE_ACTIONS): {"Fn::GetAtt": [table, "Arn"]},
        frozenset(OBJECT_ACTIONS): [
            {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]}
            for prefix in ("orders/", "workflow_state_data/")
        ],
        frozenset(EXECUTION_ACTIONS): {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":states:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":execution:order-report:*",
                ],
            ]
        },
    }
    assert set().union(*by_actions) == _template_task_role_actions()


def test_grant_with_a_kms_key_adds_the_key_and_its_two_actions() -> None:
    stack = _stack()
    key = kms.Key(stack, "Key")
    storage = PayloadStorage(stack, "Payloads", encryption_key=key)
    storage.grant(_function(stack))
    template = Template.from_stack(stack)
    key_arn = {"Fn::GetAtt": [_logical_id(template, "AWS::KMS::Key"), "Arn"]}
    statements = _role_statements(template, _logical_id(template, "AWS::Lambda::Function"))
    assert [s["Resource"] for s in statements if _actions(s) == set(KEY_ACTIONS)] == [key_arn]
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({"SFN_OFFLOAD_KMS_KEY_ID": key_arn})}},
    )


def test_grant_for_a_state_machine_that_invokes_the_function_forms_no_cycle() -> None:
    """GIVEN a state machine whose task invokes the function, passed to grant(...)
    WHEN the stack is synthesized THEN it succeeds (no function -> policy -> state machine ->
    function cycle) and a policy of its own lets the role stop and describe that state
    machine's executions only."""
    stack = _stack()
    storage = PayloadStorage(stack, "Payloads")
    function = _function(stack)
    machine = sfn.StateMachine(
        stack,
        "Machine",
        definition_body=sfn.DefinitionBody.from_chainable(
            tasks.LambdaInvoke(stack, "Invoke", lambda_function=function)
        ),
    )
    storage.grant(function, state_machine=machine)
    template = Template.from_stack(stack)  # raises on a dependency cycle
    machine_id = _logical_id(template, "AWS::StepFunctions::StateMachine")
    [stop] = [
        s
        for s in _role_statements(template, _logical_id(template, "AWS::Lambda::Function"))
        if _actions(s) == set(EXECUTION_ACTIONS)
    ]
    parts = stop["Resource"]["Fn::Join"][1]
    assert ":execution:" in parts
    assert parts[-1] == ":*"
    assert {"Ref": machine_id} in str_refs(parts)
    policies = template.find_resources("AWS::IAM::Policy")
    owner = [
        name
        for name, p in policies.items()
        if stop in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    function_id = _logical_id(template, "AWS::Lambda::Function")
    depends_on = template.to_json()["Resources"][function_id].get("DependsOn", [])
    assert owner
    assert owner[0] not in depends_on


def str_refs(value: Any) -> list[Any]:
    """Every {"Ref": ...} inside a CloudFormation expression."""
    if isinstance(value, dict):
        return (
            [value] if set(value) == {"Ref"} else [r for v in value.values() for r in str_refs(v)]
        )
    if isinstance(value, list):
        return [r for v in value for r in str_refs(v)]
    return []


def test_grant_refuses_a_function_it_cannot_configure() -> None:
    stack = _stack()
    storage = PayloadStorage(stack, "Payloads")
    imported = lambda_.Function.from_function_arn(
        stack, "Imported", "arn:aws:lambda:us-east-1:123456789012:function:elsewhere"
    )
    with pytest.raises(ConfigurationError, match="has no role to grant to"):
        storage.grant(imported)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# the example template, for comparison
# --------------------------------------------------------------------------------------------


def _template_task_role_actions() -> set[str]:
    text = (ROOT / "examples" / "order_report" / "template.yaml").read_text("utf-8")
    template = load_template(text)
    role = template["Resources"]["TaskRole"]["Properties"]
    return {
        action
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in statement["Action"]
    }


# --------------------------------------------------------------------------------------------
# the module
# --------------------------------------------------------------------------------------------


def test_the_module_exports_the_construct_only() -> None:
    import sfn_offload.cdk

    assert sfn_offload.cdk.__all__ == ["PayloadStorage"]


def test_without_the_extra_the_import_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    for name in [
        m for m in sys.modules if m == "sfn_offload.cdk" or m.startswith("sfn_offload.cdk.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "aws_cdk", None)  # what an environment without it gives
    with pytest.raises(ImportError, match=r"pip install 'sfn-offload\[cdk\]'"):
        import sfn_offload.cdk  # noqa: F401


def test_the_docs_stack_synthesizes(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the stack of docs/cdk.md (examples/snippets/cdk_app.py) WHEN synthesized
    THEN the function has the storage's environment and the state machine passes the ARN."""
    from examples.snippets import cdk_app

    inline = lambda_.Code.from_inline("def report(event, context): ...")
    # the snippet's build/report directory is the reader's; no asset is needed to synthesize
    monkeypatch.setattr(lambda_.Code, "from_asset", staticmethod(lambda path, **_: inline))
    template = Template.from_stack(cdk_app.build())
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {"SFN_OFFLOAD_S3_PREFIX": "orders/", "SFN_OFFLOAD_TTL_DAYS": "7"}
                )
            }
        },
    )
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    assert "sfn_execution_arn" in str(template.find_resources("AWS::StepFunctions::StateMachine"))
