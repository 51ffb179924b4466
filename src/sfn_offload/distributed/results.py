"""Distributed Map interop: item files out (``ItemReader``), result manifests in (``ResultWriter``).

An Inline Map caps fan-out at 40 concurrent iterations and counts its whole items array against
the payload limit. A Distributed Map reads its items from S3 and can write its results to S3:

- :func:`write_item_file` writes a list as an S3 object an ``ItemReader`` reads directly (a JSON
  array, or JSONL), and returns the ``Bucket``/``Key`` the ASL needs plus its size and digest.
  Elements too large for a child execution's input become pointers inside the file; a decorated
  child hydrates them.
- :func:`read_result_writer` turns a Map's ``ResultWriter`` output (``{"MapRunArn",
  "ResultWriterDetails": {"Bucket", "Key": ".../manifest.json"}}``) into the results: every
  ``SUCCEEDED`` file is read (JSON or JSONL output, ``NONE``/``COMPACT``/``FLATTEN``
  transformations), and ``FAILED``/``PENDING`` executions are reported, never dropped.
  The decorator does this automatically when such an object appears in an event.

``ItemBatcher`` inputs (``{"Items": [...], "BatchInput": {...}}``) need nothing special: pointers
inside ``Items`` are hydrated element by element like anywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from .._offload import write_values
from ..errors import (
    ConfigurationError,
    MapRunFailedError,
    NoItemFound,
    PayloadEncodingError,
    PointerNotAllowedError,
)
from ..storage.base import Address, Record
from ..storage.repository import PayloadRepository
from ..wire.codec import digest, dumps, encode_json_bytes, loads

__all__ = [
    "CHILD_INPUT_BUDGET",
    "ItemFile",
    "MapRunResults",
    "is_result_writer_output",
    "read_result_writer",
    "write_item_file",
]

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
            enc = encode_json_bytes(
                raws[i], compression=cfg.compression, compress_min_bytes=cfg.compress_min_bytes
            )
            entries.append((f"{namespace}:{name}.{i}:{enc.sha256[:20]}", enc))
        for i, pointer in zip(large, write_values(repository, entries), strict=True):
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


# ----------------------------------------------------------------------------------------------
# ResultWriter
# ----------------------------------------------------------------------------------------------


@dataclass
class MapRunResults:
    """What a Distributed Map wrote with ``ResultWriter``.

    Attributes:
        map_run_arn: the Map Run.
        succeeded: outputs of the succeeded child executions (parsed JSON), in file order.
        failed: records of failed children (``Name``, ``ExecutionArn``, ``Error``, ``Cause``...).
        pending: records of children that had not finished.
    """

    map_run_arn: str
    succeeded: list[Any] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what a tolerant hydration puts in the event)."""
        return {
            "MapRunArn": self.map_run_arn,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "pending": self.pending,
        }


def is_result_writer_output(node: object) -> bool:
    """True for a Map's ``ResultWriter`` output object.

    >>> is_result_writer_output({"MapRunArn": "arn:...", "ResultWriterDetails":
    ...     {"Bucket": "b", "Key": "p/run/manifest.json"}})
    True
    """
    if not isinstance(node, Mapping) or set(node) != {"MapRunArn", "ResultWriterDetails"}:
        return False
    details = node["ResultWriterDetails"]
    return (
        isinstance(details, Mapping)
        and isinstance(details.get("Bucket"), str)
        and isinstance(details.get("Key"), str)
        and details["Key"].endswith("manifest.json")
    )


def _records(raw: bytes, where: str) -> list[Any]:
    text = raw.strip()
    if not text:
        return []
    if text.startswith(b"["):
        parsed = loads(text, where=where)
        if not isinstance(parsed, list):
            raise PayloadEncodingError(f"{where}: expected a JSON array of results")
        return parsed
    return [
        loads(line, where=f"{where} line {n}")
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip()
    ]


def _output(record: Any, where: str) -> Any:
    # NONE/COMPACT transformations write execution records whose Output is a JSON string;
    # FLATTEN writes the outputs themselves.
    if isinstance(record, dict) and "ExecutionArn" in record and "Output" in record:
        output = record["Output"]
        if isinstance(output, str):
            try:
                return json.loads(output)
            except ValueError as exc:
                raise PayloadEncodingError(f"{where}: a result's Output is not JSON") from exc
        return output
    return record


def read_result_writer(
    output: Mapping[str, Any], repository: PayloadRepository, *, trusted: bool = False
) -> MapRunResults:
    """Read every result file a ``ResultWriter`` manifest lists (concurrently).

    ``trusted=False`` (results named by an event) requires the bucket to be on the allow-list.
    """
    if not is_result_writer_output(output):
        raise PayloadEncodingError(
            "not a ResultWriter output: expected {MapRunArn, ResultWriterDetails: {Bucket, Key}}"
        )
    details = output["ResultWriterDetails"]
    bucket, key = details["Bucket"], details["Key"]
    if not trusted and bucket not in repository.config.allowed_buckets:
        raise PointerNotAllowedError(
            f"ResultWriter manifest in bucket {bucket!r} is not allowed (allowed: "
            f"{sorted(repository.config.allowed_buckets) or 'none configured'}); add it to "
            "SFN_OFFLOAD_ALLOWED_BUCKETS"
        )
    where = f"manifest s3://{bucket}/{key}"
    manifest = loads(_body(repository, Address(bucket, key)), where=where)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("ResultFiles"), dict):
        raise PayloadEncodingError(f"{where}: no ResultFiles in the manifest")
    destination = manifest.get("DestinationBucket") or bucket
    if not trusted and destination not in repository.config.allowed_buckets:
        raise PointerNotAllowedError(
            f"{where}: result files in bucket {destination!r} are not allowed"
        )
    files: dict[str, list[Address]] = {}
    for status in ("SUCCEEDED", "FAILED", "PENDING"):
        entries = manifest["ResultFiles"].get(status) or []
        try:
            files[status] = [Address(destination, str(e["Key"])) for e in entries]
        except (TypeError, KeyError):
            raise PayloadEncodingError(f"{where}: malformed {status} entries") from None
    everything = [a for addresses in files.values() for a in addresses]
    bodies = repository.s3.get_many(everything) if everything else {}
    results = MapRunResults(str(output["MapRunArn"]))
    for status, addresses in files.items():
        for address in addresses:
            record = bodies.get(address)
            if record is None or record.body is None:
                raise NoItemFound(f"{where}: result file {address.key!r} is missing")
            rows = _records(record.body, f"result file s3://{address.container}/{address.key}")
            if status == "SUCCEEDED":
                results.succeeded.extend(_output(r, address.key) for r in rows)
            elif status == "FAILED":
                results.failed.extend(r for r in rows if isinstance(r, dict))
            else:
                results.pending.extend(r for r in rows if isinstance(r, dict))
    return results


def _body(repository: PayloadRepository, address: Address) -> bytes:
    record = repository.s3.get(address)
    if record.body is None:  # pragma: no cover - S3 records always carry a body
        raise PayloadEncodingError(f"s3://{address.container}/{address.key} has no body")
    return record.body


def raise_for_failures(results: MapRunResults) -> None:
    """Raise :class:`MapRunFailedError` when any child failed or had not finished."""
    if not results.failed and not results.pending:
        return
    first = results.failed[0] if results.failed else results.pending[0]
    raise MapRunFailedError(
        f"Map Run {results.map_run_arn}: {len(results.failed)} child execution(s) FAILED and "
        f"{len(results.pending)} PENDING (of "
        f"{len(results.succeeded) + len(results.failed) + len(results.pending)}); first: "
        f"{first.get('Name', '?')} error={first.get('Error')!r}. Hydrate with "
        "result_writer='tolerant' to receive succeeded and failed results instead"
    )
