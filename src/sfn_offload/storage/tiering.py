"""Placement: where one encoded payload goes (a DynamoDB item, an S3 object, or both).

This module alone decides between the tiers; it builds the writes and the pointer, and sends no
request. Two layouts:

- **value layout** (:func:`place_value`, what the decorator writes): a DynamoDB item when the
  payload fits the item budget, else one S3 object at ``{s3_prefix}{partition_key}/{index}``
  (one read instead of two). A bucket-only setup writes everything to S3.
- **item layout** (:func:`place_in_item`, what ``StateDataClient`` writes): always a DynamoDB
  item; a payload over the item budget goes to S3 under py2sfn's prefix,
  ``workflow_state_data/{table}/{partition_key}/{index}/{digest}-{nonce}``, and the item records
  ``s3_key``/``s3_bucket`` (py2sfn-task-tools reads the key from the item, so it reads these).

**No object replaces another.** A value-layout key ends in the payload's digest (the decorator's
partition keys already do): the same key only ever holds the same bytes, so a retry rewrites its
own object. An item-layout overflow key is unique per write (the digest, then a random nonce):
the item at an address can be rewritten, so two writers of one address (concurrent, or one
failing after the other succeeded) must never share an object, or the clean-up of one would
delete what the other's item names.

DynamoDB items are limited to 400 KB including attribute names and the key, hence an item
budget (380,000 bytes by default) below it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final

from .._config import OffloadConfig
from ..errors import ConfigurationError, PayloadTooLargeError
from ..wire.codec import Encoded
from ..wire.pointer import Backend, Pointer
from .base import Address, Record

__all__ = [
    "LEGACY_S3_PREFIX",
    "Placement",
    "overflow_key",
    "place_in_item",
    "place_value",
    "too_large",
    "unique_key",
]

#: Where py2sfn-task-tools put overflowing payloads; kept so both libraries read each other's.
LEGACY_S3_PREFIX: Final = "workflow_state_data"


@dataclass(frozen=True, slots=True)
class Placement:
    """The writes one payload needs, and the pointer valid once they are done.

    ``obj`` (an S3 write) must complete before ``item`` (a DynamoDB write) when both are set:
    the item names the object.
    """

    pointer: Pointer
    item: tuple[Address, Record] | None = None
    obj: tuple[Address, Record] | None = None


def _record(encoded: Encoded, expires_at: int) -> Record:
    return Record(
        encoded.body, encoded.encoding, encoded.sha256, encoded.size, expires_at=expires_at
    )


def _pointer(backend: Backend, container: str, key: str, index: int, encoded: Encoded) -> Pointer:
    return Pointer(backend, container, key, index, encoded.size, encoded.sha256, encoded.encoding)


#: Hex digits of the payload digest that end an object key.
KEY_DIGEST_CHARS: Final = 20


def unique_key(base: str, encoded: Encoded) -> str:
    """``base`` made unique per payload: it ends in the payload's digest prefix (as the
    decorator's partition keys already do), else ``/<digest prefix>`` is appended.

    >>> enc = Encoded(b"1", "json", "ab" * 32, 1)
    >>> unique_key("sfn-offload/run:x/0", enc)
    'sfn-offload/run:x/0/abababababababababab'
    >>> unique_key("sfn-offload/run:x:abababababababababab/0", enc)
    'sfn-offload/run:x:abababababababababab/0'
    """
    digest = encoded.sha256[:KEY_DIGEST_CHARS]
    head = base.rpartition("/")[0]
    if head.endswith(digest):
        return base
    return f"{base}/{digest}"


def too_large(config: OffloadConfig, encoded: Encoded, where: str) -> PayloadTooLargeError:
    """The error for a payload over the item budget when no bucket is configured."""
    return PayloadTooLargeError(
        f"payload for {where} is {encoded.size} bytes, over the "
        f"{config.item_budget_bytes}-byte DynamoDB item budget (DynamoDB items are limited to "
        "400 KB), and no S3 bucket is configured for larger payloads: set SFN_OFFLOAD_BUCKET "
        "(or s3_bucket=)"
    )


def overflow_key(table: str, partition_key: str, index: int, encoded: Encoded) -> str:
    """The S3 key of an item's overflow object: py2sfn's prefix and address, then the payload's
    digest prefix and a random nonce, so that every write gets its own object.

    >>> enc = Encoded(b"1", "json", "ab" * 32, 1)
    >>> overflow_key("state", "run:rows", 3, enc).rsplit("-", 1)[0]
    'workflow_state_data/state/run:rows/3/abababababababababab'
    >>> overflow_key("state", "run:rows", 3, enc) != overflow_key("state", "run:rows", 3, enc)
    True
    """
    digest = encoded.sha256[:KEY_DIGEST_CHARS]
    return f"{LEGACY_S3_PREFIX}/{table}/{partition_key}/{index}/{digest}-{secrets.token_hex(6)}"


def place_value(
    config: OffloadConfig,
    partition_key: str,
    index: int,
    encoded: Encoded,
    expires_at: int,
    *,
    table: str | None = None,
) -> Placement:
    """Value layout: an item if the payload fits the item budget, else an S3 object."""
    table = table or config.table
    if table and encoded.size <= config.item_budget_bytes:
        address = Address(table, partition_key, index)
        return Placement(
            _pointer("dynamodb", table, partition_key, index, encoded),
            item=(address, _record(encoded, expires_at)),
        )
    bucket = config.bucket
    if not bucket:
        if not table:
            raise ConfigurationError(
                "no table or bucket configured: set SFN_OFFLOAD_TABLE and/or SFN_OFFLOAD_BUCKET"
            )
        where = f"dynamodb table {table!r} partition_key {partition_key!r} index {index}"
        raise too_large(config, encoded, where)
    key = unique_key(f"{config.s3_prefix}{partition_key}/{index}", encoded)
    return Placement(
        _pointer("s3", bucket, key, index, encoded),
        obj=(Address(bucket, key, index), _record(encoded, expires_at)),
    )


def place_in_item(
    config: OffloadConfig,
    table: str,
    partition_key: str,
    index: int,
    encoded: Encoded,
    expires_at: int,
) -> Placement:
    """Item layout: always an item; over the budget its payload moves to an S3 object."""
    address = Address(table, partition_key, index)
    pointer = _pointer("dynamodb", table, partition_key, index, encoded)
    if encoded.size <= config.item_budget_bytes:
        return Placement(pointer, item=(address, _record(encoded, expires_at)))
    bucket = config.bucket
    if not bucket:
        where = f"dynamodb table {table!r} partition_key {partition_key!r} index {index}"
        raise too_large(config, encoded, where)
    s3_address = Address(bucket, overflow_key(table, partition_key, index, encoded), index)
    item = Record(
        None,
        encoded.encoding,
        encoded.sha256,
        encoded.size,
        redirect=s3_address,
        expires_at=expires_at,
    )
    return Placement(pointer, item=(address, item), obj=(s3_address, _record(encoded, expires_at)))
