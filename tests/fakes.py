"""Test doubles shared by the decorator tests: a Lambda context, an in-memory repository."""

from __future__ import annotations

from typing import Any

from sfn_offload import OffloadConfig
from sfn_offload.storage import AwsClients, MemoryStore, PayloadRepository

TABLE = "state-table"
BUCKET = "state-bucket"
ACCOUNT = "123456789012"
EXECUTION_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:orders:run-42"


class FakeLambdaContext:
    """The attributes and the one method of the Python runtime's Lambda context."""

    def __init__(
        self,
        function_name: str = "orders-task",
        *,
        invoked_function_arn: str | None = None,
        remaining_ms: int = 42_000,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            invoked_function_arn or f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function_name}"
        )
        self.memory_limit_in_mb = 256
        self.aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]abcdef"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


def memory_repo(*, clients: AwsClients | None = None, **config: Any) -> PayloadRepository:
    """A repository on in-memory stores (table and bucket configured unless overridden).

    ``clients`` supplies the Step Functions client StopExecution uses (default: created lazily,
    which under moto reaches moto).
    """
    settings: dict[str, Any] = {"table": TABLE, "bucket": BUCKET, **config}
    return PayloadRepository(
        OffloadConfig(**settings),
        clients=clients,
        dynamodb=MemoryStore("dynamodb"),
        s3=MemoryStore("s3"),
    )


def requests(repo: PayloadRepository) -> dict[str, int]:
    """Every call both memory stores received, keyed ``<backend>.<operation>`` (AWS stores keep
    no counters: count their requests with ``sfn_offload.testing.RequestCounter``)."""
    out: dict[str, int] = {}
    for store in (repo.dynamodb, repo.s3):
        assert isinstance(store, MemoryStore), "requests() reads MemoryStore counters only"
        out.update({f"{store.backend}.{op}": n for op, n in store.requests.items()})
    return out
