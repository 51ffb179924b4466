"""Costs of moto's Step Functions engine that AWS does not have, taken out of the kit's runs.

moto's engine builds a new boto3 client for every Lambda task it runs (and every SDK
integration call), and parses every JSONPath (``ItemSelector``, ``Parameters``, ``ResultPath``...)
again each time it is evaluated, building a new ``ply`` parser for it. Building a client costs
tens of milliseconds and a parse a few; at one of each per Map iteration, an Inline Map of 10,000
iterations took minutes. Clients are thread-safe and a parsed JSONPath is an immutable expression
tree (finding or updating with it changes the data, never the expression), so the kit hands the
engine cached ones. Nothing the state machine does changes.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

from .patching import Patches

__all__ = ["install_client_cache", "install_jsonpath_cache"]

_ENGINE_PACKAGE = "moto.stepfunctions.parser"
#: Distinct JSONPaths kept parsed: far more than any state machine holds.
_JSONPATH_CACHE = 4096


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

    _replace_in_engine(patches, "boto_client_for", original, cached)


def install_jsonpath_cache(patches: Patches) -> None:
    """Make every engine module's ``parse`` (jsonpath-ng's) return cached expressions."""
    import jsonpath_ng
    import jsonpath_ng.ext

    originals: list[Callable[..., Any]] = [
        getattr(jsonpath_ng, "parse"),  # noqa: B009 (not in the package's __all__)
        getattr(jsonpath_ng.ext, "parse"),  # noqa: B009
    ]
    for original in originals:
        cached = functools.lru_cache(maxsize=_JSONPATH_CACHE)(original)
        _replace_in_engine(patches, "parse", original, cached)


def _replace_in_engine(patches: Patches, name: str, original: Any, replacement: Any) -> None:
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith(_ENGINE_PACKAGE) and getattr(module, name, None) is original:
            patches.replace(module, name, replacement)
