"""JSON text written as the Lambda Python runtime writes a handler's return value.

``awslambdaric`` serializes a return value with ``simplejson``, which writes some types the
standard library's encoder refuses or writes differently (``Decimal``, namedtuples, ``bytes``,
subclasses of the JSON types). :class:`Writer` follows the runtime's rules for those and hands
every subtree that holds only the exact JSON types (:func:`is_plain`) to the C encoder whole, so
a plain value costs one pass in C. :mod:`.codec` writes the compact form it stores and measures
with :data:`STRICT`; :func:`runtime_text` writes the spaced form the runtime sends.
"""

from __future__ import annotations

import decimal
import gc
import itertools
import json
import math
from typing import Any, Final

__all__ = [
    "MAX_DEPTH",
    "STRICT",
    "Writer",
    "is_plain",
    "plain_members",
    "plain_text",
    "runtime_text",
]

#: Values nested deeper than this are refused (``PayloadEncodingError``), whatever the call
#: stack: the C encoder and decoder, and any recursive walk of the value, use one Python frame
#: per level against the interpreter's limit of 1,000, and the frames a handler runs under
#: (the Lambda runtime, Powertools, the event loop) must fit beside them.
MAX_DEPTH: Final = 512

#: Exact types the C encoder writes exactly as the Lambda runtime does (subclasses may differ:
#: a namedtuple is a tuple the runtime writes as an object).
_PLAIN_TYPES: Final = frozenset({dict, list, tuple, str, int, float, bool, type(None)})
#: Key types JSON turns into strings: ``{1: "a", "1": "b"}`` would be written with two keys
#: ``"1"`` (one value lost on reading), so objects with such keys take the careful path.
_NON_STR_KEY_TYPES: Final = frozenset({int, float, bool, type(None)})
_CONTAINERS: Final = frozenset({dict, list, tuple})


def runtime_text(value: Any, *, ensure_ascii: bool = False) -> str:
    """The JSON text the Lambda Python runtime writes for a handler's return value.

    ``awslambdaric`` writes ``simplejson`` with its default separators (``", "``, ``": "``),
    ``NaN``/``Infinity`` as bare tokens (not JSON; how Step Functions takes them is not
    documented), non-ASCII characters as ``\\u`` escapes up to Python 3.11 and raw from the
    python3.12 runtime on (``ensure_ascii=False``, the default here). It raises what the runtime
    raises, with the same messages (``TypeError: Object of type set is not JSON serializable``);
    the runtime reports them as ``Runtime.MarshalError``. The local kit uses this to answer for
    a Lambda function; the library itself uses :func:`.codec.dumps`. (A handler that returns
    ``bytes`` has them sent as they are, not through this.)

    >>> from decimal import Decimal
    >>> runtime_text({"price": Decimal("1.10"), "tags": ("a", "b"), "n": float("nan")})
    '{"price": 1.10, "tags": ["a", "b"], "n": NaN}'
    """
    writer = _RUNTIME_ASCII if ensure_ascii else _RUNTIME
    if is_plain(value):
        return writer.encoder.encode(value)
    return writer.write(value)


def is_plain(value: Any, depth: int = 0) -> bool:
    """True when ``value`` holds only the exact types in ``_PLAIN_TYPES``.

    Scanned level by level with ``gc.get_referents`` (the children of many containers in one C
    call), several times faster than a Python walk; a level holding anything else, or more
    levels than the encoder goes (a cycle), sends the value down the careful path. ``depth`` is
    how deep ``value`` already sits in the whole value.

    Levels are taken in chunks of at most ``_CHUNK`` objects, deepest first: the objects of a
    chunk are still in the CPU cache when their children are looked at (a whole level of a
    50 MB value is not: scanning it level by level cost 2.4 times as much), and a value that
    holds itself twice (``a = []; a += [a, a]``), whose levels double, ends at
    :data:`MAX_DEPTH` with a bounded stack instead of exhausting memory.

    >>> is_plain({"a": [1, 2.5, None, True, "x"]})
    True
    >>> is_plain({1: "a", "1": "b"}), is_plain([{1, 2}])
    (False, False)
    """
    types = {type(value)}
    if not _PLAIN_TYPES.issuperset(types):
        return False
    # (objects of one level, their depth, the types of the whole level they were taken from)
    stack: list[tuple[list[Any], int, set[type]]] = [([value], depth, types)]
    while stack:
        level, depth, types = stack.pop()
        children = gc.get_referents(*level)
        if not children:
            continue
        if depth >= MAX_DEPTH:
            return False
        child_types = set(map(type, children))
        if not _PLAIN_TYPES.issuperset(child_types):
            return False
        # CPython lists a dict's keys among its referents only when one is not an exact str
        # (an all-str-key dict gives its values alone). So only when the children hold a
        # non-string scalar can a dict of this chunk have a key JSON turns into a string; and
        # a chunk of containers alone, whose children are exactly its members, has none (one
        # ``len`` per container instead of a look at every key).
        if (
            dict in types
            and not _NON_STR_KEY_TYPES.isdisjoint(child_types)
            and not (_CONTAINERS.issuperset(types) and sum(map(len, level)) == len(children))
            and _non_str_keys(level)
        ):
            return False
        for start in range(0, len(children), _CHUNK):
            stack.append((children[start : start + _CHUNK], depth + 1, child_types))
    return True


#: Objects per chunk of a level in :func:`is_plain` (2,048 to 16,384 measured alike).
_CHUNK: Final = 4096


def _non_str_keys(level: list[Any]) -> bool:
    """True when a dict of ``level`` has a key that is not a ``str`` (all in C calls)."""
    keys = itertools.chain.from_iterable(filter(dict.__instancecheck__, level))
    return not {str}.issuperset(map(type, keys))


class Writer:
    """JSON text following the runtime's rules for the types the C encoder writes differently.

    Clean subtrees (:func:`is_plain`) go to the C encoder whole; only the containers on the way
    to a ``Decimal``, namedtuple, bytes or subclass are written here. The order of the checks is
    the runtime's (``_asdict`` before arrays and objects).
    """

    def __init__(self, *, compact: bool, ensure_ascii: bool, allow_nan: bool) -> None:
        self.item_sep, self.key_sep = (",", ":") if compact else (", ", ": ")
        self.encoder = json.JSONEncoder(
            ensure_ascii=ensure_ascii,
            separators=(self.item_sep, self.key_sep),
            allow_nan=allow_nan,
        )
        self.allow_nan = allow_nan

    def write(self, value: Any) -> str:
        return self._value(value, 0, set())

    def _value(self, value: Any, depth: int, path: set[int]) -> str:
        if depth > MAX_DEPTH:
            raise ValueError("nested too deeply")
        if is_plain(value, depth):
            return self.encoder.encode(value)
        if isinstance(value, str):
            return self.encoder.encode(value)  # the C encoder writes a subclass's characters
        if isinstance(value, bytes):
            return self.encoder.encode(value.decode("utf-8"))
        if value is None or isinstance(value, bool):
            return self.encoder.encode(value)
        if isinstance(value, int):
            return int.__repr__(value)
        if isinstance(value, float):
            return self._float(float(value))
        as_dict = getattr(value, "_asdict", None)
        if callable(as_dict):
            mapping = as_dict()
            if not isinstance(mapping, dict):
                raise TypeError(f"_asdict() must return a dict, not {type(mapping).__name__}")
            return self._container(value, mapping, depth, path)
        if isinstance(value, list | tuple | dict):
            return self._container(value, value, depth, path)
        if isinstance(value, decimal.Decimal):
            return self._decimal(value)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    def _container(self, owner: Any, value: Any, depth: int, path: set[int]) -> str:
        if id(owner) in path:
            raise ValueError("Circular reference detected")
        path.add(id(owner))
        try:
            if isinstance(value, dict):
                items = []
                seen: set[str] = set()
                for k, v in value.items():
                    key = self.key(k)
                    if key in seen:
                        raise ValueError(f"two keys are written as {key}")
                    seen.add(key)
                    items.append(key + self.key_sep + self._value(v, depth + 1, path))
                return "{" + self.item_sep.join(items) + "}"
            return "[" + self.item_sep.join(self._value(v, depth + 1, path) for v in value) + "]"
        finally:
            path.discard(id(owner))

    def key(self, key: Any) -> str:
        if isinstance(key, str):
            text = str.__str__(key)  # an enum's str() is its name; JSON gets its characters
        elif isinstance(key, bytes):
            text = key.decode("utf-8")
        elif isinstance(key, float):
            text = self._float(float(key))
        elif key is True or key is False or key is None:
            text = self.encoder.encode(key)
        elif isinstance(key, int):
            text = int.__repr__(key)
        else:
            raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
        return self.encoder.encode(text)

    def _float(self, number: float) -> str:
        if math.isfinite(number):
            return float.__repr__(number)
        if not self.allow_nan:
            raise ValueError(f"Out of range float values are not JSON compliant: {number!r}")
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")

    def _decimal(self, number: decimal.Decimal) -> str:
        if number.is_finite():
            return str(number)  # a JSON number, digits and exponent as the Decimal holds them
        if not self.allow_nan:
            raise ValueError(f"Decimal {number} is not JSON compliant")
        return "NaN" if number.is_nan() else str(number)  # Infinity / -Infinity


# One writer (and one C encoder) for every call: json.dumps builds a new JSONEncoder whenever
# options are passed, which costs as much as encoding a small event (this runs on every
# decorated invocation).
STRICT: Final = Writer(compact=True, ensure_ascii=False, allow_nan=False)
_RUNTIME: Final = Writer(compact=False, ensure_ascii=False, allow_nan=True)
_RUNTIME_ASCII: Final = Writer(compact=False, ensure_ascii=True, allow_nan=True)


def _c_writer() -> Any:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    # No circular-reference bookkeeping (markers): a cycle ends in RecursionError, which
    # plain_members handles. Without markers the encoder keeps no state between calls.
    return make(None, None, json.encoder.encode_basestring, None, ":", ",", False, False, False)


_C_WRITER: Final = _c_writer()


def plain_text(value: Any) -> str:
    """The compact JSON of a value :func:`is_plain` accepted (or one decoded from JSON), as
    :data:`STRICT` writes it: the prebuilt C encoder called directly. ``JSONEncoder.encode`` sets
    a C encoder up anew on every call, which takes about as long as encoding a small event.
    Raises what the C encoder raises; ``RecursionError`` for a cycle (no circular-reference
    bookkeeping).

    >>> plain_text({"a": [1, "é", None]})
    '{"a":[1,"é",null]}'
    """
    if _C_WRITER is None:  # no C accelerator (PyPy)
        return STRICT.encoder.encode(value)
    return "".join(_C_WRITER(value, 0))


def plain_members(container: Any) -> list[tuple[bytes, bytes]] | None:
    """The members' JSON of a ``container`` that :func:`is_plain` accepted, else ``None``.

    Call it only after :func:`is_plain`: that scan already refused every subclass, every type
    JSON has no exact form for, cycles and nesting past :data:`MAX_DEPTH`, so no second type
    check runs here. What is left for the C encoder to raise on (NaN, lone surrogates) returns
    ``None``, which sends the container down the careful path: it says what is wrong.
    """
    write = _C_WRITER
    if write is None:  # no C accelerator (PyPy)
        return None
    # The C encoder returns its text in chunks (one or several, by version and size).
    try:
        if type(container) is dict:
            return [
                (
                    "".join(write(k, 0)).encode() if type(k) is str else STRICT.key(k).encode(),
                    "".join(write(v, 0)).encode(),
                )
                for k, v in container.items()
            ]
        return [(b"", "".join(write(v, 0)).encode()) for v in container]
    except (TypeError, ValueError, RecursionError):  # UnicodeError is a ValueError
        return None
