"""sfn-offload: make the Step Functions 256 KiB payload limit disappear.

Public API (everything importable from ``sfn_offload``; the ``_``-prefixed modules are private):

- :class:`StateDataClient`: the explicit py2sfn-task-tools API (drop-in).
- :class:`OffloadConfig`: validated, immutable configuration (argument > environment > default).
- :class:`Pointer`, :func:`is_pointer`: the versioned pointer format.
- The error tree rooted at :class:`SfnOffloadError` (see ``sfn_offload._errors``).

Importing this package creates no AWS client, reads no credentials or environment and sends no
request.
"""

from ._aws import AwsClients
from ._client import StateDataClient, parse_map_iteration
from ._codec import Encoded
from ._config import OffloadConfig
from ._errors import (
    ConfigurationError,
    IntegrityError,
    NoItemFound,
    PayloadEncodingError,
    PayloadTooLargeError,
    PointerError,
    PointerNotAllowedError,
    SfnOffloadError,
    StateDataClientError,
    StopExecutionError,
    StoreError,
)
from ._pointer import Pointer, is_pointer
from ._repository import PayloadRepository, ReadStats
from ._retry import RetryPolicy
from ._stores import Address, DynamoDBStore, MemoryStore, PayloadStore, Record, S3Store

__version__ = "0.1.0"

__all__ = [
    "Address",
    "AwsClients",
    "ConfigurationError",
    "DynamoDBStore",
    "Encoded",
    "IntegrityError",
    "MemoryStore",
    "NoItemFound",
    "OffloadConfig",
    "PayloadEncodingError",
    "PayloadRepository",
    "PayloadStore",
    "PayloadTooLargeError",
    "Pointer",
    "PointerError",
    "PointerNotAllowedError",
    "ReadStats",
    "Record",
    "RetryPolicy",
    "S3Store",
    "SfnOffloadError",
    "StateDataClient",
    "StateDataClientError",
    "StopExecutionError",
    "StoreError",
    "__version__",
    "is_pointer",
    "parse_map_iteration",
]
