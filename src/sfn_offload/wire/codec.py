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

import gzip
import hashlib
import json
import marshal
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..errors import IntegrityError, PayloadEncodingError, PayloadTooLargeError
from .unencodable import describe_unencodable
from .writer import MAX_DEPTH, STRICT, is_plain, plain_members, plain_text, runtime_text

__all__ = [
    "ENCODING_GZIP",
    "ENCODING_JSON",
    "MAX_DEPTH",
    "Compression",
    "Encoded",
    "decode",
    "describe_unencodable",
    "digest",
    "dumps",
    "dumps_members",
    "dumps_parsed",
    "encode",
    "encode_json_bytes",
    "inflate",
    "loads",
    "loads_taking",
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
        if is_plain(value):
            # Only the exact JSON types: one pass of the C encoder.
            return plain_text(value).encode("utf-8")
        return STRICT.write(value).encode("utf-8")
    except RecursionError as exc:
        # Below MAX_DEPTH, but the frames already on the stack left no room: still a typed error.
        raise PayloadEncodingError(
            f"{where} is nested too deeply to encode with the call stack left here (values "
            f"may nest at most {MAX_DEPTH} levels)"
        ) from exc
    except (TypeError, ValueError, UnicodeError) as exc:
        raise PayloadEncodingError(describe_unencodable(value, where)) from exc


def dumps_parsed(value: Any, *, where: str = "value") -> bytes:
    """:func:`dumps` of a value decoded from JSON, such as the event the Lambda runtime hands a
    handler: the C encoder alone when ``marshal`` finds only exact built-in types.

    A decoded value can hold nothing :func:`dumps` would write differently or refuse beyond what
    the C encoder raises on (its keys are strings, it has no cycles), so the whole-value scan of
    :func:`dumps`, most of the cost for a small event, is skipped. Anything else (a subclass, a
    ``Decimal``, bytes, NaN, a lone surrogate) goes through :func:`dumps`, with its messages.

    >>> dumps_parsed({"orders": [1, 2], "note": "é"})
    b'{"orders":[1,2],"note":"\xc3\xa9"}'
    """
    try:
        marshal.dumps(value, 4)  # raises on every subclass and on types it does not know
        # What marshal takes and JSON has no form for (bytes, sets) makes the encoder raise.
        return plain_text(value).encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeError is a ValueError
        pass
    return dumps(value, where=where)


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
    if is_plain(container):
        members = plain_members(container)
        if members is not None:
            return members
    else:
        # The whole value's checks first: nesting counts from the root, and two keys JSON
        # writes alike are a property of the container, not of a member.
        dumps(container, where=where)
    try:
        write = STRICT.write
        if isinstance(container, dict):
            return [
                (STRICT.key(k).encode("utf-8"), write(v).encode("utf-8"))
                for k, v in container.items()
            ]
        return [(b"", write(v).encode("utf-8")) for v in container]
    except (TypeError, ValueError, UnicodeError, RecursionError) as exc:
        raise PayloadEncodingError(describe_unencodable(container, where)) from exc


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
# The decoder's scanner (set in JSONDecoder.__init__; the C one where there is one).
_STRICT_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = _STRICT_DECODER.scan_once  # type: ignore[attr-defined]


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
    return loads_taking([raw], where=where, allow_constants=allow_constants)


def loads_taking(held: list[bytes], *, where: str, allow_constants: bool = False) -> Any:
    """:func:`loads` of the bytes ``held`` holds, taken out of it: when the caller kept no other
    reference, the bytes are freed once decoded to text, before the value is built (50 MB less
    at the peak for a 50 MB payload).

    >>> held = [b'{"a":[1,2]}']
    >>> loads_taking(held, where="example"), held
    ({'a': [1, 2]}, [])
    """
    try:
        # Decode strictly first: json.loads(bytes) would also accept UTF-16/32 and, through
        # 'surrogatepass', UTF-8-encoded lone surrogates, neither of which is valid UTF-8 JSON.
        text = held.pop().decode("utf-8")
        if allow_constants:
            return json.loads(text)
        # What this library wrote has no whitespace around it: the scanner alone reads it, at
        # half the cost of decode()'s whitespace matching around the same scan for a small
        # payload. Anything else (spaces, junk after the value, a syntax error) takes decode(),
        # which says what is wrong.
        try:
            value, end = _STRICT_SCAN(text, 0)
        except StopIteration:
            end = -1
        if end == len(text):
            return value
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
