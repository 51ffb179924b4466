"""Docs "Configuration": the same settings as arguments, as an OffloadConfig, or as variables."""

from __future__ import annotations

from typing import Any


def explicit() -> Any:
    # --8<-- [start:explicit]
    from sfn_offload import OffloadConfig, state_offload

    config = OffloadConfig(
        table="orders-state",  # DynamoDB names: 3-255 characters of A-Z a-z 0-9 _ . -
        bucket="orders-state-bucket",
        ttl_days=3,
        compression="gzip",
        s3_prefix="orders/payloads/",
    )

    @state_offload(config=config, keep_inline=["status"], margin_bytes=16_384)
    def handler(event, context):
        return {"status": "ok", "rows": event["rows"]}

    # --8<-- [end:explicit]
    return config, handler


def from_environment() -> Any:
    # --8<-- [start:environment]
    import os

    from sfn_offload import OffloadConfig, state_offload

    # What the function's configuration sets:
    os.environ.update(
        {
            "SFN_OFFLOAD_TABLE": "orders-state",
            "SFN_OFFLOAD_BUCKET": "orders-state-bucket",
            "SFN_OFFLOAD_S3_PREFIX": "orders/payloads/",
            "SFN_OFFLOAD_KEEP_INLINE": "status,summary.count",
            "SFN_OFFLOAD_DISABLED": "false",  # "true": events and results pass as they are
        }
    )
    assert OffloadConfig.from_env().s3_prefix == "orders/payloads/"

    @state_offload  # the variables are read at its first invocation, not here
    def handler(event, context):
        return {"status": "ok", "summary": {"count": 2}, "rows": event["rows"]}

    # --8<-- [end:environment]
    return handler
