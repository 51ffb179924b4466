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
    "encode",
    "encode_json_bytes",
    "inflate",
    "loads",
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


def dumps(value: Any, *, where: str = "value") -> bytes:
    """Compact UTF-8 JSON of ``value``, as Step Functions would count it.

    Refuses what Step Functions cannot carry, with the path of the offending part:
    NaN/Infinity, non-JSON types (set, bytes, datetime, Decimal...), lone surrogates.

    >>> dumps([1, "é"])
    b'[1,"\\xc3\\xa9"]'
    >>> dumps({"x": float("nan")})
    Traceback (most recent call last):
    ...
    sfn_offload.errors.PayloadEncodingError: value at $.x is NaN, which JSON and ...
    """
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise PayloadEncodingError(describe_unencodable(value, where)) from exc


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


#: Deeper than this is refused: the C encoder and decoder would hit the recursion limit.
_MAX_DEPTH: Final = 900


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
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str | int | float | bool) and key is not None:
                    return path, f"has a key of type {type(key).__name__}"
                if isinstance(key, float) and not math.isfinite(key):
                    return path, f"has a key that is {'NaN' if math.isnan(key) else 'Infinity'}"
                if isinstance(key, str) and (bad := _check_text(key, f"{path} (key {key!r})")):
                    return bad
                children.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list | tuple):
            children = [(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
        elif not isinstance(value, str | int | float | bool) and value is not None:
            return path, f"is of type {type(value).__name__}"
        stack.extend(reversed(children))  # depth first, in document order
    return None


def _scalar_problem(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            str(value)
        except ValueError:
            return path, "is an integer with too many digits"
    elif isinstance(value, float):
        if math.isnan(value):
            return path, "is NaN"
        if math.isinf(value):
            return path, "is Infinity"
    elif isinstance(value, str):
        return _check_text(value, path)
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


def verify(body: bytes, *, size: int | None, sha256: str | None, where: str) -> None:
    """Check stored bytes against the size and digest a pointer recorded."""
    if size is not None and len(body) != size:
        state = "truncated" if len(body) < size else "longer than recorded"
        raise IntegrityError(
            f"{where}: stored payload is {len(body)} bytes but the pointer recorded {size} "
            f"({state}); refusing to use it"
        )
    if sha256 is not None and digest(body) != sha256.lower():
        raise IntegrityError(
            f"{where}: SHA-256 of the stored payload does not match the pointer "
            f"(expected {sha256[:16]}..., got {digest(body)[:16]}...); it was changed or corrupted"
        )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def inflate(body: bytes, encoding: str, *, where: str, max_bytes: int | None = None) -> bytes:
    """The JSON bytes of a stored payload (decompressed), capped at ``max_bytes``.

    The cap guards against gzip bombs and against hydrating more than a Lambda's memory holds.
    """
    if encoding == ENCODING_GZIP:
        inflater = zlib.decompressobj(wbits=31)
        limit = 0 if max_bytes is None else max_bytes + 1
        try:
            raw = inflater.decompress(body, limit)
        except zlib.error as exc:
            raise PayloadEncodingError(f"{where}: gzip payload does not decompress: {exc}") from exc
        if not inflater.eof:
            if max_bytes is not None and len(raw) > max_bytes:
                raise PayloadTooLargeError(
                    f"{where}: payload inflates past the {max_bytes}-byte hydration cap"
                )
            raise PayloadEncodingError(f"{where}: gzip payload is truncated")
        if inflater.unused_data:
            # A second gzip member or junk after the stream: we never write either, and
            # silently ignoring bytes would decode something other than what was stored.
            raise PayloadEncodingError(
                f"{where}: gzip payload has {len(inflater.unused_data)} trailing byte(s) after "
                "the compressed stream"
            )
    elif encoding == ENCODING_JSON:
        raw = body
    else:
        raise PayloadEncodingError(
            f"{where}: unknown payload encoding {encoding!r} (known: {sorted(KNOWN_ENCODINGS)})"
        )
    if max_bytes is not None and len(raw) > max_bytes:
        raise PayloadTooLargeError(
            f"{where}: payload is {len(raw)} bytes, over the {max_bytes}-byte hydration cap"
        )
    return raw


def loads(raw: bytes, *, where: str, allow_constants: bool = False) -> Any:
    """Parse JSON bytes; ``allow_constants`` accepts the ``NaN``/``Infinity`` that
    py2sfn-task-tools wrote into old items (never written here)."""
    try:
        # Decode strictly first: json.loads(bytes) would also accept UTF-16/32 and, through
        # 'surrogatepass', UTF-8-encoded lone surrogates, neither of which is valid UTF-8 JSON.
        text = raw.decode("utf-8")
        if allow_constants:
            return json.loads(text)
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise PayloadEncodingError(f"{where}: stored payload is not valid JSON: {exc}") from exc


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
