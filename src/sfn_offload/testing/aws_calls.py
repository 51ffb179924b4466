"""Count the AWS requests tasks make, leaving out the kit's own."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Final

from .patching import Patches

__all__ = ["install_call_counter", "kit_requests"]

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

# Per thread: handlers run on moto's engine threads while the kit inspects on the caller's.
_kit_thread = threading.local()


@contextlib.contextmanager
def kit_requests() -> Iterator[None]:
    """Requests sent by this thread inside the block are the kit's, not the tasks'."""
    _kit_thread.quiet = True
    try:
        yield
    finally:
        _kit_thread.quiet = False


def install_call_counter(patches: Patches, count: Callable[[str, str], None]) -> None:
    """Call ``count(service, operation)`` for each counted request any boto3 client sends."""
    import botocore.client

    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def make_api_call(client: Any, operation: str, params: Any) -> Any:
        service = client.meta.service_model.service_name
        if (
            service in _COUNTED_SERVICES
            and operation not in _KIT_OPERATIONS
            and not getattr(_kit_thread, "quiet", False)
        ):
            count(service, operation)
        return original(client, operation, params)

    patches.replace(botocore.client.BaseClient, "_make_api_call", make_api_call)
