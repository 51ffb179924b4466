"""JSONPath payload templates (``Parameters``, ``ItemSelector``, ``ResultSelector``), evaluated
on abstract data (:mod:`._values`), and the paths (``InputPath``, ``ResultPath``) applied to it.

>>> env = Env(Data({"orders": frozenset({Kind.INPUT})}))
>>> event = template({"orders.$": "$.orders", "sfn_execution_arn.$": "$$.Execution.Id"}, env)
>>> event.lookup("sfn_execution_arn") == frozenset({Kind.EXECUTION_ID})
True
>>> passed_keys({"orders.$": "$.orders", "n.$": "States.ArrayLength($.rows)"})
frozenset({'orders'})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..wire.references import MAP_RESULTS_KEY, MAP_RUN_KEY
from ._values import (
    ABSENT,
    SMALL,
    Data,
    Kind,
    Value,
    as_data,
    coarse,
    literal,
    summary,
)

__all__ = [
    "ALL",
    "Env",
    "field_value",
    "passed_keys",
    "path_value",
    "place",
    "result_key",
    "select",
    "template",
]

#: ``passed_keys`` when the whole input is passed.
ALL: Final = None
_IDENTITY_KEYS: Final = ("sfn_execution_arn", "sfn_execution_name")
#: Intrinsics whose result is a scalar whatever their arguments.
_SCALAR_INTRINSICS: Final = frozenset(
    {"ArrayLength", "ArrayContains", "MathAdd", "MathRandom", "UUID", "Hash", "StringSplit"}
)
_FIRST_KEY: Final = re.compile(r"\$(?:\.([^.\[\]]+)|\['([^']+)'\]|\[\"([^\"]+)\"\])(.*)", re.S)
#: A reference to the input inside a path or an intrinsic's arguments (not ``$$`` or ``$var``).
_REFERENCE: Final = re.compile(r"(?<![\w$])\$(?![\w$])((?:\.[\w\-]+|\[[^\]]*\])*)")


@dataclass(frozen=True)
class Env:
    """What a template's paths can read: ``$`` and ``$$.Map.Item.Value``."""

    input: Data
    item: Value = field(default=frozenset({Kind.INPUT}))


def field_value(key: str, value: Data | Value) -> Value:
    """What a key holds once ``value`` is put there; the library's own objects are recognised
    by their key (``sfn_offload_map``, ``sfn_offload_results``, py2sfn ``meta``)."""
    if isinstance(value, Data):
        if key == MAP_RUN_KEY:
            return frozenset({Kind.MAP_RUN})
        if key == MAP_RESULTS_KEY:
            return frozenset({Kind.MAP_RESULTS})
        if key == "meta" and any(value.lookup(k) - ABSENT for k in _IDENTITY_KEYS):
            return frozenset({Kind.IDENTITY_META})
        return summary(value)
    return value


def template(body: Mapping[str, Any], env: Env) -> Data:
    """The object a payload template builds (keys ending in ``.$`` are evaluated)."""
    fields: dict[str, Value] = {}
    for key, raw in body.items():
        if key.endswith(".$") and isinstance(raw, str):
            name = key[:-2]
            fields[name] = field_value(name, path_value(raw, env))
        else:
            fields[key] = field_value(key, _nested(raw, env))
    return Data(fields)


def _nested(raw: object, env: Env) -> Data | Value:
    if isinstance(raw, Mapping):
        return template(raw, env)
    if isinstance(raw, list):
        parts = [field_value("", _nested(item, env)) for item in raw]
        return coarse(frozenset().union(*parts)) if parts else SMALL
    return literal(raw)


def path_value(expr: str, env: Env) -> Data | Value:
    """What a ``.$`` expression gives: a path, a context path or an intrinsic function."""
    if expr.startswith("$$."):
        if expr == "$$.Execution.Id":
            return frozenset({Kind.EXECUTION_ID})
        if expr.startswith("$$.Map.Item.Value"):
            return coarse(env.item)
        return frozenset({Kind.CONTEXT})
    if expr.startswith("States."):
        return _intrinsic(expr, env)
    if expr == "$":
        return env.input
    match = _FIRST_KEY.fullmatch(expr)
    if match is None:  # $var, filters, wildcards: nothing known
        return summary(env.input) if expr.startswith("$") else frozenset({Kind.INPUT})
    key = next(g for g in match.groups()[:3] if g is not None)
    value = env.input.lookup(key)
    return value if not match.group(4) else coarse(value)


def _intrinsic_name(expr: str) -> str | None:
    return expr[len("States.") :].split("(", 1)[0] if expr.startswith("States.") else None


def _intrinsic(expr: str, env: Env) -> Value:
    if _intrinsic_name(expr) in _SCALAR_INTRINSICS:
        return SMALL
    parts: list[Value] = [SMALL]
    for ref in _REFERENCE.finditer(expr):
        value = path_value("$" + ref.group(1), env)
        parts.append(summary(value) if isinstance(value, Data) else coarse(value))
    return frozenset().union(*parts)


def passed_keys(body: object) -> frozenset[str] | None:
    """Top-level input keys a template passes whole (``ALL``, i.e. None, for ``$``)."""
    keys: set[str] = set()
    for expr in _expressions(body):
        if expr.startswith("$$.") or _intrinsic_name(expr) in _SCALAR_INTRINSICS:
            continue  # context values and scalars carry none of the input's bytes
        for ref in _REFERENCE.finditer(expr):
            match = _FIRST_KEY.fullmatch("$" + ref.group(1))
            if not ref.group(1):
                return ALL
            if match is not None and not match.group(4):
                keys.add(next(g for g in match.groups()[:3] if g is not None))
    return frozenset(keys)


def _expressions(body: object) -> list[str]:
    if isinstance(body, Mapping):
        found = []
        for key, raw in body.items():
            if key.endswith(".$") and isinstance(raw, str):
                found.append(raw)
            else:
                found.extend(_expressions(raw))
        return found
    if isinstance(body, list):
        return [e for item in body for e in _expressions(item)]
    return []


def select(data: Data, path: object) -> Data:
    """``InputPath``/``OutputPath``: the part of ``data`` at ``path`` (null: an empty object)."""
    if path is None:
        return Data()
    if path == "$" or not isinstance(path, str):
        return data
    value = path_value(path, Env(data))
    return value if isinstance(value, Data) else as_data(value)


def place(data: Data, result: Data | Value, path: object) -> Data:
    """``ResultPath``: ``result`` put into ``data`` at ``path`` (``$`` replaces, null drops)."""
    if path is None:
        return data
    if path == "$" or not isinstance(path, str):
        return result if isinstance(result, Data) else as_data(result)
    match = _FIRST_KEY.fullmatch(path)
    if match is None:
        return data
    key = next(g for g in match.groups()[:3] if g is not None)
    value = field_value(key, result)
    if match.group(4):  # deeper: the key keeps what it had, and holds the result too
        value = coarse(data.lookup(key) - ABSENT) | coarse(value)
    return data.with_field(key, value)


def result_key(path: object) -> str | None:
    """The top-level key a ``ResultPath`` writes, if it writes one."""
    match = _FIRST_KEY.fullmatch(path) if isinstance(path, str) else None
    return next(g for g in match.groups()[:3] if g is not None) if match else None
