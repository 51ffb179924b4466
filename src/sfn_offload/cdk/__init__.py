"""The table and bucket sfn-offload needs, as an AWS CDK v2 construct (extra ``cdk``).

``pip install 'sfn-offload[cdk]'`` brings ``aws-cdk-lib`` and ``constructs``; like every CDK
app, synthesizing needs Node.js (the CDK runs on jsii). The library never imports this module.

- :class:`PayloadStorage` creates the DynamoDB table (``partition_key`` S / ``sort_key`` N,
  on-demand, TTL on ``expires_at``) and the S3 bucket (encryption, public access blocked, TLS
  only, lifecycle rules expiring every prefix the library writes after the items' TTL);
- :meth:`PayloadStorage.grant` gives a function the ``SFN_OFFLOAD_*`` environment and exactly
  the IAM actions the library sends, on exactly these resources (and StopExecution on one state
  machine's executions).

See ``docs/cdk.md``.
"""

from __future__ import annotations

try:
    from ._storage import PayloadStorage
except ModuleNotFoundError as exc:  # pragma: no cover - only without the extra
    if exc.name not in ("aws_cdk", "constructs"):
        raise
    raise ImportError(
        "sfn_offload.cdk needs aws-cdk-lib and constructs: pip install 'sfn-offload[cdk]'"
    ) from exc

__all__ = ["PayloadStorage"]
