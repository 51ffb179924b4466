"""What the local table and bucket hold: every offloaded payload, measured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..storage.pages import PAGES_PREFIX
from ..wire.codec import inflate

__all__ = ["StoredPayload", "list_stored"]


@dataclass(frozen=True)
class StoredPayload:
    """One payload found in the local table or bucket."""

    backend: str
    key: str
    stored_bytes: int
    json_bytes: int
    encoding: str


def list_stored(ddb: Any, s3: Any, table: str, bucket: str) -> list[StoredPayload]:
    """Every payload in ``table`` and ``bucket``; an item that overflowed to S3 is listed once,
    as its S3 object. The proof pages of lists (:mod:`sfn_offload.storage.pages`) are no
    payloads: not listed."""
    out: list[StoredPayload] = []
    pages = ddb.get_paginator("scan").paginate(TableName=table)
    for item in (i for page in pages for i in page["Items"]):
        if "s3_key" in item or item["partition_key"]["S"].startswith(PAGES_PREFIX):
            continue
        encoding = item.get("encoding", {}).get("S", "json")
        body = item["data"]["S"].encode() if "data" in item else item["blob"]["B"]
        key = f"{item['partition_key']['S']}#{item['sort_key']['N']}"
        raw = inflate(body, encoding, where=key)
        out.append(StoredPayload("dynamodb", key, len(body), len(raw), encoding))
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=obj["Key"])
            body = got["Body"].read()
            encoding = (got.get("Metadata") or {}).get("encoding", "json")
            raw = inflate(body, encoding, where=obj["Key"])
            out.append(StoredPayload("s3", obj["Key"], len(body), len(raw), encoding))
    return out
