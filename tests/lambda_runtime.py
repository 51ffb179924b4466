"""Invoke a handler the way AWS Lambda's Python runtime does: through ``awslambdaric``'s own
dispatch (``bootstrap.handle_event_request``), its marshaller and its error reporting.

Only the transport is replaced: the client that would POST the response to the Runtime API
records it instead. Everything between receiving the event and posting the response (building
the Lambda context, calling the handler without awaiting, serializing with ``simplejson``,
turning exceptions and marshal failures into ``errorType``/``errorMessage``/``stackTrace``) is
awslambdaric's code.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

bootstrap = pytest.importorskip("awslambdaric.bootstrap")
marshaller = pytest.importorskip("awslambdaric.lambda_runtime_marshaller")

ACCOUNT = "123456789012"


@dataclass
class Response:
    """What the runtime posted for one invocation."""

    ok: bool
    body: bytes
    content_type: str

    @property
    def payload(self) -> Any:
        """The posted JSON (the result, or the error object ``{errorMessage, errorType, ...}``)."""
        return json.loads(self.body)


class _RecordingClient:
    """The slice of ``LambdaRuntimeClient`` that ``handle_event_request`` uses."""

    def __init__(self) -> None:
        self.marshaller = marshaller.LambdaMarshaller()
        self.responses: list[Response] = []

    def post_invocation_result(
        self,
        invoke_id: str,
        result_data: Any,
        content_type: str = "application/json",
        invocation_id: Any = None,
    ) -> None:
        # The real client encodes str results as UTF-8 before sending them.
        data = result_data if isinstance(result_data, bytes) else result_data.encode("utf-8")
        self.responses.append(Response(True, data, content_type))

    def post_invocation_error(
        self, invoke_id: str, error_response_data: str, xray_fault: str, invocation_id: Any = None
    ) -> None:
        self.responses.append(Response(False, error_response_data.encode(), "application/json"))


class _Sink:
    """The runtime's log sink; error lines are kept for tests to read."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def log(self, msg: str, frame_type: Any = None) -> None:
        pass

    def log_error(self, message_lines: list[str]) -> None:
        self.errors.extend(message_lines)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def invoke(
    handler: Callable[..., Any],
    event: Any,
    *,
    function_name: str = "orders-task",
    python: str = "3.12",
    remaining_ms: int = 60_000,
) -> Response:
    """Run one invocation of ``handler`` on ``event`` as the ``python<python>`` runtime would.

    The runtime version matters for one thing: from python3.12 on the marshaller writes non-ASCII
    characters raw, before it as ``\\u`` escapes.
    """
    env = {
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{python}",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]local",
    }
    with _environment(env):
        client = _RecordingClient()  # the marshaller reads AWS_EXECUTION_ENV when it is built
        bootstrap.handle_event_request(
            lambda_runtime_client=client,
            request_handler=handler,
            invoke_id=str(uuid.uuid4()),
            event_body=json.dumps(event).encode(),
            content_type="application/json",
            client_context_json=None,
            cognito_identity_json=None,
            invoked_function_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function_name}",
            epoch_deadline_time_in_ms=int(time.time() * 1000) + remaining_ms,
            tenant_id=None,
            log_sink=_Sink(),
        )
    [response] = client.responses
    return response
