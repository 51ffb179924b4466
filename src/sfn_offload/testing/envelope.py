"""The result wrapper of ``arn:aws:states:::lambda:invoke``, which moto leaves out.

On AWS the optimized Lambda integration returns the function's output inside the Invoke
response, and it is this whole object that Step Functions measures against 262,144 bytes
before ``ResultSelector`` runs::

    {"ExecutedVersion": "$LATEST",
     "Payload": <the function's output>,
     "SdkHttpMetadata": {"AllHttpHeaders": {<header>: [<value>], ...},
                         "HttpHeaders": {<header>: <value>, ...},
                         "HttpStatusCode": 200},
     "SdkResponseMetadata": {"RequestId": "<uuid>"},
     "StatusCode": 200}

moto 5.2 returns ``{"ExecutedVersion"?, "Payload", "StatusCode"}``, so the envelope allowance
of :func:`sfn_offload.budget.inline_budget` would never be exercised; the kit adds the rest, with
the headers Lambda sends (about 900 bytes in all). A plain Lambda ARN resource gets the output
alone, on AWS as in moto, and is left as it is.

>>> wrapped = invoke_envelope({"ok": True}, request_id="r-1", payload_bytes=12)
>>> sorted(wrapped), wrapped["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"]
(['ExecutedVersion', 'Payload', 'SdkHttpMetadata', 'SdkResponseMetadata', 'StatusCode'], '12')
"""

from __future__ import annotations

import email.utils
import secrets
import threading
import time
import uuid
from typing import Any

from .patching import Patches

__all__ = ["install_invoke_envelope", "invoke_envelope", "remember_request_id"]

# The handler runs on the engine thread that invokes it (moto is in process), so the request id
# of the last invocation on a thread is the one the envelope being built belongs to.
_last = threading.local()


def remember_request_id(request_id: str) -> None:
    """Record the request id of the invocation running on this thread (for its envelope)."""
    _last.request_id = request_id


def invoke_envelope(
    payload: Any, *, request_id: str, payload_bytes: int, version: str = "$LATEST"
) -> dict[str, Any]:
    """The ``lambda:invoke`` task result AWS builds around a function's output."""
    now = email.utils.formatdate(time.time(), usegmt=True)
    trace = (
        f"root=1-{int(time.time()):08x}-{secrets.token_hex(12)};"
        f"parent={secrets.token_hex(8)};sampled=0"
    )
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(payload_bytes),
        "Content-Type": "application/json",
        "Date": now,
        "X-Amz-Executed-Version": version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": trace,
    }
    return {
        "ExecutedVersion": version,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


def install_invoke_envelope(patches: Patches, measure: Any) -> None:
    """Wrap every ``lambda:invoke`` result in :func:`invoke_envelope`.

    ``measure(payload) -> int`` gives the payload's byte size (the ``Content-Length`` header).
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_lambda as service,
    )

    owner = service.StateTaskServiceLambda
    original = owner._eval_service_task

    def eval_service_task(task: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(task, env, *args, **kwargs)
        response = env.stack[-1]
        payload = response.get("Payload")
        request_id = getattr(_last, "request_id", None) or str(uuid.uuid4())
        env.stack[-1] = invoke_envelope(
            payload,
            request_id=request_id,
            payload_bytes=measure(payload),
            version=response.get("ExecutedVersion") or "$LATEST",
        )

    patches.replace(owner, "_eval_service_task", eval_service_task)
