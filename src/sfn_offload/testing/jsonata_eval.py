"""A JSONata evaluator for moto's engine, from jsonata-python."""

from __future__ import annotations

import json
import sys
from typing import Any

from .patching import Patches

__all__ = ["install_jsonata"]


def install_jsonata(patches: Patches) -> None:
    """Let moto evaluate JSONata states.

    moto 5.2 parses JSONata state machines but ships no evaluator (its JVM bridge is a stub).
    Without jsonata-python this does nothing and JSONata states fail as they do in plain moto.
    """
    # jsonata-python raises the process's recursion limit to 10,000 when it is imported. On AWS
    # the limit stays at Python's default, and it decides where handlers' deep values fail
    # (json's C encoder honours it), so the kit puts it back.
    limit = sys.getrecursionlimit()
    try:
        import jsonata  # type: ignore[import-untyped]
        import moto.stepfunctions.parser.asl.jsonata.jsonata as moto_jsonata
    except ImportError:  # pragma: no cover - the testing extra installs it
        return
    finally:
        sys.setrecursionlimit(limit)

    def evaluate(expression: str) -> Any:
        # The engine expects plain JSON values, not jsonata-python's own types.
        return json.loads(json.dumps(jsonata.Jsonata(expression).evaluate(None)))

    patches.replace(moto_jsonata, "_eval_jsonata", evaluate)
