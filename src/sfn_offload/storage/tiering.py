"""Placement: where one encoded payload goes (a DynamoDB item, an S3 object, or both).

This module alone decides between the tiers; it builds the writes and the pointer, and sends no
request. Two layouts:

- **value layout** (:func:`place_value`, what the decorator writes): a DynamoDB item when the
  payload fits the item budget, else one S3 object at ``{s3_prefix}{partition_key}/{index}``
  (one read instead of two). A bucket-only setup writes everything to S3.
- **item layout** (:func:`place_in_item`, what ``StateDataClient`` writes): always a DynamoDB
  item; a payload over the item budget goes to S3 at py2sfn's key
  ``workflow_state_data/{table}/{partition_key}/{index}`` and the item records
  ``s3_key``/``s3_bucket``, so py2sfn-task-tools can read both.

DynamoDB items are limited to 400 KB including attribute names and the key, hence an item
budget (380,000 bytes by default) below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .._config import OffloadConfig
from ..errors import ConfigurationError, PayloadTooLargeError
from ..wire.codec import Encoded
from ..wire.pointer import Backend, Pointer
from .base import Address, Record

__all__ = ["LEGACY_S3_PREFIX", "Placement", "place_in_item", "place_value", "too_large"]

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


def too_large(config: OffloadConfig, encoded: Encoded, where: str) -> PayloadTooLargeError:
    """The error for a payload over the item budget when no bucket is configured."""
    return PayloadTooLargeError(
        f"payload for {where} is {encoded.size} bytes, over the "
        f"{config.item_budget_bytes}-byte DynamoDB item budget (DynamoDB items are limited to "
        "400 KB), and no S3 bucket is configured for larger payloads: set SFN_OFFLOAD_BUCKET "
        "(or s3_bucket=)"
    )


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
    key = f"{config.s3_prefix}{partition_key}/{index}"
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
    s3_address = Address(bucket, f"{LEGACY_S3_PREFIX}/{table}/{partition_key}/{index}", index)
    item = Record(
        None,
        encoded.encoding,
        encoded.sha256,
        encoded.size,
        redirect=s3_address,
        expires_at=expires_at,
    )
    return Placement(pointer, item=(address, item), obj=(s3_address, _record(encoded, expires_at)))
