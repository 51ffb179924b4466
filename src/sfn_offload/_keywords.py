"""Keyword options typed with a ``TypedDict`` (``**options: Unpack[...]``), checked at runtime.

mypy checks the names and types; at runtime ``**options`` takes any name, so a misspelt option
would be ignored without this: it raises what Python raises for a keyword a signature lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["reject_unknown"]


def reject_unknown(options: Mapping[str, Any], allowed: Any, function: str) -> None:
    """Raise ``TypeError`` for a key of ``options`` that the TypedDict ``allowed`` lacks.

    >>> from typing import TypedDict
    >>> class Options(TypedDict, total=False):
    ...     budget: int
    >>> reject_unknown({"budjet": 1}, Options, "offload")
    Traceback (most recent call last):
    ...
    TypeError: offload() got an unexpected keyword argument 'budjet'
    """
    unknown = sorted(set(options) - set(allowed.__annotations__))
    if unknown:
        raise TypeError(f"{function}() got an unexpected keyword argument {unknown[0]!r}")
