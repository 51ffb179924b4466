"""One boto3 client per service for moto's Step Functions engine, instead of one per task.

moto's engine builds a new boto3 client for every Lambda task it runs (and every SDK
integration call); building one costs tens of milliseconds, which made an Inline Map of 10,000
iterations take minutes. Clients are thread-safe, so the kit hands the engine cached ones. AWS
itself has no such cost; nothing the state machine does changes.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from .patching import Patches

__all__ = ["install_client_cache"]

_ENGINE_PACKAGE = "moto.stepfunctions.parser"


def install_client_cache(patches: Patches) -> None:
    """Make every engine module's ``boto_client_for`` return cached clients."""
    from moto.core.models import botocore_stubber
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    cache: dict[tuple[str, str, bool], Any] = {}
    lock = threading.Lock()

    def cached(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto ignores state credentials (every client signs with fixed keys), so they are no
        # part of the key; whether moto intercepts calls decides the endpoint.
        key = (region, service, bool(botocore_stubber.enabled))
        with lock:
            if key not in cache:
                cache[key] = original(region=region, service=service)
            return cache[key]

    for name, module in list(sys.modules.items()):
        if (
            name.startswith(_ENGINE_PACKAGE)
            and getattr(module, "boto_client_for", None) is original
        ):
            patches.replace(module, "boto_client_for", cached)
