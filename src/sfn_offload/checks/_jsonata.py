"""JSONata fields (``Arguments``, ``Output``, ``ItemSelector``, ``Items``), evaluated on
abstract data (:mod:`._values`).

Only the forms the library's conventions use are understood exactly: ``$states.input[.key]``,
``$states.result[.key]``, ``$states.context...``, object literals and ``$merge([...])`` of them.
Anything else is summarised by what it refers to, which is enough for the rules: it may be
large if it reads something large, and it is never the execution ARN.

>>> env = Env(Data({"batch": frozenset({Kind.INPUT})}))
>>> out = expression("$merge([$states.input, {'n': $count($states.input.batch)}])", env)
>>> sorted(out.fields), out.lookup("n") == SMALL
(['batch', 'n'], True)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ._jsonpath import ALL, field_value
from ._values import ABSENT, SMALL, Const, Data, Kind, Value, as_data, coarse, literal, summary

__all__ = ["Env", "expression", "passed_keys", "unwrap", "value"]

_WRAPPED: Final = re.compile(r"\s*\{%(.*)%\}\s*", re.S)
_SCALAR_FUNCTIONS: Final = frozenset(
    {
        "count",
        "length",
        "sum",
        "max",
        "min",
        "average",
        "number",
        "boolean",
        "exists",
        "now",
        "millis",
        "uuid",
        "hash",
        "random",
        "not",
        "contains",
        "partition",
    }
)
_REF: Final = re.compile(r"\$states\.(input|result|errorOutput|context)((?:\.[\w\-]+)*)")
_CALL: Final = re.compile(r"\$(\w+)\((.*)\)", re.S)
_NUMBER: Final = re.compile(r"-?\d+(\.\d+)?")


@dataclass(frozen=True)
class Env:
    """What an expression can read: ``$states.input``, ``$states.result`` and the Map item."""

    input: Data
    result: Data | None = None
    item: Value = field(default=frozenset({Kind.INPUT}))


def unwrap(raw: object) -> str | None:
    """The expression inside ``{% ... %}``, or None for a literal."""
    match = _WRAPPED.fullmatch(raw) if isinstance(raw, str) else None
    return match.group(1).strip() if match else None


def value(raw: object, env: Env) -> Data | Value:
    """What a JSONata field gives: an expression, an object or list of them, or a literal."""
    expr = unwrap(raw)
    if expr is not None:
        return expression(expr, env)
    if isinstance(raw, Mapping):
        return Data({str(k): field_value(str(k), value(v, env)) for k, v in raw.items()})
    if isinstance(raw, list):
        parts = [field_value("", value(v, env)) for v in raw]
        return coarse(frozenset().union(*parts)) if parts else SMALL
    return literal(raw)


def expression(expr: str, env: Env) -> Data | Value:
    """What the expression ``expr`` (without ``{% %}``) gives."""
    expr = expr.strip()
    ref = _REF.fullmatch(expr)
    if ref is not None:
        return _reference(ref.group(1), ref.group(2), env)
    if expr.startswith("{") and expr.endswith("}"):
        return _object(expr[1:-1], env)
    call = _CALL.fullmatch(expr)
    if call is not None and call.group(1) == "merge":
        return _merge(call.group(2), env)
    if call is not None and call.group(1) in _SCALAR_FUNCTIONS:
        return SMALL
    if _NUMBER.fullmatch(expr):
        return frozenset({Const(float(expr) if "." in expr else int(expr))})
    if expr[:1] in ("'", '"') and expr[-1:] == expr[:1]:
        return frozenset({Const(expr[1:-1])})
    return _mentions(expr, env)


def _reference(root: str, path: str, env: Env) -> Data | Value:
    keys = [k for k in path.split(".") if k]
    if root == "context":
        if path == ".Execution.Id":
            return frozenset({Kind.EXECUTION_ID})
        if path.startswith(".Map.Item.Value"):
            return coarse(env.item)
        return frozenset({Kind.CONTEXT})
    if root == "errorOutput":
        return SMALL
    data = env.input if root == "input" else env.result
    if data is None:
        return ABSENT
    if not keys:
        return data
    found = data.lookup(keys[0])
    return found if len(keys) == 1 else coarse(found)


def _mentions(expr: str, env: Env) -> Value:
    """Anything else: it may hold what it reads."""
    parts: list[Value] = [SMALL]
    for ref in _REF.finditer(expr):
        found = _reference(ref.group(1), ref.group(2), env)
        parts.append(summary(found) if isinstance(found, Data) else coarse(found))
    if re.search(r"\$(?!states\b)[A-Za-z_]\w*(?!\w*\()", expr):
        parts.append(frozenset({Kind.INPUT}))  # a variable: nothing known about it
    return frozenset().union(*parts)


def _object(inner: str, env: Env) -> Data | Value:
    fields: dict[str, Value] = {}
    for pair in split_top(inner, ","):
        if not pair.strip():
            continue
        key_and_value = split_top(pair, ":", limit=1)
        key = key_and_value[0].strip()
        if len(key_and_value) != 2 or key[:1] not in ("'", '"') or key[-1:] != key[:1]:
            return _mentions(inner, env)  # computed keys: not an object literal we can read
        name = key[1:-1]
        fields[name] = field_value(name, expression(key_and_value[1], env))
    return Data(fields)


def _merge(arguments: str, env: Env) -> Data | Value:
    inner = arguments.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        return _mentions(inner, env)
    merged = Data()
    for part in split_top(inner[1:-1], ","):
        found = expression(part, env)
        merged = _override(merged, found if isinstance(found, Data) else as_data(found))
    return merged


def _override(base: Data, top: Data) -> Data:
    """``$merge([base, top])``: top's keys win; keys top may or may not hold keep both."""
    maybe = top.rest - ABSENT
    fields = {k: v | maybe for k, v in base.fields.items()}
    fields.update(top.fields)
    rest = (base.rest - ABSENT) | maybe | (ABSENT if base.rest & top.rest >= ABSENT else set())
    return Data(fields, frozenset(rest))


def split_top(text: str, separator: str, *, limit: int = -1) -> list[str]:
    """Split ``text`` on ``separator`` outside quotes and brackets.

    >>> split_top("'a': {'b': 1, 'c': 2}, 'd': [3, 4]", ",")
    ["'a': {'b': 1, 'c': 2}", " 'd': [3, 4]"]
    """
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote and text[i - 1] != "\\" else quote
        elif char in "'\"`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == separator and depth == 0 and (limit < 0 or len(parts) < limit):
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def passed_keys(body: object) -> frozenset[str] | None:
    """Top-level input keys the fields pass whole (``ALL``, i.e. None, for ``$states.input``)."""
    keys: set[str] = set()
    for expr in _expressions(body):
        for ref in _REF.finditer(expr):
            if ref.group(1) != "input":
                continue
            parts = [k for k in ref.group(2).split(".") if k]
            if not parts:
                return ALL
            if len(parts) == 1:
                keys.add(parts[0])
    return frozenset(keys)


def _expressions(body: object) -> list[str]:
    expr = unwrap(body)
    if expr is not None:
        return [expr]
    if isinstance(body, Mapping):
        return [e for v in body.values() for e in _expressions(v)]
    if isinstance(body, list):
        return [e for v in body for e in _expressions(v)]
    return []
