"""The kit: moto with a table, a bucket, Python handlers as Lambda functions, an ASL runner."""

from __future__ import annotations

import json
import os
import threading
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .._config import DEFAULT_TTL_DAYS
from ..errors import QuotaExceededError
from ..wire.writer import runtime_text
from .aws_calls import install_call_counter, kit_requests
from .checks import CheckMode, assert_definition_ok
from .definition import definition_text
from .engine_clients import install_client_cache, install_jsonpath_cache
from .envelope import install_invoke_envelope, remember_request_id
from .execution import Execution, wait_for
from .jsonata_eval import install_jsonata
from .lambdas import FakeLambdaContext, call_handler, install_invoke_hook, stub_code
from .map_results import install_map_result_check
from .map_workers import install_map_worker_cap
from .patching import Patches
from .quotas import QuotaWarning, install_size_check, state_bytes
from .result_writer import install_result_writer
from .stops import install_stop_hook
from .stored import StoredPayload, list_stored

__all__ = ["LocalStepFunctions"]


def _posted_bytes(payload: Any) -> int:
    """The length of the body the Lambda runtime posted for ``payload`` (Content-Length)."""
    try:
        return len(runtime_text(payload).encode("utf-8"))
    except (TypeError, ValueError):
        return state_bytes(payload)


class LocalStepFunctions:
    """moto with a table, a bucket, Python handlers as Lambda functions, and an ASL runner.

    ``strict_quotas``: what to do when a finished execution did something AWS would refuse and
    moto let run (a payload over 262,144 bytes, more than 25,000 history events; see
    :attr:`Execution.quotas`): ``False`` (default) issues a :class:`QuotaWarning`, ``True``
    raises :class:`~sfn_offload.errors.QuotaExceededError`. :meth:`run` and :meth:`wait` can
    override it per execution.

    ``check``: before it creates a state machine, the kit runs ``sfn-offload check`` on the
    definition (:func:`assert_definition_ok`) and refuses, with
    :class:`~sfn_offload.errors.DefinitionCheckError`, one with a failing finding: ``"errors"``
    (default) fails on errors, ``"strict"`` on warnings too, ``"off"`` never. So a shape where
    a task cannot see the state's size (SO401, a narrowed input merged back without
    ``sfn_offload_reserve``) fails the test that runs it, not the execution in AWS.
    :meth:`run` can override it, and ignore codes, per execution.
    """

    def __init__(
        self,
        *,
        table: str = "sfn-offload-local",
        bucket: str = "sfn-offload-local",
        region: str = "us-east-1",
        set_environment: bool = True,
        strict_quotas: bool = False,
        check: CheckMode = "errors",
    ) -> None:
        self.table = table
        self.strict_quotas = strict_quotas
        self.check = check
        self.bucket = bucket
        self.region = region
        self._set_environment = set_environment
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._arns: dict[str, str] = {}
        self._stops: dict[str, tuple[str | None, str | None]] = {}
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._patches = Patches()
        self._role_arn = ""
        self.invocations: list[str] = []
        #: (service, operation) -> count of AWS requests made by handlers and the library
        #: (the kit's own bookkeeping calls and moto's engine-internal Lambda calls excluded).
        self.aws_calls: Counter[tuple[str, str]] = Counter()
        # The hooks run on moto's execution threads, several at once under Map and Parallel.
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

        self._export_environment()
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
        self._patches.undo()
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

    def _export_environment(self) -> None:
        # Region and credentials for boto3 (moto accepts any), the library's table and bucket;
        # stop() puts the previous values back.
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

    def _install_hooks(self) -> None:
        install_invoke_hook(self._patches, self._dispatch)
        install_invoke_envelope(self._patches, _posted_bytes)
        install_size_check(self._patches)
        install_stop_hook(self._patches, self._record_stop)
        install_jsonata(self._patches)
        install_result_writer(self._patches, lambda: self.client("s3"))
        install_call_counter(self._patches, self._count_call)
        install_client_cache(self._patches)
        install_jsonpath_cache(self._patches)
        install_map_worker_cap(self._patches)
        install_map_result_check(self._patches)

    def _create_resources(self) -> None:
        # The same table and bucket `sfn-offload setup` creates: py2sfn key schema with TTL on
        # expires_at; encryption, public access blocked and lifecycle expiry on the bucket.
        from ..storage.setup import ensure_bucket, ensure_table

        with kit_requests():
            ensure_table(self.client("dynamodb"), self.table)
            ensure_bucket(self.client("s3"), self.bucket, ttl_days=DEFAULT_TTL_DAYS)
        role = self.client("iam").create_role(
            RoleName="sfn-offload-local",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
        self._role_arn = role["Role"]["Arn"]

    # -- hook callbacks (called on moto's engine threads) ----------------------------------

    def _dispatch(self, name: str, body: Any, response_headers: Any) -> bytes | None:
        handler = self._handlers.get(name)
        if handler is None:
            return None
        with self._lock:
            self.invocations.append(name)
        context = FakeLambdaContext(name, self.region)
        remember_request_id(context.aws_request_id)
        return call_handler(handler, body, response_headers, context)

    def _record_stop(self, execution_arn: str, error: Any, cause: Any) -> None:
        with self._lock:
            self._stops[execution_arn] = (error, cause)

    def _count_call(self, service: str, operation: str) -> None:
        with self._lock:
            self.aws_calls[(service, operation)] += 1

    # -- Lambda functions -------------------------------------------------------------------

    def register(self, name: str, handler: Callable[..., Any]) -> str:
        """Make ``handler(event, context)`` the Lambda function ``name``; returns its ARN."""
        response = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self._role_arn,
            Handler="handler.handler",
            Code={"ZipFile": stub_code()},
        )
        self._handlers[name] = handler
        self._arns[name] = response["FunctionArn"]
        return str(response["FunctionArn"])

    def function_arns(self) -> dict[str, str]:
        """Registered function names and their ARNs (the ``${name}`` substitutions)."""
        return dict(self._arns)

    # -- executions -------------------------------------------------------------------------

    def run(
        self,
        definition: Mapping[str, Any] | str | Path,
        input: Any = None,
        *,
        name: str | None = None,
        timeout: float = 120.0,
        substitutions: Mapping[str, str] | None = None,
        strict_quotas: bool | None = None,
        check: CheckMode | None = None,
        ignore: Iterable[str] = (),
    ) -> Execution:
        """Check ``definition``, create a state machine from it, run it on ``input`` and wait.

        ``definition`` is a dict, JSON text or a file; each ``${name}`` in it becomes the ARN of
        the registered function ``name``, or ``substitutions[name]``. The definition is checked
        first (``check``, findings with the codes in ``ignore`` left out: see the class), and
        the finished execution's quota report after (``strict_quotas``: see the class).
        """
        text = definition_text(definition, {**self._arns, **(substitutions or {})})
        mode = self.check if check is None else check
        if mode != "off":
            assert_definition_ok(text, strict=mode == "strict", ignore=ignore)
        sfn = self.client("stepfunctions")
        name = name or f"run-{uuid.uuid4().hex[:12]}"
        machine = sfn.create_state_machine(name=name, definition=text, roleArn=self._role_arn)
        started = sfn.start_execution(
            stateMachineArn=machine["stateMachineArn"],
            name=name,  # moto needs an explicit name
            input=json.dumps({} if input is None else input),
        )
        return self.wait(started["executionArn"], timeout=timeout, strict_quotas=strict_quotas)

    def wait(
        self, execution_arn: str, *, timeout: float = 120.0, strict_quotas: bool | None = None
    ) -> Execution:
        """Wait for an execution to finish, collect its result and history, check its quotas."""
        sfn = self.client("stepfunctions")
        with kit_requests():
            execution = wait_for(sfn, execution_arn, timeout=timeout, stops=self._stops)
        report = execution.quotas
        if not report.ok:
            strict = self.strict_quotas if strict_quotas is None else strict_quotas
            if strict:
                raise QuotaExceededError(f"{execution.arn}: {report}")
            warnings.warn(f"{execution.arn}: {report}", QuotaWarning, stacklevel=2)
        return execution

    def stored(self) -> list[StoredPayload]:
        """Every payload in the table and bucket (items that overflowed to S3 are listed once,
        as their S3 object). Not counted in :attr:`aws_calls`."""
        with kit_requests():
            return list_stored(self.client("dynamodb"), self.client("s3"), self.table, self.bucket)
