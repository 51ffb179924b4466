"""Lazily created, reused boto3 clients.

Injection order (as in Powertools): an explicit client > ``boto3_session`` + ``boto_config`` >
a new session. Clients are created on first use (never at import or construction) and kept for
the life of the :class:`AwsClients` object, so a decorator or client built at module level reuses
them across warm Lambda invocations. Injected clients are never modified (no event hooks).

**Bounded retries.** Clients created here use botocore's standard retry mode with at most 5
retries (6 attempts) of throttling, 5xx and connection errors, full-jitter backoff capped at
20 s, and 5 s / 30 s connect / read timeouts per attempt. On top of that they stop retrying
before the deadline bound by :func:`~sfn_offload.retry_deadline` (the Lambda's remaining time):
when the next backoff would leave less than the safety margin, the last failure is raised
instead of sleeping (a clean :class:`~sfn_offload.StoreError` rather than a Lambda timeout).

**Payloads stay out of logs.** botocore logs whole request parameters and response bodies at
DEBUG (``botocore.endpoint``, ``botocore.parsers``): for sfn-offload that is every payload and a
StopExecution's error and cause. :func:`quiet_wire` marks the requests sfn-offload sends
(the stores wrap every call in it; clients created here mark their own calls too), and a filter
on those two loggers replaces the parameters and bodies of *marked* records with a placeholder.
Records of the application's own requests are left untouched.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, NoRegionError

from ._retry import RetryPolicy
from .errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

__all__ = ["AwsClients", "quiet_wire"]

logger = logging.getLogger("sfn_offload")

#: botocore's standard mode: backoff ``random() * 2**(attempt - 1)`` seconds, capped at 20 s.
BOTOCORE_MAX_BACKOFF: Final = 20.0
#: The loggers through which botocore writes request parameters and response bodies.
WIRE_LOGGERS: Final = ("botocore.endpoint", "botocore.parsers")

_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("sfn_offload_quiet", default=False)
_QUIET_TOKEN: Final = "sfn_offload_quiet_token"
_DEADLINE_POLICY: Final = RetryPolicy()  # only its safety margin and the bound deadline are used
_install_lock = threading.Lock()


class _Redacted:
    """Stands in for a request's parameters or a response body in a botocore log record."""

    def __repr__(self) -> str:
        return "<redacted by sfn-offload>"

    __str__ = __repr__


_REDACTED: Final = _Redacted()
_SAFE_ARG_TYPES: Final = (int, float, bool, type(None))


class _RedactSfnOffloadPayloads(logging.Filter):
    """Redacts the arguments of botocore wire records emitted inside :func:`quiet_wire`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _QUIET.get() or not record.args:
            return True
        if isinstance(record.args, Mapping):
            if "%(" in str(record.msg):
                record.args = dict.fromkeys(record.args, _REDACTED)
            else:
                record.args = (_REDACTED,)
        else:
            record.args = tuple(
                arg if isinstance(arg, _SAFE_ARG_TYPES) else _REDACTED for arg in record.args
            )
        return True


def _install_redaction() -> None:
    with _install_lock:
        for name in WIRE_LOGGERS:
            wire_logger = logging.getLogger(name)
            if not any(isinstance(f, _RedactSfnOffloadPayloads) for f in wire_logger.filters):
                wire_logger.addFilter(_RedactSfnOffloadPayloads())


@contextlib.contextmanager
def quiet_wire() -> Iterator[None]:
    """Keep the payloads of the AWS requests sent inside the block out of botocore's logs."""
    _install_redaction()
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def _mark_quiet(context: dict[str, Any], **_: Any) -> None:
    _install_redaction()
    context[_QUIET_TOKEN] = _QUIET.set(True)


def _unmark_quiet(context: dict[str, Any], **_: Any) -> None:
    token = context.pop(_QUIET_TOKEN, None)
    if token is not None:
        _QUIET.reset(token)


def _give_up_at_deadline(
    attempts: int,
    response: Any = None,
    caught_exception: BaseException | None = None,
    operation: Any = None,
    **_: Any,
) -> None:
    """``needs-retry`` hook: raise the last failure instead of retrying past the deadline.

    Returns ``None`` (no opinion: botocore's own retry handler decides) unless a deadline is
    bound and the longest backoff botocore may pick next would cross its safety margin.
    """
    upcoming = min(BOTOCORE_MAX_BACKOFF, 2.0 ** max(attempts - 1, 0))
    if not _DEADLINE_POLICY.out_of_time(upcoming):
        return None
    if caught_exception is not None:
        logger.debug("deadline near: not retrying %s after a transport error", operation.name)
        raise caught_exception
    if response is not None:
        http_response, parsed = response
        if http_response.status_code >= 300 and isinstance(parsed, dict) and "Error" in parsed:
            logger.debug(
                "deadline near: not retrying %s after %s",
                operation.name,
                parsed["Error"].get("Code"),
            )
            raise ClientError(parsed, operation.name)  # type: ignore[arg-type]
    return None


def _instrument(client: Any) -> None:
    """Hooks on a client sfn-offload created itself (never on an injected one)."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"needs-retry.{service}", _give_up_at_deadline)
    # Last, so that a handler answering or failing the call first (a Stubber) leaves no mark.
    client.meta.events.register_last(f"before-call.{service}", _mark_quiet)
    client.meta.events.register_last(f"after-call.{service}", _unmark_quiet)
    client.meta.events.register_last(f"after-call-error.{service}", _unmark_quiet)


class AwsClients:
    """The DynamoDB, S3 and Step Functions clients one configuration uses.

    >>> clients = AwsClients()          # nothing is created yet
    >>> clients.created
    []
    """

    def __init__(
        self,
        *,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
        dynamodb_client: DynamoDBClient | None = None,
        s3_client: S3Client | None = None,
        stepfunctions_client: SFNClient | None = None,
        endpoint_urls: Mapping[str, str] | None = None,
        max_pool_connections: int = 16,
    ) -> None:
        self._session = boto3_session
        # Standard retry mode retries throttling (ProvisionedThroughputExceeded, Throttling,
        # SlowDown) with jittered backoff; legacy mode (botocore's default) is less thorough.
        defaults = Config(
            retries={"mode": "standard", "max_attempts": 5},
            max_pool_connections=max(10, max_pool_connections),
            connect_timeout=5,
            read_timeout=30,
        )
        self._config = defaults.merge(boto_config) if boto_config else defaults
        self._endpoints = dict(endpoint_urls or {})
        self._clients: dict[str, Any] = {}
        if dynamodb_client is not None:
            self._clients["dynamodb"] = dynamodb_client
        if s3_client is not None:
            self._clients["s3"] = s3_client
        if stepfunctions_client is not None:
            self._clients["stepfunctions"] = stepfunctions_client
        self._injected = frozenset(self._clients)
        self._lock = threading.Lock()

    @property
    def created(self) -> list[str]:
        """Services whose client this object created itself (for tests and benchmarks)."""
        return sorted(set(self._clients) - self._injected)

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The DynamoDB client (created on first use)."""
        client: DynamoDBClient = self._get("dynamodb")
        return client

    @property
    def s3(self) -> S3Client:
        """The S3 client (created on first use)."""
        client: S3Client = self._get("s3")
        return client

    @property
    def stepfunctions(self) -> SFNClient:
        """The Step Functions client (created on first use)."""
        client: SFNClient = self._get("stepfunctions")
        return client

    def _get(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        with self._lock:  # boto3 sessions are not thread-safe; S3 reads run in threads
            client = self._clients.get(service)
            if client is None:
                if self._session is None:
                    self._session = boto3.session.Session()
                kwargs: dict[str, Any] = {"config": self._config}
                if service in self._endpoints:
                    kwargs["endpoint_url"] = self._endpoints[service]
                try:
                    client = self._session.client(service, **kwargs)  # type: ignore[call-overload]
                except NoRegionError as exc:
                    raise ConfigurationError(
                        f"no AWS region for the {service} client: set AWS_REGION (Lambda sets it) "
                        "or AWS_DEFAULT_REGION, or pass a boto3_session with a region"
                    ) from exc
                _instrument(client)
                self._clients[service] = client
        return client
