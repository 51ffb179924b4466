"""Run the real state machine locally: moto's Step Functions engine calling Python handlers.

Needs the ``testing`` extra (``pip install 'sfn-offload[testing]'``: moto 5.2 with DynamoDB, S3,
Step Functions and Lambda). Nothing leaves the process and no AWS account is used.

>>> from sfn_offload.testing import LocalStepFunctions
>>> with LocalStepFunctions() as local:
...     arn = local.register("echo", lambda event, context: {"got": event})
...     run = local.run({"StartAt": "Echo", "States": {
...         "Echo": {"Type": "Task", "Resource": "${echo}", "End": True}}}, {"n": 1})
>>> run.status, run.output
('SUCCEEDED', {'got': {'n': 1}})

What it does:

- starts moto in-process (``mock_aws`` with ``execute_state_machine`` and the Docker-free Lambda
  backend), creates a DynamoDB table (py2sfn key schema, TTL on ``expires_at``) and an S3 bucket,
  and points ``SFN_OFFLOAD_TABLE``/``SFN_OFFLOAD_BUCKET`` at them while it runs;
- :meth:`LocalStepFunctions.register` turns a Python handler into a Lambda function: both Task
  kinds (a plain Lambda ARN and ``arn:aws:states:::lambda:invoke``) call it, exceptions become
  Lambda function errors (``errorType`` = the exception's class name, as the Python runtime
  reports it), ``async def`` handlers are awaited;
- :meth:`LocalStepFunctions.run` runs an ASL definition (dict, JSON text or file; ``${name}``
  placeholders become registered function ARNs) and returns an :class:`Execution` with status,
  output, error, cause, history and per-state payload sizes;
- moto's StopExecution drops ``error`` and ``cause``; they are recorded and restored on the
  :class:`Execution`.

Use it as a context manager, or as the pytest fixture ``local_sfn`` (``pytest_plugins =
["sfn_offload.testing"]`` in ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import os
import re
import threading
import time
import traceback
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..budget import STATE_LIMIT_BYTES
from ..wire.codec import dumps
from .counting import RequestCounter

__all__ = [
    "Execution",
    "FakeLambdaContext",
    "LocalStepFunctions",
    "RequestCounter",
    "StateSize",
    "StoredPayload",
    "assert_fits",
    "local_sfn",
    "payload_size",
]

ACCOUNT_ID: Final = "123456789012"
_COUNTED_SERVICES: Final = frozenset({"dynamodb", "s3", "stepfunctions"})
#: Calls the kit makes itself (set-up, waiting, reading history, inspecting): not counted.
_KIT_OPERATIONS: Final = frozenset(
    {
        "CreateTable",
        "UpdateTimeToLive",
        "CreateBucket",
        "CreateStateMachine",
        "StartExecution",
        "DescribeExecution",
        "GetExecutionHistory",
        "Scan",
        "ListObjectsV2",
        "HeadObject",
    }
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_\-]+)\}")


def payload_size(value: Any) -> int:
    """Bytes ``value`` takes in a state: compact UTF-8 JSON, as Step Functions counts.

    >>> payload_size({"name": "Zoë"})
    15
    """
    return len(dumps(value, where="payload"))


def assert_fits(value: Any, *, limit: int = STATE_LIMIT_BYTES) -> int:
    """Fail (``AssertionError``) unless ``value`` fits a Step Functions state; returns its size.

    >>> assert_fits({"ok": True})
    11
    """
    size = payload_size(value)
    if size > limit:
        raise AssertionError(
            f"payload is {size:,} bytes, over the {limit:,}-byte Step Functions limit "
            f"by {size - limit:,}: it would fail with States.DataLimitExceeded"
        )
    return size


class FakeLambdaContext:
    """A Lambda context for local runs (the attributes of the Python runtime's context)."""

    def __init__(self, function_name: str, region: str, timeout_s: int = 60) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the (simulated) Lambda timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class StateSize:
    """Payload bytes one state received and produced, against the limit."""

    name: str
    input_bytes: int | None
    output_bytes: int | None

    @property
    def largest(self) -> int:
        return max(self.input_bytes or 0, self.output_bytes or 0)


@dataclass
class Execution:
    """The outcome of :meth:`LocalStepFunctions.run`."""

    arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]] = field(default_factory=list)

    def state_sizes(self) -> list[StateSize]:
        """Input/output bytes of each state, in the order they ran (Map iterations included)."""
        sizes: dict[str, list[int | None]] = {}
        order: list[str] = []
        for event in self.history:
            for key, value in event.items():
                if not key.endswith("EventDetails") or not isinstance(value, dict):
                    continue
                name = value.get("name")
                if not isinstance(name, str):
                    continue
                if name not in sizes:
                    sizes[name] = [None, None]
                    order.append(name)
                if "input" in value:
                    sizes[name][0] = max(sizes[name][0] or 0, len(value["input"].encode()))
                if "output" in value:
                    sizes[name][1] = max(sizes[name][1] or 0, len(value["output"].encode()))
        return [StateSize(n, sizes[n][0], sizes[n][1]) for n in order]


class LocalStepFunctions:
    """moto with a table, a bucket, Python handlers as Lambda functions, and an ASL runner."""

    def __init__(
        self,
        *,
        table: str = "sfn-offload-local",
        bucket: str = "sfn-offload-local",
        region: str = "us-east-1",
        set_environment: bool = True,
    ) -> None:
        self.table = table
        self.bucket = bucket
        self.region = region
        self._set_environment = set_environment
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._arns: dict[str, str] = {}
        self._stops: dict[str, dict[str, Any]] = {}
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._patches: list[tuple[Any, str, Any]] = []
        self._role_arn = ""
        self.invocations: list[str] = []
        #: (service, operation) -> count of AWS requests made by handlers and the library
        #: (the kit's own bookkeeping calls and moto's engine-internal Lambda calls excluded).
        self.aws_calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> LocalStepFunctions:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start moto, create the table, bucket and IAM role, install the hooks."""
        from moto import mock_aws

        env = {
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        }
        if self._set_environment:
            env.update(SFN_OFFLOAD_TABLE=self.table, SFN_OFFLOAD_BUCKET=self.bucket)
        for name, value in env.items():
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        self._mock = mock_aws(
            config={
                "stepfunctions": {"execute_state_machine": True},
                "lambda": {"use_docker": False},
            }
        )
        self._mock.start()
        self._install_hooks()
        self._create_resources()

    def stop(self) -> None:
        """Stop moto, remove the hooks and restore the environment."""
        for owner, name, original in reversed(self._patches):
            setattr(owner, name, original)
        self._patches.clear()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this local moto."""
        import boto3

        return boto3.client(service, region_name=self.region)  # type: ignore[call-overload]

    def _create_resources(self) -> None:
        # The same table and bucket `sfn-offload setup` creates: py2sfn key schema with TTL on
        # expires_at; encryption, public access blocked and lifecycle expiry on the bucket.
        from ..storage.setup import ensure_bucket, ensure_table

        _kit_thread.quiet = True  # set-up requests are not the tasks' requests
        try:
            ensure_table(self.client("dynamodb"), self.table)
            ensure_bucket(self.client("s3"), self.bucket, ttl_days=7)
        finally:
            _kit_thread.quiet = False
        role = self.client("iam").create_role(
            RoleName="sfn-offload-local",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
        self._role_arn = role["Role"]["Arn"]

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        self._patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def _install_hooks(self) -> None:
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.stepfunctions.responses import StepFunctionResponse

        local = self
        original_invoke = LambdaSimpleBackend.invoke
        original_stop = StepFunctionResponse.stop_execution

        def invoke(
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> Any:
            name = (
                function_name.rsplit(":", 1)[-1]
                if function_name.startswith("arn:")
                else function_name
            )
            handler = local._handlers.get(name)
            if handler is None:
                return original_invoke(
                    backend, function_name, qualifier, body, headers, response_headers
                )
            return local._call(name, handler, body, response_headers)

        def stop_execution(response: Any) -> Any:
            # moto accepts but drops error/cause; keep them so results can show them.
            arn = response._get_param("executionArn")
            with local._lock:
                local._stops[arn] = {
                    "error": response._get_param("error"),
                    "cause": response._get_param("cause"),
                }
            return original_stop(response)

        import botocore.client

        original_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

        def make_api_call(client: Any, operation: str, params: Any) -> Any:
            service = client.meta.service_model.service_name
            if (
                service in _COUNTED_SERVICES
                and operation not in _KIT_OPERATIONS
                and not getattr(_kit_thread, "quiet", False)
            ):
                with local._lock:
                    local.aws_calls[(service, operation)] += 1
            return original_call(client, operation, params)

        self._patch(LambdaSimpleBackend, "invoke", invoke)
        self._patch(StepFunctionResponse, "stop_execution", stop_execution)
        self._install_jsonata()
        self._install_result_writer()
        self._patch(botocore.client.BaseClient, "_make_api_call", make_api_call)

    def _install_jsonata(self) -> None:
        # moto 5.2 parses JSONata state machines but ships no evaluator (its JVM bridge is a
        # stub); jsonata-python, when installed, fills the gap.
        try:
            import jsonata  # type: ignore[import-untyped]
            import moto.stepfunctions.parser.asl.jsonata.jsonata as moto_jsonata
        except ImportError:  # pragma: no cover - the testing extra installs it
            return

        def evaluate(expression: str) -> Any:
            # Round-trip through JSON so the engine only ever sees plain JSON values.
            return json.loads(json.dumps(jsonata.Jsonata(expression).evaluate(None)))

        self._patch(moto_jsonata, "_eval_jsonata", evaluate)

    def _install_result_writer(self) -> None:
        # moto 5.2's ResultWriter writes a manifest listing no result files and drops the
        # results. Write them as Step Functions does (OutputType JSON, Transformation NONE):
        # SUCCEEDED_0.json holding one execution record per child, Output as a JSON string.
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (  # noqa: E501
            resource_eval_s3,
        )

        owner = resource_eval_s3.ResourceEvalS3
        original = owner._handle_put_object
        local = self

        def handle_put_object(env: Any, runtime_part: Any, credentials: Any) -> None:
            parameters = env.stack[-1]
            results = env.stack[-2] if len(env.stack) > 1 else []
            original(env, runtime_part, credentials)
            written = env.stack[-1]
            if not isinstance(results, list) or not isinstance(written, dict):
                return
            local._write_result_files(written, results, parameters)

        self._patch(owner, "_handle_put_object", staticmethod(handle_put_object))

    def _write_result_files(
        self, written: dict[str, Any], results: list[Any], parameters: dict[str, Any]
    ) -> None:
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
        s3 = self.client("s3")
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

    # -- Lambda functions -------------------------------------------------------------------

    def register(self, name: str, handler: Callable[..., Any]) -> str:
        """Make ``handler(event, context)`` the Lambda function ``name``; returns its ARN."""
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
        response = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self._role_arn,
            Handler="handler.handler",
            Code={"ZipFile": code.getvalue()},
        )
        self._handlers[name] = handler
        self._arns[name] = response["FunctionArn"]
        return str(response["FunctionArn"])

    def function_arns(self) -> dict[str, str]:
        """Registered function names and their ARNs (the ``${name}`` substitutions)."""
        return dict(self._arns)

    def _call(
        self, name: str, handler: Callable[..., Any], body: Any, response_headers: Any
    ) -> bytes:
        with self._lock:
            self.invocations.append(name)
        event = json.loads(body) if body else {}
        context = FakeLambdaContext(name, self.region)
        try:
            result = handler(event, context)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
            # What the Python runtime does with a return value.
            return json.dumps(result).encode("utf-8")
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            error = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_exception(exc)[-3:],
            }
            return json.dumps(error).encode("utf-8")

    # -- executions -------------------------------------------------------------------------

    def run(
        self,
        definition: Mapping[str, Any] | str | Path,
        input: Any = None,
        *,
        name: str | None = None,
        timeout: float = 120.0,
        substitutions: Mapping[str, str] | None = None,
    ) -> Execution:
        """Create a state machine from ``definition``, run it on ``input`` and wait for it."""
        text = self._definition_text(definition, substitutions)
        sfn = self.client("stepfunctions")
        name = name or f"run-{uuid.uuid4().hex[:12]}"
        machine = sfn.create_state_machine(name=name, definition=text, roleArn=self._role_arn)
        started = sfn.start_execution(
            stateMachineArn=machine["stateMachineArn"],
            name=name,  # moto needs an explicit name
            input=json.dumps({} if input is None else input),
        )
        return self.wait(started["executionArn"], timeout=timeout)

    def wait(self, execution_arn: str, *, timeout: float = 120.0) -> Execution:
        """Wait for an execution to finish and collect its result and history."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        history: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn}
        while True:
            page = sfn.get_execution_history(**kwargs)
            history.extend(page["events"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        error, cause = described.get("error"), described.get("cause")
        if described["status"] == "ABORTED" and execution_arn in self._stops:
            error = error or self._stops[execution_arn]["error"]
            cause = cause or self._stops[execution_arn]["cause"]
        if described["status"] == "FAILED" and error is None:
            error, cause = _failure_from_history(history)
        raw_output = described.get("output")
        return Execution(
            arn=execution_arn,
            status=described["status"],
            output=json.loads(raw_output) if raw_output else None,
            error=error,
            cause=cause,
            history=history,
        )

    def stored(self) -> list[StoredPayload]:
        """Every payload in the table and bucket (items that overflowed to S3 are listed once,
        as their S3 object). Not counted in :attr:`aws_calls`."""
        from ..wire.codec import inflate

        _kit_thread.quiet = True
        try:
            out: list[StoredPayload] = []
            ddb = self.client("dynamodb")
            pages = ddb.get_paginator("scan").paginate(TableName=self.table)
            for item in (i for page in pages for i in page["Items"]):
                if "s3_key" in item:
                    continue
                encoding = item.get("encoding", {}).get("S", "json")
                body = item["data"]["S"].encode() if "data" in item else item["blob"]["B"]
                key = f"{item['partition_key']['S']}#{item['sort_key']['N']}"
                raw = inflate(body, encoding, where=key)
                out.append(StoredPayload("dynamodb", key, len(body), len(raw), encoding))
            s3 = self.client("s3")
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                for obj in page.get("Contents", []):
                    got = s3.get_object(Bucket=self.bucket, Key=obj["Key"])
                    body = got["Body"].read()
                    encoding = (got.get("Metadata") or {}).get("encoding", "json")
                    raw = inflate(body, encoding, where=obj["Key"])
                    out.append(StoredPayload("s3", obj["Key"], len(body), len(raw), encoding))
            return out
        finally:
            _kit_thread.quiet = False

    def _definition_text(
        self, definition: Mapping[str, Any] | str | Path, substitutions: Mapping[str, str] | None
    ) -> str:
        if isinstance(definition, Path) or (
            isinstance(definition, str) and not definition.lstrip().startswith("{")
        ):
            text = Path(definition).read_text(encoding="utf-8")
        elif isinstance(definition, str):
            text = definition
        else:
            text = json.dumps(definition)
        values = {**self._arns, **(substitutions or {})}

        def replace(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                raise KeyError(
                    f"definition uses ${{{key}}} but no function or substitution has that name"
                )
            return values[key]

        return _PLACEHOLDER.sub(replace, text)


_kit_thread = threading.local()


@dataclass(frozen=True)
class StoredPayload:
    """One payload found in the local table or bucket."""

    backend: str
    key: str
    stored_bytes: int
    json_bytes: int
    encoding: str


def _failure_from_history(history: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    for event in reversed(history):
        details = event.get("executionFailedEventDetails")
        if details:
            return details.get("error"), details.get("cause")
    return None, None


async def _await(awaitable: Any) -> Any:
    return await awaitable


try:  # the fixture exists when pytest does; the kit also works without it
    import pytest

    @pytest.fixture
    def local_sfn() -> Iterator[LocalStepFunctions]:
        """A started :class:`LocalStepFunctions` (moto, table, bucket, hooks) for one test."""
        with LocalStepFunctions() as local:
            yield local

except ImportError:  # pragma: no cover
    pass
