"""sfn-offload: make the Step Functions 256 KiB payload limit disappear.

Public API (everything importable from ``sfn_offload``; the ``_``-prefixed modules are private):

- :func:`state_offload`: the handler decorator (hydrate before, offload after, stop on raise),
  :class:`StopExecution`, :class:`TaskContext`, :func:`fan_out`.
- :func:`hydrate` / :func:`offload`: the plain functions the decorator composes.
- :class:`StateDataClient`: the explicit py2sfn-task-tools API (drop-in).
- :class:`OffloadConfig`: validated, immutable configuration (argument > environment > default).
- :class:`Pointer`, :func:`is_pointer`: the versioned pointer format.
- :class:`RetryPolicy`, :func:`retry_deadline`: bounded, jittered retries that stop before the
  Lambda's remaining time runs out.
- The error tree rooted at :class:`SfnOffloadError` (see ``sfn_offload._errors``).

Importing this package creates no AWS client, reads no credentials or environment and sends no
request.
"""

from ._aws import AwsClients
from ._client import StateDataClient, parse_map_iteration
from ._codec import Encoded
from ._config import OffloadConfig
from ._context import StopResult, TaskContext
from ._decorator import STATE_LIMIT_BYTES, inline_budget, state_offload
from ._distributed import (
    ItemFile,
    MapRunResults,
    is_result_writer_output,
    read_result_writer,
    write_item_file,
)
from ._errors import (
    ConfigurationError,
    IntegrityError,
    MapRunFailedError,
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
from ._hydrate import hydrate
from ._identity import ExecutionIdentity, resolve_identity
from ._offload import FanOut, OffloadStats, fan_out, offload
from ._pointer import Pointer, is_pointer
from ._repository import PayloadRepository, ReadStats
from ._retry import RetryPolicy, retry_deadline
from ._stop import StopExecution
from ._stores import Address, DynamoDBStore, MemoryStore, PayloadStore, Record, S3Store

__version__ = "0.1.0"

__all__ = [
    "STATE_LIMIT_BYTES",
    "Address",
    "AwsClients",
    "ConfigurationError",
    "DynamoDBStore",
    "Encoded",
    "ExecutionIdentity",
    "FanOut",
    "IntegrityError",
    "ItemFile",
    "MapRunFailedError",
    "MapRunResults",
    "MemoryStore",
    "NoItemFound",
    "OffloadConfig",
    "OffloadStats",
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
    "StopExecution",
    "StopExecutionError",
    "StopResult",
    "StoreError",
    "TaskContext",
    "__version__",
    "fan_out",
    "hydrate",
    "inline_budget",
    "is_pointer",
    "is_result_writer_output",
    "offload",
    "parse_map_iteration",
    "read_result_writer",
    "resolve_identity",
    "retry_deadline",
    "state_offload",
    "write_item_file",
]
