"""The pointer wire format (v1). This module alone knows its JSON shape.

A pointer is what travels through Step Functions in place of a payload::

    {"__sfn_offload__": 1, "backend": "dynamodb", "table": "state", "key": "run-42.1a2b3c4d:report",
     "index": 0, "size": 183211, "sha256": "9f86d0...", "encoding": "json+gzip"}

    {"__sfn_offload__": 1, "backend": "s3", "bucket": "state-bucket",
     "key": "sfn-offload/run-42.1a2b3c4d/report/0", "index": 0, "size": 5242880,
     "sha256": "...", "encoding": "json"}

- ``__sfn_offload__`` is both the marker that makes a dict a pointer and the format version.
- ``table``/``key``/``index`` address a DynamoDB item (``partition_key``/``sort_key``);
  ``bucket``/``key`` an S3 object (``index`` is informational there).
- ``size`` is the stored byte size and ``sha256`` the digest of those bytes; every load checks both.
- ``count`` (instead of ``size``) marks a *list* pointer: the list was stored element by
  element at indices ``0..count-1`` (py2sfn ``put_items`` layout) and each element item carries its
  own digest. Its optional ``sha256`` is the *list's* digest (the Merkle root over the elements'
  digests, :mod:`~sfn_offload.wire.merkle`): the whole list, and each element alone, are checked
  against it. It may carry ``items``, a placeholder array of ``count`` ones for a Map state's
  ``ItemsPath`` (like py2sfn's ``put_items`` result), and ``ref``, the same pointer without
  ``items``: a constant-size copy a Map's ``ItemSelector`` hands to every iteration (JSONPath
  cannot drop a key). Neither is part of the address.

Parsing is strict: unknown versions, unknown or missing fields and mistyped values are refused
with a :class:`~sfn_offload.PointerError` that says which field and why.

>>> p = Pointer(backend="s3", container="b", key="k/0", size=2, sha256="a" * 64)
>>> Pointer.from_dict(p.to_dict()) == p
True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..errors import PointerError
from ..wire.codec import ENCODING_JSON, KNOWN_ENCODINGS

__all__ = ["MARKER", "MAX_INDEX", "VERSION", "Backend", "Pointer", "is_pointer"]

MARKER: Final = "__sfn_offload__"
VERSION: Final = 1
#: Largest element index accepted (DynamoDB numbers go further; Map states do not).
MAX_INDEX: Final = 2**31 - 1
Backend = Literal["dynamodb", "s3"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_VALUE_FIELDS: Final = frozenset({MARKER, "backend", "key", "index", "size", "sha256", "encoding"})
_LIST_FIELDS: Final = frozenset(
    {MARKER, "backend", "key", "count", "sha256", "encoding", "items", "ref"}
)
_CONTAINER_FIELD: Final = {"dynamodb": "table", "s3": "bucket"}
_BACKENDS: Final = tuple(_CONTAINER_FIELD)
#: (allowed, required) fields by (backend, is a list pointer), built once: every hydrated
#: pointer is checked against them.
_FIELDS: Final = {
    (backend, is_list): (
        fields | {container},
        # Optional: the encoding (json), a list's placeholder, ref and digest (py2sfn lists and
        # older writers carry none).
        (fields | {container})
        - ({"encoding", "items", "ref", "sha256"} if is_list else {"encoding"}),
    )
    for backend, container in _CONTAINER_FIELD.items()
    for is_list, fields in ((True, _LIST_FIELDS), (False, _VALUE_FIELDS))
}
#: Longest key each backend accepts, in UTF-8 bytes: a DynamoDB partition key is at most 2,048
#: bytes, an S3 object key at most 1,024. Longer keys are refused before any request.
_MAX_KEY_BYTES: Final = {"dynamodb": 2048, "s3": 1024}
#: Table names are at most 255 characters (1,024 for an ARN), bucket names 63.
_MAX_CONTAINER_BYTES: Final = 1024


def is_pointer(obj: object) -> bool:
    """True when ``obj`` is shaped like an sfn-offload pointer (has the marker key).

    Cheap on purpose: hydration calls it on every dict of an event. Whether the pointer is *valid*
    is :meth:`Pointer.from_dict`'s job.
    """
    return isinstance(obj, dict) and MARKER in obj


@dataclass(frozen=True, slots=True)
class Pointer:
    """A parsed, validated pointer.

    Attributes:
        backend: ``"dynamodb"`` or ``"s3"``.
        container: the table (dynamodb) or bucket (s3).
        key: the partition key (dynamodb) or object key (s3).
        index: the sort key (dynamodb); informational for s3.
        size: stored byte size (``None`` for list pointers).
        sha256: hex digest of the stored bytes; for a list pointer, the list's digest (the
            Merkle root over its elements' digests), or ``None`` when it does not carry one.
        encoding: ``"json"`` or ``"json+gzip"``.
        count: element count of a list pointer, else ``None``.
    """

    backend: Backend
    container: str
    key: str
    index: int = 0
    size: int | None = None
    sha256: str | None = None
    encoding: str = ENCODING_JSON
    count: int | None = None

    @property
    def is_list(self) -> bool:
        """True for a list pointer (elements stored one per index)."""
        return self.count is not None

    def describe(self) -> str:
        """Where the pointer points, for error messages and logs (never the payload)."""
        if self.backend == "s3":
            return f"s3 bucket {self.container!r} key {self.key!r}"
        where = f"dynamodb table {self.container!r} partition_key {self.key!r}"
        return where if self.is_list else f"{where} index {self.index}"

    def to_dict(self, *, with_items: bool = False) -> dict[str, Any]:
        """The wire form (JSON-ready dict); ``with_items`` adds a list pointer's placeholder
        array and its constant-size ``ref``."""
        out: dict[str, Any] = {MARKER: VERSION, "backend": self.backend}
        out[_CONTAINER_FIELD[self.backend]] = self.container
        out["key"] = self.key
        if self.is_list:
            out["count"] = self.count
            if self.sha256 is not None:
                out["sha256"] = self.sha256
        else:
            out["index"] = self.index
            out["size"] = self.size
            out["sha256"] = self.sha256
        out["encoding"] = self.encoding
        if with_items and self.count is not None:
            out["items"] = [1] * self.count
            out["ref"] = self.to_dict()
        return out

    def wire_size(self) -> int:
        """UTF-8 JSON size of the wire form (what it costs in the state)."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return len(text.encode("utf-8"))

    @classmethod
    def from_dict(cls, obj: object, *, where: str = "pointer") -> Pointer:
        """Parse and validate a wire-form pointer. Raises :class:`PointerError` with the reason."""
        if not isinstance(obj, dict):
            raise PointerError(
                f"{where}: a pointer must be a JSON object, got {type(obj).__name__}"
            )
        version = obj.get(MARKER)
        if type(version) is not int:
            raise PointerError(
                f"{where}: {MARKER!r} must be the integer format version, got {short_repr(version)}"
            )
        if version != VERSION:
            newer = " (newer than this library: upgrade sfn-offload)" if version > VERSION else ""
            raise PointerError(
                f"{where}: unsupported pointer version {short_repr(version)}{newer}; "
                f"supported: {VERSION}"
            )
        backend = obj.get("backend")
        if backend not in _BACKENDS:  # a tuple: untrusted values may be unhashable (lists)
            raise PointerError(
                f"{where}: unknown backend {short_repr(backend)} (pointer v{VERSION} knows "
                f"{sorted(_CONTAINER_FIELD)})"
            )
        container_field = _CONTAINER_FIELD[backend]
        is_list = "count" in obj
        allowed, required = _FIELDS[backend, is_list]
        keys = obj.keys()
        if not keys <= allowed:
            extra = sorted(set(obj) - allowed, key=str)
            raise PointerError(f"{where}: unexpected field(s) {extra} in a v{VERSION} pointer")
        if not keys >= required:
            missing = sorted(required - set(obj))
            raise PointerError(f"{where}: missing field(s) {missing} in a v{VERSION} pointer")
        container = _nonempty_str(
            obj[container_field], container_field, where, _MAX_CONTAINER_BYTES
        )
        key = _nonempty_str(obj["key"], "key", where, _MAX_KEY_BYTES[backend])
        encoding = obj.get("encoding", ENCODING_JSON)
        if not isinstance(encoding, str) or encoding not in KNOWN_ENCODINGS:
            raise PointerError(
                f"{where}: unknown encoding {short_repr(encoding)} "
                f"(known: {sorted(KNOWN_ENCODINGS)})"
            )
        if is_list:
            return cls._list_from_dict(obj, backend, container, key, encoding, where)
        index = _int_in_range(obj["index"], "index", where, 0, MAX_INDEX)
        size = _int_in_range(obj["size"], "size", where, 0, 2**53)
        sha = obj["sha256"]
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise PointerError(f"{where}: 'sha256' must be 64 lowercase hex characters")
        return cls(backend, container, key, index, size, sha, encoding)

    @classmethod
    def _list_from_dict(
        cls,
        obj: dict[Any, Any],
        backend: Backend,
        container: str,
        key: str,
        encoding: str,
        where: str,
    ) -> Pointer:
        """The list-pointer half of :meth:`from_dict` (fields already checked for presence)."""
        count = _int_in_range(obj["count"], "count", where, 0, MAX_INDEX + 1)
        items = obj.get("items")
        if items is not None and (not isinstance(items, list) or len(items) != count):
            raise PointerError(f"{where}: 'items' must be a placeholder list of {count} elements")
        if backend != "dynamodb":
            raise PointerError(f"{where}: list pointers are only defined for dynamodb")
        list_sha = obj.get("sha256")
        if "sha256" in obj and (not isinstance(list_sha, str) or not _SHA256.fullmatch(list_sha)):
            raise PointerError(f"{where}: 'sha256' must be 64 lowercase hex characters")
        pointer = cls(backend, container, key, sha256=list_sha, encoding=encoding, count=count)
        if "ref" in obj and obj["ref"] != pointer.to_dict():
            raise PointerError(f"{where}: 'ref' must be this list pointer without 'items'")
        return pointer


def _nonempty_str(value: object, field: str, where: str, max_bytes: int) -> str:
    if type(value) is str and value.isascii() and 0 < len(value) <= max_bytes:
        return value  # one byte of UTF-8 per character: the common case, without encoding it
    if not isinstance(value, str) or not value:
        raise PointerError(
            f"{where}: {field!r} must be a non-empty string, got {short_repr(value)}"
        )
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        # A lone surrogate (JSON allows "\ud800"): no AWS request could even be serialized.
        raise PointerError(f"{where}: {field!r} is not valid UTF-8 text") from None
    if size > max_bytes:
        raise PointerError(
            f"{where}: {field!r} is {size} bytes of UTF-8, over the {max_bytes}-byte limit"
        )
    return value


def _int_in_range(value: object, field: str, where: str, low: int, high: int) -> int:
    if type(value) is not int:
        raise PointerError(
            f"{where}: {field!r} must be an integer, got {type(value).__name__} {short_repr(value)}"
        )
    if not low <= value <= high:
        shown = value if abs(value) < 10**20 else "(a huge number)"
        raise PointerError(f"{where}: {field!r} {shown} is out of range [{low}, {high}]")
    return value


def short_repr(value: object, limit: int = 80) -> str:
    """A bounded repr for messages: pointers and events come from untrusted input (a huge
    integer's repr alone could take seconds)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**20 else "(huge)"
    return text if len(text) <= limit else text[: limit - 3] + "..."
