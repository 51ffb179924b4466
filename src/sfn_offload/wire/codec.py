"""Turning values into stored bytes and back: compact UTF-8 JSON, optional gzip, SHA-256.

Step Functions measures state data as UTF-8 JSON bytes, so the bytes this module produces are
the bytes that get measured, compared with budgets and stored: one serialization per payload.

>>> enc = encode({"name": "Zoë", "n": 10**30})
>>> enc.body
b'{"name":"Zo\\xc3\\xab","n":1000000000000000000000000000000}'
>>> decode(enc.body, enc.encoding, where="example")
{'name': 'Zoë', 'n': 1000000000000000000000000000000}
"""

from __future__ import annotations

import decimal
import gc
import gzip
import hashlib
import itertools
import json
import marshal
import math
import zlib
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..errors import IntegrityError, PayloadEncodingError, PayloadTooLargeError

__all__ = [
    "ENCODING_GZIP",
    "ENCODING_JSON",
    "Compression",
    "Encoded",
    "decode",
    "describe_unencodable",
    "digest",
    "dumps",
    "dumps_members",
    "encode",
    "encode_json_bytes",
    "inflate",
    "loads",
    "runtime_text",
    "state_size",
    "verify",
]

ENCODING_JSON: Final = "json"
ENCODING_GZIP: Final = "json+gzip"
KNOWN_ENCODINGS: Final = frozenset({ENCODING_JSON, ENCODING_GZIP})

Compression = Literal["none", "gzip"]


@dataclass(frozen=True, slots=True)
class Encoded:
    """A payload ready to store.

    Attributes:
        body: the bytes to store (JSON, or gzip of the JSON).
        encoding: ``"json"`` or ``"json+gzip"``; recorded with the payload and in the pointer.
        sha256: hex SHA-256 of ``body`` (what every load verifies).
        json_size: length of the UTF-8 JSON before compression (what Step Functions would count).
    """

    body: bytes
    encoding: str
    sha256: str
    json_size: int

    @property
    def size(self) -> int:
        """Stored byte size (``len(body)``)."""
        return len(self.body)


def digest(body: bytes) -> str:
    """Hex SHA-256 of ``body``."""
    return hashlib.sha256(body).hexdigest()


# One encoder for every call: json.dumps builds a new JSONEncoder whenever options are passed,
# which costs as much as encoding a small event (this runs on every decorated invocation).
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

#: Values nested deeper than this are refused (``PayloadEncodingError``), whatever the call
#: stack: the C encoder and decoder, and any recursive walk of the value, use one Python frame
#: per level against the interpreter's limit of 1,000, and the frames a handler runs under
#: (the Lambda runtime, Powertools, the event loop) must fit beside them.
MAX_DEPTH: Final = 512
_MAX_DEPTH: Final = MAX_DEPTH

#: Exact types the C encoder writes exactly as the Lambda runtime does (subclasses may differ:
#: a namedtuple is a tuple the runtime writes as an object).
_PLAIN_TYPES: Final = frozenset({dict, list, tuple, str, int, float, bool, type(None)})
#: Key types JSON turns into strings: ``{1: "a", "1": "b"}`` would be written with two keys
#: ``"1"`` (one value lost on reading), so objects with such keys take the careful path.
_NON_STR_KEY_TYPES: Final = frozenset({int, float, bool, type(None)})


def dumps(value: Any, *, where: str = "value") -> bytes:
    """Compact UTF-8 JSON of ``value``, written as the Lambda Python runtime writes it.

    The runtime (``awslambdaric``) serializes a handler's return value with ``simplejson``; this
    writes the same JSON values, compactly, so the bytes measured and stored here are those of
    the result Step Functions receives:

    - ``Decimal`` (what boto3's DynamoDB resource API returns) is a JSON number written as
      ``str(d)``: ``Decimal("1.10")`` is ``1.10``, ``Decimal("1E+2")`` is ``1E+2``;
    - a namedtuple, or any object with an ``_asdict()`` method, is the object it returns;
    - ``bytes`` are a UTF-8 string; other tuples are arrays; subclasses of ``int``, ``float``,
      ``str``, ``list`` and ``dict`` (enums included) are their base values.

    Refused, with the JSONPath of the offending part, is what the runtime refuses (``set``,
    ``datetime``, other objects, keys of other types, bytes that are not UTF-8, integers of
    more than 4,300 digits, cycles) and what it writes but JSON cannot carry: ``NaN`` and
    ``Infinity`` (float or ``Decimal``, as values or as float keys), lone surrogates, two keys
    of one object that JSON writes alike (``{1: "a", "1": "b"}``: a reader would keep one), and
    nesting deeper than :data:`MAX_DEPTH`.

    >>> dumps([1, "é"])
    b'[1,"\xc3\xa9"]'
    >>> from decimal import Decimal
    >>> dumps({"price": Decimal("1.10"), "qty": Decimal("3")})
    b'{"price":1.10,"qty":3}'
    >>> dumps({"x": float("nan")})
    Traceback (most recent call last):
    ...
    sfn_offload.errors.PayloadEncodingError: value at $.x is NaN, which JSON and ...
    """
    try:
        if _is_plain(value):
            # Only the exact JSON types: one pass of the C encoder.
            return _ENCODER.encode(value).encode("utf-8")
        return _STRICT.write(value).encode("utf-8")
    except RecursionError as exc:
        # Below MAX_DEPTH, but the frames already on the stack left no room: still a typed error.
        raise PayloadEncodingError(
            f"{where} is nested too deeply to encode with the call stack left here (values "
            f"may nest at most {_MAX_DEPTH} levels)"
        ) from exc
    except (TypeError, ValueError, UnicodeError) as exc:
        raise PayloadEncodingError(describe_unencodable(value, where)) from exc


def dumps_members(container: Any, *, where: str = "value") -> list[tuple[bytes, bytes]]:
    """:func:`dumps` of each member of a dict or list, as the container's own JSON holds them.

    ``container`` is a ``dict`` or a ``list`` without an ``_asdict`` method (what :func:`dumps`
    writes as the container's own members). For a dict, ``(key, value)`` pairs (the key as the
    string JSON writes: ``1`` becomes ``"1"``); for a list, ``(b"", element)``. The container's
    JSON is ``{k:v,k:v}`` or ``[e,e]`` of these bytes, so sizes measured member by member add up
    exactly. Each member is one call of the C encoder: the members of a large result cost about
    one serialization of it, where :func:`dumps` per member would set each one up anew.

    >>> dumps_members({"a": [1], 2: "é"})
    [(b'"a"', b'[1]'), (b'"2"', b'"\\xc3\\xa9"')]
    """
    if _is_plain(container):
        members = _plain_members(container)
        if members is not None:
            return members
    else:
        # The whole value's checks first: nesting counts from the root, and two keys JSON
        # writes alike are a property of the container, not of a member.
        dumps(container, where=where)
    try:
        write = _STRICT.write
        if isinstance(container, dict):
            return [
                (_STRICT._key(k).encode("utf-8"), write(v).encode("utf-8"))
                for k, v in container.items()
            ]
        return [(b"", write(v).encode("utf-8")) for v in container]
    except (TypeError, ValueError, UnicodeError, RecursionError) as exc:
        raise PayloadEncodingError(describe_unencodable(container, where)) from exc


def _c_writer() -> Any:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    # No circular-reference bookkeeping (markers): a cycle ends in RecursionError, which
    # _plain_members handles. Without markers the encoder keeps no state between calls.
    return make(None, None, json.encoder.encode_basestring, None, ":", ",", False, False, False)


_C_WRITER: Final = _c_writer()


def _plain_members(container: Any) -> list[tuple[bytes, bytes]] | None:
    """The members' JSON when ``container`` holds only the exact JSON types, else ``None``.

    ``marshal`` refuses every subclass (a namedtuple, an enum, ``FanOut``) and every type it does
    not know (``Decimal``, ``datetime``), writing no text: several times cheaper than the
    level-by-level scan :func:`dumps` makes. What it accepts that JSON has no form for (bytes,
    sets, keys of other types), cycles, NaN and lone surrogates make the C encoder raise; then
    ``None`` sends the container down the careful path, which writes it as the runtime does or
    says what is wrong.
    """
    write = _C_WRITER
    if write is None:  # no C accelerator (PyPy)
        return None
    # The C encoder returns its text in chunks (one or several, by version and size).
    try:
        marshal.dumps(container, 4)
        if type(container) is dict:
            return [
                (
                    "".join(write(k, 0)).encode() if type(k) is str else _STRICT._key(k).encode(),
                    "".join(write(v, 0)).encode(),
                )
                for k, v in container.items()
            ]
        return [(b"", "".join(write(v, 0)).encode()) for v in container]
    except (TypeError, ValueError, RecursionError):  # UnicodeError is a ValueError
        return None


def state_size(raw: bytes) -> int:
    """The bytes compact JSON ``raw`` may take in a state, measured the strictest known way.

    AWS does not document how Step Functions serializes a state before measuring it. moto's
    engine (like ``json.dumps``' defaults) writes a space after every comma and colon, so sizes
    here count one: commas and colons inside strings too, which makes it an upper bound. A state
    that fits by this measure fits by the compact one.

    >>> state_size(b'{"a":[1,2]}')
    13
    """
    return len(raw) + raw.count(b",") + raw.count(b":")


def runtime_text(value: Any, *, ensure_ascii: bool = False) -> str:
    """The JSON text the Lambda Python runtime writes for a handler's return value.

    ``awslambdaric`` writes ``simplejson`` with its default separators (``", "``, ``": "``),
    ``NaN``/``Infinity`` as bare tokens (not JSON; how Step Functions takes them is not
    documented), non-ASCII characters as ``\\u`` escapes up to Python 3.11 and raw from the
    python3.12 runtime on (``ensure_ascii=False``, the default here). It raises what the runtime
    raises, with the same messages (``TypeError: Object of type set is not JSON serializable``);
    the runtime reports them as ``Runtime.MarshalError``. The local kit uses this to answer for
    a Lambda function; the library itself uses :func:`dumps`. (A handler that returns ``bytes``
    has them sent as they are, not through this.)

    >>> from decimal import Decimal
    >>> runtime_text({"price": Decimal("1.10"), "tags": ("a", "b"), "n": float("nan")})
    '{"price": 1.10, "tags": ["a", "b"], "n": NaN}'
    """
    writer = _RUNTIME_ASCII if ensure_ascii else _RUNTIME
    if _is_plain(value):
        return writer.encoder.encode(value)
    return writer.write(value)


def _is_plain(value: Any, depth: int = 0) -> bool:
    """True when ``value`` holds only the exact types in ``_PLAIN_TYPES``.

    Scanned level by level with ``gc.get_referents`` (the children of every container of a level
    in one C call), several times faster than a Python walk; a level holding anything else, or
    more levels than the encoder goes (a cycle), sends the value down the careful path.
    ``depth`` is how deep ``value`` already sits in the whole value.
    """
    level = [value]
    types = {type(value)}
    for _ in range(_MAX_DEPTH + 1 - depth):
        if not _PLAIN_TYPES.issuperset(types):
            return False
        children = gc.get_referents(*level)
        if not children:
            return True
        child_types = set(map(type, children))
        # A dict's keys are among its referents: only when those hold a non-string scalar can
        # a dict of this level have a key JSON turns into a string.
        if (
            dict in types
            and not _NON_STR_KEY_TYPES.isdisjoint(child_types)
            and _non_str_keys(level)
        ):
            return False
        level, types = children, child_types
    return False


def _non_str_keys(level: list[Any]) -> bool:
    """True when a dict of ``level`` has a key that is not a ``str`` (all in C calls)."""
    keys = itertools.chain.from_iterable(filter(dict.__instancecheck__, level))
    return not {str}.issuperset(map(type, keys))


class _Writer:
    """JSON text following the runtime's rules for the types the C encoder writes differently.

    Clean subtrees (:func:`_is_plain`) go to the C encoder whole; only the containers on the way
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
        if depth > _MAX_DEPTH:
            raise ValueError("nested too deeply")
        if _is_plain(value, depth):
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
                    key = self._key(k)
                    if key in seen:
                        raise ValueError(f"two keys are written as {key}")
                    seen.add(key)
                    items.append(key + self.key_sep + self._value(v, depth + 1, path))
                return "{" + self.item_sep.join(items) + "}"
            return "[" + self.item_sep.join(self._value(v, depth + 1, path) for v in value) + "]"
        finally:
            path.discard(id(owner))

    def _key(self, key: Any) -> str:
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


_STRICT: Final = _Writer(compact=True, ensure_ascii=False, allow_nan=False)
_RUNTIME: Final = _Writer(compact=False, ensure_ascii=False, allow_nan=True)
_RUNTIME_ASCII: Final = _Writer(compact=False, ensure_ascii=True, allow_nan=True)


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
        if depth > _MAX_DEPTH:
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


def encode_json_bytes(
    raw: bytes, *, compression: Compression = "none", compress_min_bytes: int = 0
) -> Encoded:
    """Wrap already-serialized JSON bytes (from :func:`dumps`) for storage.

    With ``compression="gzip"``, payloads of at least ``compress_min_bytes`` are gzipped
    (deterministically: no timestamp, so a retry writes identical bytes) when that saves space.
    """
    if compression == "gzip" and len(raw) >= compress_min_bytes:
        packed = gzip.compress(raw, compresslevel=6, mtime=0)
        if len(packed) < len(raw):
            return Encoded(packed, ENCODING_GZIP, digest(packed), len(raw))
    return Encoded(raw, ENCODING_JSON, digest(raw), len(raw))


def encode(
    value: Any,
    *,
    compression: Compression = "none",
    compress_min_bytes: int = 0,
    where: str = "value",
) -> Encoded:
    """Serialize ``value`` once and prepare it for storage (see :func:`encode_json_bytes`)."""
    return encode_json_bytes(
        dumps(value, where=where), compression=compression, compress_min_bytes=compress_min_bytes
    )


def verify(
    body: bytes, *, size: int | None, sha256: str | None, where: str, from_input: bool = True
) -> None:
    """Check stored bytes against the size and digest a pointer recorded.

    ``from_input=False`` when the size was recorded in storage (an item's own record), not in
    the pointer the input carried: the message then does not repeat it.
    """
    # Messages name what the pointer recorded (it came with the input), never the size or
    # digest of what is stored: those would make a refused read an oracle for other data.
    if size is not None and len(body) != size:
        recorded = f"the {size} bytes" if from_input else "the size"
        raise IntegrityError(
            f"{where}: the stored payload is not {recorded} recorded for it (truncated, "
            "extended or replaced); refusing to use it"
        )
    if sha256 is not None and digest(body) != sha256.lower():
        raise IntegrityError(
            f"{where}: the SHA-256 of the stored payload does not match the one recorded for it; "
            "it was changed or corrupted"
        )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


#: Inflation proceeds in pieces of this size, so that stopping at a cap never holds more than
#: the cap and one piece (zlib would otherwise build its output in blocks and copy them whole).
_INFLATE_STEP: Final = 1024 * 1024
# One decoder for every load: json.loads(text, parse_constant=...) builds a new JSONDecoder on
# each call, which costs about as much as decoding a small payload.
_STRICT_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)


def inflate(body: bytes, encoding: str, *, where: str, max_bytes: int | None = None) -> bytes:
    """The JSON bytes of a stored payload (decompressed), capped at ``max_bytes``.

    The cap guards against gzip bombs and against hydrating more than a Lambda's memory holds:
    inflation stops as soon as the output passes it, having held at most the cap, one megabyte
    and the compressed input.
    """
    if encoding == ENCODING_GZIP:
        raw = _gunzip(body, where, max_bytes)
    elif encoding == ENCODING_JSON:
        raw = body
    else:
        raise PayloadEncodingError(
            f"{where}: unknown payload encoding {encoding!r} (known: {sorted(KNOWN_ENCODINGS)})"
        )
    if max_bytes is not None and len(raw) > max_bytes:
        raise PayloadTooLargeError(f"{where}: payload is over the {max_bytes}-byte hydration cap")
    return raw


def _gunzip(body: bytes, where: str, max_bytes: int | None) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    pieces: list[bytes] = []
    total = 0
    pending = body
    try:
        while True:
            piece = inflater.decompress(pending, _INFLATE_STEP)
            pending = inflater.unconsumed_tail
            pieces.append(piece)
            total += len(piece)
            if max_bytes is not None and total > max_bytes:
                raise PayloadTooLargeError(
                    f"{where}: payload inflates past the {max_bytes}-byte hydration cap"
                )
            if inflater.eof or (not piece and not pending):
                break
    except zlib.error as exc:
        raise PayloadEncodingError(f"{where}: gzip payload does not decompress") from exc
    if not inflater.eof:
        raise PayloadEncodingError(f"{where}: gzip payload is truncated")
    if inflater.unused_data:
        # A second gzip member or junk after the stream: we never write either, and silently
        # ignoring bytes would decode something other than what was stored.
        raise PayloadEncodingError(
            f"{where}: gzip payload has trailing bytes after the compressed stream"
        )
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def loads(raw: bytes, *, where: str, allow_constants: bool = False) -> Any:
    """Parse JSON bytes; ``allow_constants`` accepts the ``NaN``/``Infinity`` that
    py2sfn-task-tools wrote into old items (never written here)."""
    try:
        # Decode strictly first: json.loads(bytes) would also accept UTF-16/32 and, through
        # 'surrogatepass', UTF-8-encoded lone surrogates, neither of which is valid UTF-8 JSON.
        text = raw.decode("utf-8")
        if allow_constants:
            return json.loads(text)
        return _STRICT_DECODER.decode(text)
    except UnicodeDecodeError as exc:
        # The reason only: the exception's text quotes stored bytes and their position.
        raise PayloadEncodingError(f"{where}: stored payload is not valid UTF-8") from exc
    except RecursionError as exc:
        raise PayloadEncodingError(f"{where}: stored payload is nested too deeply") from exc
    except ValueError as exc:
        reason = "holds NaN or Infinity" if "non-standard" in str(exc) else "is not valid JSON"
        raise PayloadEncodingError(f"{where}: stored payload {reason}") from exc


def decode(
    body: bytes,
    encoding: str,
    *,
    where: str,
    max_bytes: int | None = None,
    allow_constants: bool = False,
) -> Any:
    """Decode stored bytes back into a value (:func:`inflate` then :func:`loads`)."""
    raw = inflate(body, encoding, where=where, max_bytes=max_bytes)
    return loads(raw, where=where, allow_constants=allow_constants)
