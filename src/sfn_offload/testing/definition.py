"""An ASL definition as text, with ``${name}`` placeholders filled in."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["definition_text"]

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_\-]+)\}")


def definition_text(definition: Mapping[str, Any] | str | Path, values: Mapping[str, str]) -> str:
    """The definition's JSON text with each ``${name}`` replaced by ``values[name]``.

    ``definition`` is a dict, JSON text, or the path of a file (a string not starting with
    ``{`` is taken as a path). An unknown placeholder raises ``KeyError``.

    >>> definition_text('{"Resource": "${echo}"}', {"echo": "arn:echo"})
    '{"Resource": "arn:echo"}'
    """
    if isinstance(definition, Path) or (
        isinstance(definition, str) and not definition.lstrip().startswith("{")
    ):
        text = Path(definition).read_text(encoding="utf-8")
    elif isinstance(definition, str):
        text = definition
    else:
        text = json.dumps(definition)

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(
                f"definition uses ${{{key}}} but no function or substitution has that name"
            )
        return values[key]

    return _PLACEHOLDER.sub(replace, text)
