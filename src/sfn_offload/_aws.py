"""Lazily created, reused boto3 clients.

Injection order (as in Powertools): an explicit client > ``boto3_session`` + ``boto_config`` >
a new session. Clients are created on first use (never at import or construction) and kept for
the life of the :class:`AwsClients` object, so a decorator or client built at module level reuses
them across warm Lambda invocations. Injected clients are never modified (no event hooks).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import NoRegionError

from ._errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

__all__ = ["AwsClients"]


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
                self._clients[service] = client
        return client
