"""Where payloads live: the store seam, its three stores, and the repository that tiers them.

- :class:`PayloadStore` (:mod:`~sfn_offload.storage.base`) is the seam: a store moves encoded
  :class:`Record` objects to and from an :class:`Address` and knows nothing of JSON or pointers.
- :class:`DynamoDBStore`, :class:`S3Store` and :class:`MemoryStore` implement it.
- :class:`PayloadRepository` encodes, places (item or S3, see :mod:`~sfn_offload.storage.tiering`),
  writes and verifies payloads over two stores.
"""

from .._aws import AwsClients
from .._retry import RetryPolicy, retry_deadline
from .base import Address, Membership, PartitionStore, PayloadStore, Record
from .dynamodb import DynamoDBStore
from .memory import MemoryStore
from .repository import PayloadRepository, ReadStats
from .s3 import S3Store

__all__ = [
    "Address",
    "AwsClients",
    "DynamoDBStore",
    "Membership",
    "MemoryStore",
    "PartitionStore",
    "PayloadRepository",
    "PayloadStore",
    "ReadStats",
    "Record",
    "RetryPolicy",
    "S3Store",
    "retry_deadline",
]
