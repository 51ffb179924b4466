"""Docs "CDK": a stack with the payload storage, one task function and its state machine.

Synthesized by tests/test_cdk.py (needs the `cdk` extra and Node.js).
"""

from __future__ import annotations

from typing import Any


def build() -> Any:
    # --8<-- [start:stack]
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_stepfunctions as sfn
    from aws_cdk import aws_stepfunctions_tasks as tasks

    from sfn_offload.cdk import PayloadStorage

    app = cdk.App()
    stack = cdk.Stack(app, "OrderReport")

    # table (TTL) + bucket (encrypted, private, TLS only, lifecycle on every prefix written)
    storage = PayloadStorage(stack, "Payloads", ttl_days=7, s3_prefix="orders/")

    report = lambda_.Function(
        stack,
        "Report",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="handlers.report",  # decorated with @state_offload
        code=lambda_.Code.from_asset("build/report"),  # your code and sfn-offload
    )
    machine = sfn.StateMachine(
        stack,
        "Machine",
        definition_body=sfn.DefinitionBody.from_chainable(
            tasks.LambdaInvoke(
                stack,
                "Run report",
                lambda_function=report,
                payload=sfn.TaskInput.from_object(
                    {
                        "orders.$": "$.orders",
                        "sfn_execution_arn": sfn.JsonPath.string_at("$$.Execution.Id"),
                    }
                ),
                payload_response_only=True,
            )
        ),
    )

    # SFN_OFFLOAD_TABLE/BUCKET/S3_PREFIX/TTL_DAYS on the function, and least-privilege IAM:
    # the table, the objects under orders/ and workflow_state_data/, StopExecution on `machine`
    storage.grant(report, state_machine=machine)
    # --8<-- [end:stack]
    return stack
