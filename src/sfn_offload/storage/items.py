"""DynamoDB items <-> :class:`~sfn_offload.storage.base.Record`.

The item layout is py2sfn-task-tools' plus additive attributes, so that either library reads
what the other wrote::

    partition_key S  "<namespace>:<key>"            sort_key N  element index
    expires_at    N  epoch seconds (TTL)
    data          S  JSON text                      (uncompressed payloads: py2sfn can read it)
    blob          B  gzip of the JSON               (compressed payloads)
    s3_key        S  overflow object key            s3_bucket S  its bucket (new; py2sfn read the
                                                                  bucket from its configuration)
    sha256 S, size N, encoding S                    digest/size/encoding of the payload bytes (new;
                                                    not on list elements stored as ``data``, whose
                                                    digest follows from it, and on those stored as
                                                    ``blob`` only ``encoding``)
    list_tag      B  8 bytes of the list's digest   on every element of a list written element by
                                                    element (new): one write's elements share it

A list element stored as ``data`` is py2sfn's four attributes plus ``list_tag`` (16 bytes). The
digests and proofs that tie the elements to the list's digest are in proof pages, items of their
own partition (:mod:`sfn_offload.storage.pages`)::

    partition_key S  "sfn-offload#pages#<the list's partition key>"
    sort_key N  page number               expires_at N  as the elements'
    blob B  the page (sfn_offload.wire.merkle.Page)   encoding S  "sfn-offload-list-page"

Elements written by sfn-offload 0.1.0 carry ``sha256``/``size``/``encoding`` and
``list_sha256 S, list_count N, list_proof S`` (the list's root, length and the element's proof);
they are read as :class:`~sfn_offload.storage.base.Membership` and checked as before.

>>> item = to_item(Address("table", "run:rows", 3), Record(b'{"a":1}', sha256="ab", size=7))
>>> item["data"], item["sort_key"]
({'S': '{"a":1}'}, {'N': '3'})
>>> from_item(item, "example").body
b'{"a":1}'
>>> element = to_item(Address("table", "run:rows", 0), Record(b"1", tag="00112233445566ff"))
>>> sorted(element), from_item(element, "example").tag
(['data', 'list_tag', 'partition_key', 'sort_key'], '00112233445566ff')
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import PayloadEncodingError
from ..wire.codec import ENCODING_JSON
from .base import Address, Membership, Record

__all__ = ["KEYS_ONLY_NAMES", "KEYS_ONLY_PROJECTION", "address_of", "from_item", "key", "to_item"]

#: What a keys-only query reads: everything but the payload (``data``/``blob``).
#: (A 0.1.0 element's proof is left out: it follows from the list's digest and the index.)
KEYS_ONLY_PROJECTION = (
    "partition_key, sort_key, s3_key, s3_bucket, sha256, #sz, #enc, expires_at, list_sha256, "
    "list_count, list_tag"
)
#: ``size`` and ``encoding`` are DynamoDB reserved words: the projection names them by alias.
KEYS_ONLY_NAMES = {"#sz": "size", "#enc": "encoding"}


def key(address: Address) -> dict[str, Any]:
    """The primary key of the item at ``address``."""
    return {"partition_key": {"S": address.key}, "sort_key": {"N": str(address.index)}}


def address_of(table: str, item: dict[str, Any]) -> Address:
    """Where an item DynamoDB returned lives (read from its key attributes)."""
    return Address(table, str(item["partition_key"]["S"]), int(item["sort_key"]["N"]))


def to_item(address: Address, record: Record) -> dict[str, Any]:
    """The item storing ``record`` at ``address``."""
    item = key(address)
    if record.expires_at is not None:
        item["expires_at"] = {"N": str(record.expires_at)}
    if record.redirect is not None:
        item["s3_key"] = {"S": record.redirect.key}
        item["s3_bucket"] = {"S": record.redirect.container}
    elif record.body is not None and record.encoding == ENCODING_JSON:
        item["data"] = {"S": record.body.decode("utf-8")}
    elif record.body is not None:
        item["blob"] = {"B": record.body}
    if record.sha256 is not None:
        item["sha256"] = {"S": record.sha256}
    if record.sha256 is not None or record.encoding != ENCODING_JSON:
        item["encoding"] = {"S": record.encoding}
    if record.size is not None:
        item["size"] = {"N": str(record.size)}
    if record.member is not None:
        item["list_sha256"] = {"S": record.member.root}
        item["list_count"] = {"N": str(record.member.count)}
        item["list_proof"] = {"S": record.member.proof}
    if record.tag is not None:
        item["list_tag"] = {"B": bytes.fromhex(record.tag)}
    return item


def from_item(item: dict[str, Any], where: str, *, summary: bool = False) -> Record:
    """Read an item sfn-offload or py2sfn-task-tools wrote; ``where`` names it in errors.

    With ``summary`` (rows of a keys-only query) a missing payload attribute is expected and the
    record's ``body`` is ``None``. Anything else that is not one of those layouts raises
    :class:`~sfn_offload.errors.PayloadEncodingError`.
    """
    described = Record(
        None,
        encoding=_text(item, "encoding", where) or ENCODING_JSON,
        sha256=_text(item, "sha256", where),
        size=_number(item, "size", where),
        expires_at=_number(item, "expires_at", where),
        member=_membership(item, where, summary=summary),
        tag=_tag(item, where),
    )
    s3_key = _text(item, "s3_key", where)
    if s3_key is not None:
        bucket = _text(item, "s3_bucket", where) or ""  # py2sfn items: the repository knows it
        # The overflow object of element i is Address(bucket, key, i), as the repository
        # builds it: equal redirects mean "same object" (retried put_items skip on that).
        index = _number(item, "sort_key", where) or 0
        return dataclasses.replace(described, redirect=Address(bucket, s3_key, index))
    data = _text(item, "data", where)
    if data is not None:
        try:
            return dataclasses.replace(described, body=data.encode("utf-8"))
        except UnicodeEncodeError:
            raise PayloadEncodingError(f"{where}: 'data' is not valid UTF-8 text") from None
    blob = item.get("blob")
    if isinstance(blob, dict) and isinstance(blob.get("B"), bytes | bytearray):
        return dataclasses.replace(described, body=bytes(blob["B"]))
    if summary:
        return described
    raise PayloadEncodingError(
        f"{where}: item has none of 'data', 'blob' or 's3_key'; it was not written by "
        "sfn-offload or py2sfn-task-tools"
    )


def _membership(item: dict[str, Any], where: str, *, summary: bool) -> Membership | None:
    root = _text(item, "list_sha256", where)
    if root is None:
        return None
    count = _number(item, "list_count", where)
    proof = _text(item, "list_proof", where)
    if summary and proof is None:
        proof = ""  # a keys-only listing does not read proofs
    if count is None or proof is None:
        raise PayloadEncodingError(
            f"{where}: the item records its list's digest without the list's length or its proof"
        )
    return Membership(root, count, proof)


def _tag(item: dict[str, Any], where: str) -> str | None:
    value = item.get("list_tag")
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get("B"), bytes | bytearray):
        return bytes(value["B"]).hex()
    raise PayloadEncodingError(
        f"{where}: attribute 'list_tag' is not binary (DynamoDB type {_attribute_type(value)})"
    )


def _text(item: dict[str, Any], name: str, where: str) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, dict) and "S" in value:
        return str(value["S"])
    # The attribute's type only: its value may be the payload itself.
    raise PayloadEncodingError(
        f"{where}: attribute {name!r} is not a string (DynamoDB type {_attribute_type(value)}); "
        "the item was not written by sfn-offload or py2sfn-task-tools"
    )


def _number(item: dict[str, Any], name: str, where: str) -> int | None:
    value = item.get(name)
    if value is None:
        return None
    try:
        return int(value["N"])
    except (KeyError, TypeError, ValueError):
        raise PayloadEncodingError(
            f"{where}: attribute {name!r} is not a whole number (DynamoDB type "
            f"{_attribute_type(value)})"
        ) from None


def _attribute_type(value: object) -> str:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    return type(value).__name__
