"""The message for a value :func:`.codec.dumps` refused: which part JSON cannot carry, and why."""

from __future__ import annotations

import decimal
import json
import math
from typing import Any

from .writer import MAX_DEPTH

__all__ = ["describe_unencodable"]


def describe_unencodable(value: Any, where: str = "value") -> str:
    """Say which part of ``value`` cannot be encoded, as a JSONPath. Only called on failure.

    Iterative (no recursion), so a value nested deeper than Python's recursion limit, or a
    self-referencing one, is described instead of raising ``RecursionError``; the path shown is
    cut to a readable length.
    """
    problem = _find_problem(value)
    if problem is None:
        return f"{where} cannot be encoded as JSON"
    path, what = problem
    return f"{where} at {_shorten_path(path)} {what}, which JSON and Step Functions cannot carry"


def _find_problem(root: Any) -> tuple[str, str] | None:
    stack: list[tuple[Any, str, int]] = [(root, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return path, "is nested too deeply"
        found = _scalar_problem(value, path)
        if found is not None:
            return found
        children: list[tuple[Any, str, int]] = []
        as_dict = None
        if not isinstance(value, str | bytes | int | float | decimal.Decimal):
            as_dict = getattr(value, "_asdict", None)
        if callable(as_dict):
            value = as_dict()  # a namedtuple is written as the object it returns
        if isinstance(value, dict):
            written: set[str] = set()
            for key, item in value.items():
                bad = _key_problem(key, path)
                if bad is not None:
                    return bad
                text = _key_text(key)
                if text in written:
                    return path, f"has two keys that JSON writes alike ({_short_key(text)})"
                written.add(text)
                children.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list | tuple):
            children = [(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
        elif not isinstance(value, str | bytes | int | float | decimal.Decimal) and (
            value is not None
        ):
            return path, f"is of type {type(value).__name__}"
        stack.extend(reversed(children))  # depth first, in document order
    return None


def _key_problem(key: Any, path: str) -> tuple[str, str] | None:
    if isinstance(key, float) and not math.isfinite(key):
        return path, f"has a key that is {'NaN' if math.isnan(key) else 'Infinity'}"
    if isinstance(key, str):
        return _check_text(key, f"{path} (key {key!r})")
    if isinstance(key, bytes):
        return _check_bytes(key, f"{path} (key {key!r})")
    if not isinstance(key, int | float) and key is not None:  # bool is an int
        return path, f"has a key of type {type(key).__name__}"
    return None


def _key_text(key: Any) -> str:
    """The text JSON writes for a key that passed :func:`_key_problem`."""
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    if key is True or key is False or key is None:
        return json.dumps(key)
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return float.__repr__(key)
    return repr(key)


def _short_key(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _scalar_problem(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            int.__repr__(value)
        except ValueError:
            return path, "is an integer with too many digits"
    elif isinstance(value, float):
        if math.isnan(value):
            return path, "is NaN"
        if math.isinf(value):
            return path, "is Infinity"
    elif isinstance(value, decimal.Decimal) and not value.is_finite():
        return path, f"is Decimal {'NaN' if value.is_nan() else 'Infinity'}"
    elif isinstance(value, str):
        return _check_text(value, path)
    elif isinstance(value, bytes):
        return _check_bytes(value, path)
    return None


def _shorten_path(path: str, limit: int = 200) -> str:
    if len(path) <= limit:
        return path
    return f"{path[: limit // 2]}...{path[-limit // 2 :]}"


def _check_text(text: str, path: str) -> tuple[str, str] | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return path, "holds a lone surrogate (not valid UTF-8)"
    return None


def _check_bytes(raw: bytes, path: str) -> tuple[str, str] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return path, "holds bytes that are not UTF-8 (the runtime writes bytes as a string)"
    return _check_text(text, path)
