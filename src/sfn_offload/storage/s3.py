"""S3 payload store: digest, encoding and expiry travel as object metadata."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import FlexibleChecksumError, IncompleteReadError, ResponseStreamingError
from botocore.exceptions import ReadTimeoutError as BotocoreReadTimeoutError

from .._aws import quiet_wire
from .._retry import RetryPolicy
from ..errors import NoItemFound, PayloadEncodingError, store_error, translate_aws_errors
from ..wire.codec import ENCODING_JSON
from .base import S3_DELETE_LIMIT, Address, Record, chunks, run_all

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Store"]

#: Failures while reading an S3 object's body, after GetObject itself succeeded: botocore does not
#: retry these (the response was already returned), so :meth:`S3Store.get` does.
_BROKEN_BODY = (
    IncompleteReadError,
    ResponseStreamingError,
    BotocoreReadTimeoutError,
    FlexibleChecksumError,
)


class S3Store:
    """Payloads as S3 objects (a :class:`~sfn_offload.storage.base.PayloadStore`); digest, encoding
    and expiry travel as object metadata.

    Metadata: ``sha256``, ``encoding`` and ``expires-at`` (epoch seconds, the same TTL as the
    items), which :meth:`get` returns as the record's ``expires_at`` so that expired objects
    are refused like expired items. Objects get SSE-KMS under ``kms_key_id`` when it is set, and
    every request names ``expected_bucket_owner`` when it is set.
    """

    backend = "s3"

    def __init__(
        self,
        client: Callable[[], S3Client],
        *,
        kms_key_id: str | None = None,
        expected_bucket_owner: str | None = None,
        executor: Callable[[], Executor | None] = lambda: None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._kms_key_id = kms_key_id
        self._owner = expected_bucket_owner
        self._executor = executor
        self._retry = retry or RetryPolicy()

    def _owner_args(self) -> dict[str, Any]:
        return {"ExpectedBucketOwner": self._owner} if self._owner else {}

    def put(self, address: Address, record: Record) -> None:
        if record.body is None:
            raise ValueError("S3Store.put needs a body")
        extra: dict[str, Any] = self._owner_args()
        if self._kms_key_id:
            extra["ServerSideEncryption"] = "aws:kms"
            extra["SSEKMSKeyId"] = self._kms_key_id
        metadata = {"encoding": record.encoding}
        if record.sha256:
            metadata["sha256"] = record.sha256
        if record.expires_at is not None:
            metadata["expires-at"] = str(record.expires_at)
        with translate_aws_errors("S3.PutObject", address.describe(self.backend)), quiet_wire():
            self._client().put_object(
                Bucket=address.container,
                Key=address.key,
                Body=record.body,
                ContentType="application/json"
                if record.encoding == ENCODING_JSON
                else "application/gzip",
                Metadata=metadata,
                **extra,
            )

    def get(self, address: Address, *, max_bytes: int | None = None) -> Record:
        """Read one object; its ``expires-at`` metadata becomes the record's ``expires_at``.

        A body that breaks off while it is read (connection reset, truncated transfer, checksum
        mismatch) is fetched again, within the retry policy's attempts and deadline. With
        ``max_bytes``, a longer object (by its ``ContentLength``, or by reading one byte past the
        limit) is not read: the record comes back with ``body=None`` and its ``size``.
        """
        where = address.describe(self.backend)
        delays = self._retry.delays()
        body: bytes | None
        while True:
            with translate_aws_errors("S3.GetObject", where), quiet_wire():
                response = self._client().get_object(
                    Bucket=address.container, Key=address.key, **self._owner_args()
                )
                stream = response["Body"]
                length = response.get("ContentLength")
                if max_bytes is not None and isinstance(length, int) and length > max_bytes:
                    stream.close()  # the connection is dropped, not drained
                    body, size = None, length
                    break
                try:
                    body = _read(stream, None if isinstance(length, int) else max_bytes)
                except _BROKEN_BODY:
                    stream.close()
                    if next(delays, None) is None:
                        raise
                    continue
                size = len(body)
                if max_bytes is not None and size > max_bytes:
                    stream.close()
                    body = None
            break
        metadata = response.get("Metadata") or {}
        return Record(
            body,
            encoding=metadata.get("encoding", ENCODING_JSON),
            sha256=metadata.get("sha256"),
            size=size,
            expires_at=_expiry(metadata.get("expires-at"), f"s3 {where}"),
        )

    def put_many(self, entries: Sequence[tuple[Address, Record]]) -> None:
        run_all(self._executor(), lambda entry: self.put(*entry), entries)

    def get_many(
        self, addresses: Sequence[Address], *, max_bytes: Mapping[Address, int] | None = None
    ) -> dict[Address, Record]:
        unique = list(dict.fromkeys(addresses))
        limits = max_bytes or {}

        def fetch(address: Address) -> tuple[Address, Record | None]:
            try:
                return address, self.get(address, max_bytes=limits.get(address))
            except NoItemFound:
                return address, None

        results = run_all(self._executor(), fetch, unique)
        return {a: r for a, r in results if r is not None}

    def delete_many(self, addresses: Sequence[Address]) -> None:
        by_bucket: dict[str, list[str]] = {}
        for address in addresses:
            by_bucket.setdefault(address.container, []).append(address.key)
        for bucket, keys in by_bucket.items():
            for part in chunks(keys, S3_DELETE_LIMIT):
                where = f"bucket {bucket!r} ({len(part)} keys)"
                with translate_aws_errors("S3.DeleteObjects", where), quiet_wire():
                    response = self._client().delete_objects(
                        Bucket=bucket,
                        Delete={"Objects": [{"Key": k} for k in part], "Quiet": True},
                        **self._owner_args(),
                    )
                errors = response.get("Errors") or []
                if errors:
                    first = errors[0]
                    raise store_error(
                        f"S3.DeleteObjects: {len(errors)} object(s) in bucket {bucket!r} were not "
                        f"deleted, e.g. {first.get('Key')!r}: {first.get('Code')}",
                        str(first.get("Code", "")),
                    )


def _read(stream: Any, max_bytes: int | None) -> bytes:
    """The body, whole (botocore checks its length and checksum at the end), or, when its
    length is unknown and ``max_bytes`` is set, at most one byte past ``max_bytes``."""
    if max_bytes is None:
        return bytes(stream.read())
    head = bytes(stream.read(max_bytes + 1))
    if len(head) <= max_bytes:
        head += bytes(stream.read())  # at the end: lets botocore verify what it read
    return head


def _expiry(raw: str | None, where: str) -> int | None:
    if raw is None:
        return None  # py2sfn-task-tools' overflow objects carry no expiry
    try:
        return int(raw)
    except ValueError:
        raise PayloadEncodingError(
            f"{where}: metadata 'expires-at' is not a whole number of epoch seconds"
        ) from None
