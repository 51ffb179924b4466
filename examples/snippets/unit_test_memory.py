"""Docs "Testing your code": a unit test without moto, on in-memory stores."""

from __future__ import annotations

# --8<-- [start:memory]
from sfn_offload import OffloadConfig, state_offload
from sfn_offload.storage import MemoryStore, PayloadRepository
from sfn_offload.wire import is_pointer

repository = PayloadRepository(
    OffloadConfig(table="state-table"),  # a valid DynamoDB name; nothing is created
    dynamodb=MemoryStore(),
    s3=MemoryStore("s3"),
)


@state_offload(repository=repository, max_inline_bytes=1_000)
def report(event, context):
    return {"status": "ok", "rows": list(range(1_000))}


def test_rows_are_offloaded():
    out = report({}, None)
    assert out["status"] == "ok"
    assert is_pointer(out["rows"])


# --8<-- [end:memory]
