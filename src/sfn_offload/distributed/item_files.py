"""Distributed Map item files: a list written as the S3 object an ``ItemReader`` reads.

An Inline Map counts its whole items array against the payload limit; a Distributed Map reads
its items from S3. :func:`write_item_file` writes a list as a JSON array or JSONL object and
returns the ``Bucket``/``Key`` the ASL needs, plus its size and digest. Elements too large for a
child execution's input become pointers inside the file; a decorated child hydrates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..errors import (
    ConfigurationError,
    PayloadEncodingError,
)
from ..storage.base import Address, Record
from ..storage.repository import PayloadRepository
from ..wire.codec import digest, dumps

__all__ = ["CHILD_INPUT_BUDGET", "ItemFile", "write_item_file"]

#: An element larger than this (compact UTF-8 JSON) is stored as a pointer inside the item
#: file: a child execution's input is limited to 262,144 bytes like any state.
CHILD_INPUT_BUDGET: Final = 262_144 - 8_192
ItemFormat = Literal["json", "jsonl"]


@dataclass(frozen=True)
class ItemFile:
    """An S3 object an ``ItemReader`` reads.

    Attributes:
        bucket, key: where it is (the ``ItemReader`` ``Parameters``).
        input_type: ``"JSON"`` or ``"JSONL"`` (the ``ReaderConfig.InputType``).
        count: number of items.
        size, sha256: the object's byte size and digest.
        offloaded: how many elements were too large and are pointers inside the file.
    """

    bucket: str
    key: str
    input_type: str
    count: int
    size: int
    sha256: str
    offloaded: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON for the state: ``Bucket``/``Key`` for the ASL, plus metadata.

        >>> ItemFile("b", "k.json", "JSON", 2, 10, "0" * 64).to_dict()["Bucket"]
        'b'
        """
        return {
            "Bucket": self.bucket,
            "Key": self.key,
            "InputType": self.input_type,
            "count": self.count,
            "size": self.size,
            "sha256": self.sha256,
            "offloaded": self.offloaded,
        }


def write_item_file(
    items: Sequence[Any],
    repository: PayloadRepository,
    *,
    namespace: str,
    name: str = "items",
    item_format: ItemFormat = "json",
    max_element_bytes: int = CHILD_INPUT_BUDGET,
) -> ItemFile:
    """Write ``items`` as one S3 object for a Distributed Map's ``ItemReader``.

    Elements whose JSON exceeds ``max_element_bytes`` are offloaded first (one batch) and
    replaced in the file by their pointers. The object goes to
    ``{s3_prefix}{namespace}/{name}-{digest prefix}.{json|jsonl}`` in the configured bucket: a
    retried task with the same items overwrites it, and other item files of the execution are
    never overwritten.
    """
    cfg = repository.config
    if not cfg.bucket:
        raise ConfigurationError(
            "an ItemReader file lives in S3: configure a bucket (SFN_OFFLOAD_BUCKET)"
        )
    if item_format not in ("json", "jsonl"):
        raise ConfigurationError(f"item_format must be 'json' or 'jsonl', got {item_format!r}")
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise PayloadEncodingError(f"items must be a list, got {type(items).__name__}")
    raws = [dumps(item, where=f"item {i}") for i, item in enumerate(items)]
    large = [i for i, raw in enumerate(raws) if len(raw) > max_element_bytes]
    if large:
        entries = []
        for i in large:
            enc = repository.encode_raw(raws[i])
            entries.append((f"{namespace}:{name}.{i}:{enc.sha256[:20]}", enc))
        for i, pointer in zip(large, repository.write_values(entries), strict=True):
            raws[i] = dumps(pointer.to_dict())
    if item_format == "json":
        body = b"[" + b",".join(raws) + b"]"
    else:
        body = b"".join(raw + b"\n" for raw in raws)
    sha = digest(body)
    # The digest keeps two item files of one execution apart; the same items rewrite the same key.
    key = f"{cfg.s3_prefix}{namespace}/{name}-{sha[:20]}.{item_format}"
    repository.s3.put(
        Address(cfg.bucket, key),
        Record(body, "json", sha, len(body), expires_at=repository.expires_at()),
    )
    return ItemFile(cfg.bucket, key, item_format.upper(), len(raws), len(body), sha, len(large))
