"""Distributed Map results: a ``ResultWriter`` manifest read back as the children's outputs.

:func:`read_result_writer` turns a Map's ``ResultWriter`` output (``{"MapRunArn",
"ResultWriterDetails": {"Bucket", "Key": ".../manifest.json"}}``) into the results: every
``SUCCEEDED`` file is read (JSON or JSONL output, ``NONE``/``COMPACT``/``FLATTEN``
transformations), and ``FAILED``/``PENDING`` executions are reported, never dropped. The decorator
does this automatically when such an object appears in an event.

What a manifest may make the function read is bounded and checked before it is read: the
manifest sits at ``.../<Map Run id>/manifest.json`` in an allowed bucket and names the Map Run
of the output; the result files it lists lie beside it, in an allowed bucket; the manifest is
at most :data:`~sfn_offload._limits.MAX_MANIFEST_BYTES` and the files together at most the
caller's ``max_bytes``. With ``reader`` (what the decorator passes), the Map Run must belong to
the reading execution's state machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._limits import MAX_MANIFEST_BYTES
from ..errors import (
    ForeignDataError,
    MapRunFailedError,
    NoItemFound,
    PayloadEncodingError,
    PayloadTooLargeError,
    PointerNotAllowedError,
)
from ..storage.base import Address, Record
from ..storage.repository import PayloadRepository
from ..wire.codec import loads
from ..wire.references import is_result_writer_output

if TYPE_CHECKING:
    from .._identity import ExecutionIdentity

__all__ = ["MapRunResults", "raise_for_failures", "read_result_writer"]

_STATUSES = ("SUCCEEDED", "FAILED", "PENDING")


@dataclass
class MapRunResults:
    """What a Distributed Map wrote with ``ResultWriter``.

    Attributes:
        map_run_arn: the Map Run.
        succeeded: outputs of the succeeded child executions (parsed JSON), in file order.
        failed: records of failed children (``Name``, ``ExecutionArn``, ``Error``, ``Cause``...).
        pending: records of children that had not finished.
        bytes_read: bytes of the result files read (what counts against a hydration cap).
    """

    map_run_arn: str
    succeeded: list[Any] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    bytes_read: int = 0

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
            return loads(output.encode("utf-8", "surrogatepass"), where=f"{where}: Output")
        return output
    return record


def read_result_writer(
    output: Mapping[str, Any],
    repository: PayloadRepository,
    *,
    trusted: bool = False,
    max_bytes: int | None = None,
    reader: ExecutionIdentity | None = None,
    where: str = "ResultWriter output",
) -> MapRunResults:
    """Read every result file a ``ResultWriter`` manifest lists (concurrently).

    ``trusted=False`` (results named by an event) requires the buckets to be on the allow-list.
    ``max_bytes`` caps the bytes of the result files (checked against the sizes the manifest
    lists before reading, and per file while reading). With ``reader``, the Map Run must be one
    of the reading execution's state machine (:class:`~sfn_offload.errors.ForeignDataError`).
    """
    run_arn, bucket, key = _check_output(output, repository, trusted=trusted, where=where)
    if reader is not None:
        _check_reader(run_arn, reader, where)
    manifest_where = f"{where}: manifest s3://{bucket}/{key}"
    files = _read_manifest(repository, run_arn, bucket, key, trusted=trusted, where=manifest_where)
    everything = [a for addresses in files.values() for a, _ in addresses]
    listed = sum(size for addresses in files.values() for _, size in addresses)
    if max_bytes is not None and listed > max_bytes:
        raise PayloadTooLargeError(
            f"{manifest_where}: the result files it lists add up to more than the "
            f"{max_bytes}-byte hydration cap"
        )
    limits = dict.fromkeys(everything, max_bytes) if max_bytes is not None else None
    bodies = repository.s3.get_many(everything, max_bytes=limits) if everything else {}
    results = MapRunResults(str(run_arn))
    for status, addresses in files.items():
        for address, _ in addresses:
            _add_file(results, status, bodies.get(address), address, max_bytes, where)
    return results


def _check_output(
    output: Mapping[str, Any], repository: PayloadRepository, *, trusted: bool, where: str
) -> tuple[str, str, str]:
    """The Map Run ARN, bucket and manifest key of a ResultWriter output, refused before any
    request when the bucket is not allowed or the key is not the run's manifest."""
    if not is_result_writer_output(output):
        raise PayloadEncodingError(
            f"{where}: not a ResultWriter output: expected {{MapRunArn, ResultWriterDetails: "
            "{Bucket, Key}}"
        )
    run_arn = output["MapRunArn"]
    details = output["ResultWriterDetails"]
    bucket, key = details["Bucket"], details["Key"]
    run_id = _run_id(run_arn, where)
    if not trusted and bucket not in repository.config.allowed_buckets:
        raise PointerNotAllowedError(
            f"{where}: ResultWriter manifest in bucket {bucket!r} is not allowed (allowed: "
            f"{sorted(repository.config.allowed_buckets) or 'none configured'}); add it to "
            "SFN_OFFLOAD_ALLOWED_BUCKETS"
        )
    if not key.endswith(f"{run_id}/manifest.json"):
        raise PointerNotAllowedError(
            f"{where}: the manifest key {_short(key)} is not the one Step Functions writes for "
            f"Map Run {_short(run_id)} ('<prefix>{run_id}/manifest.json')"
        )
    return run_arn, bucket, key


def _read_manifest(
    repository: PayloadRepository, run_arn: str, bucket: str, key: str, *, trusted: bool, where: str
) -> dict[str, list[tuple[Address, int]]]:
    """The result files the run's manifest lists, by status, with their sizes."""
    manifest = loads(_manifest_body(repository, Address(bucket, key), where), where=where)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("ResultFiles"), dict):
        raise PayloadEncodingError(f"{where}: no ResultFiles in the manifest")
    if manifest.get("MapRunArn", run_arn) != run_arn:
        raise PointerNotAllowedError(
            f"{where}: the manifest is not the one of Map Run {_short(run_arn)}"
        )
    destination = manifest.get("DestinationBucket") or bucket
    if not isinstance(destination, str):
        raise PayloadEncodingError(f"{where}: DestinationBucket is not a bucket name")
    if not trusted and destination not in repository.config.allowed_buckets:
        raise PointerNotAllowedError(
            f"{where}: result files in bucket {destination!r} are not allowed"
        )
    return _files(manifest["ResultFiles"], destination, key[: -len("manifest.json")], where)


def _add_file(
    results: MapRunResults,
    status: str,
    record: Record | None,
    address: Address,
    max_bytes: int | None,
    where: str,
) -> None:
    """Add the rows of one result file to ``results``, under the cap."""
    file_where = f"{where}: result file s3://{address.container}/{address.key}"
    if record is None:
        raise NoItemFound(f"{file_where} is missing")
    if record.body is None:
        raise PayloadTooLargeError(f"{file_where} is over the {max_bytes}-byte cap")
    results.bytes_read += len(record.body)
    if max_bytes is not None and results.bytes_read > max_bytes:
        raise PayloadTooLargeError(
            f"{file_where}: the result files are over the {max_bytes}-byte hydration cap"
        )
    rows = _records(record.body, file_where)
    if status == "SUCCEEDED":
        results.succeeded.extend(_output(r, file_where) for r in rows)
    elif status == "FAILED":
        results.failed.extend(r for r in rows if isinstance(r, dict))
    else:
        results.pending.extend(r for r in rows if isinstance(r, dict))


def _run_id(run_arn: object, where: str) -> str:
    """The id that ends a Map Run ARN (``arn:...:mapRun:<machine>/<label>:<id>``)."""
    if not isinstance(run_arn, str) or ":mapRun:" not in run_arn:
        raise PayloadEncodingError(f"{where}: MapRunArn {_short(run_arn)} is not a Map Run ARN")
    run_id = run_arn.rsplit(":", 1)[-1]
    if not run_id or "/" in run_id:
        raise PayloadEncodingError(f"{where}: MapRunArn {_short(run_arn)} is not a Map Run ARN")
    return run_id


def _check_reader(run_arn: str, reader: ExecutionIdentity, where: str) -> None:
    from .._identity import state_machine_of

    mine = reader.state_machine
    if mine is None:
        raise ForeignDataError(
            f"{where}: a ResultWriter output can only be checked against the reading execution's "
            "state machine, and the input carries no execution ARN: pass $$.Execution.Id as "
            "sfn_execution_arn (or set cross_execution_reads)"
        )
    if state_machine_of(run_arn) != mine:
        raise ForeignDataError(
            f"{where}: Map Run {_short(run_arn)} does not belong to the state machine of the "
            f"reading {reader.describe()} (set cross_execution_reads to read other state "
            "machines' results)"
        )


def _files(
    result_files: Mapping[str, Any], bucket: str, directory: str, where: str
) -> dict[str, list[tuple[Address, int]]]:
    """The files of each status, with the sizes the manifest lists; each must lie beside the
    manifest."""
    files: dict[str, list[tuple[Address, int]]] = {}
    for status in _STATUSES:
        entries = result_files.get(status) or []
        if not isinstance(entries, list):
            raise PayloadEncodingError(f"{where}: malformed {status} entries")
        files[status] = []
        for entry in entries:
            file_key = entry.get("Key") if isinstance(entry, dict) else None
            size = entry.get("Size", 0) if isinstance(entry, dict) else None
            if not isinstance(file_key, str) or type(size) is not int or size < 0:
                raise PayloadEncodingError(f"{where}: malformed {status} entries")
            if not file_key.startswith(directory) or "/" in file_key[len(directory) :]:
                raise PointerNotAllowedError(
                    f"{where}: result file {_short(file_key)} does not lie beside the manifest "
                    f"(in {directory!r}); a manifest may only list its Map Run's own files"
                )
            files[status].append((Address(bucket, file_key), size))
    return files


def _manifest_body(repository: PayloadRepository, address: Address, where: str) -> bytes:
    found = repository.s3.get_many([address], max_bytes={address: MAX_MANIFEST_BYTES})
    record = found.get(address)
    if record is None:
        raise NoItemFound(f"{where}: no manifest there")
    if record.body is None:
        raise PayloadTooLargeError(
            f"{where}: the manifest is over {MAX_MANIFEST_BYTES} bytes; it was not read"
        )
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
        f"{_short(first.get('Name', '?'))} error={_short(first.get('Error'))}. Hydrate with "
        "result_writer='tolerant' to receive succeeded and failed results instead"
    )


def _short(value: object) -> str:
    """A bounded repr for messages: manifests and events come from untrusted input."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
