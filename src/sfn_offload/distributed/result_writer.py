"""Distributed Map results: a ``ResultWriter`` manifest read back as the children's outputs.

:func:`read_result_writer` turns a Map's ``ResultWriter`` output (``{"MapRunArn",
"ResultWriterDetails": {"Bucket", "Key": ".../manifest.json"}}``) into the results: every
``SUCCEEDED`` file is read (JSON or JSONL output, ``NONE``/``COMPACT``/``FLATTEN``
transformations), and ``FAILED``/``PENDING`` executions are reported, never dropped. The decorator
does this automatically when such an object appears in an event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import MapRunFailedError, NoItemFound, PayloadEncodingError, PointerNotAllowedError
from ..storage.base import Address
from ..storage.repository import PayloadRepository
from ..wire.codec import loads
from ..wire.references import is_result_writer_output

__all__ = ["MapRunResults", "raise_for_failures", "read_result_writer"]


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
