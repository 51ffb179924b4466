"""Python handlers as Lambda functions: moto's Lambda backend calls them in process."""

from __future__ import annotations

import inspect
import io
import json
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable
from typing import Any, Final

from ..wire.writer import runtime_text
from .patching import Patches

__all__ = ["ACCOUNT_ID", "FakeLambdaContext", "call_handler", "install_invoke_hook", "stub_code"]

ACCOUNT_ID: Final = "123456789012"

#: ``dispatch(function_name, body, response_headers)``: the response body, or ``None`` when no
#: Python handler has that name (moto then invokes the function itself).
Dispatch = Callable[[str, Any, Any], bytes | None]


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


def stub_code() -> bytes:
    """A deployment package for CreateFunction; the hook runs the Python handler instead."""
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return code.getvalue()


def call_handler(
    handler: Callable[..., Any], body: Any, response_headers: Any, context: FakeLambdaContext
) -> bytes:
    """Run ``handler`` as the Lambda Python runtime does and return the response body.

    Like ``awslambdaric``: the handler is called and its return value is never awaited; the
    value is written with the runtime's encoder (:func:`~sfn_offload.wire.codec.runtime_text`:
    ``Decimal`` as a number, namedtuples as objects, ``bytes`` sent as they are); an exception
    becomes a function error ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` whose
    ``errorType`` is the exception's bare class name (what ``Retry``/``Catch`` match), and a
    value the encoder refuses (a coroutine, a set...) becomes ``Runtime.MarshalError``.
    """
    event = json.loads(body) if body else {}
    try:
        result = handler(event, context)
    except Exception as exc:
        # The runtime lists the frames from the handler down, without its own (this frame here).
        frames = traceback.extract_tb(exc.__traceback__)[1:]
        return _function_error(
            response_headers,
            context,
            str(exc),
            type(exc).__name__,
            traceback.format_list(frames),
        )
    if isinstance(result, bytes):
        return result
    try:
        return runtime_text(result).encode("utf-8")
    except Exception as exc:  # the runtime's marshaller turns any failure into this error
        if inspect.iscoroutine(result):
            result.close()  # never awaited, as on AWS; closed so it does not warn later
        return _function_error(
            response_headers,
            context,
            f"Unable to marshal response: {exc}",
            "Runtime.MarshalError",
            [],
        )


def _function_error(
    response_headers: Any,
    context: FakeLambdaContext,
    message: str,
    error_type: str,
    stack_trace: list[str],
) -> bytes:
    response_headers["x-amz-function-error"] = "Unhandled"
    error = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": context.aws_request_id,
        "stackTrace": stack_trace,
    }
    return runtime_text(error).encode("utf-8")


def install_invoke_hook(patches: Patches, dispatch: Dispatch) -> None:
    """Route moto's Lambda invocations (both Task kinds reach this) through ``dispatch``."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.invoke

    def invoke(
        backend: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> Any:
        name = (
            function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        )
        response = dispatch(name, body, response_headers)
        if response is None:
            return original(backend, function_name, qualifier, body, headers, response_headers)
        return response

    patches.replace(LambdaSimpleBackend, "invoke", invoke)
