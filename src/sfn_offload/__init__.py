"""sfn-offload: make the Step Functions 256 KiB payload limit disappear.

The everyday API is importable from ``sfn_offload``:

- :func:`state_offload`: the handler decorator (hydrate before, offload after, stop on raise),
  with :class:`StopExecution`, :class:`TaskContext` and :func:`fan_out`;
- :func:`hydrate` / :func:`offload`: the plain functions the decorator composes;
- :class:`StateDataClient`: the explicit py2sfn-task-tools API (drop-in);
- :class:`OffloadConfig`: validated, immutable configuration (argument > environment > default);
- the root of the error tree, :class:`SfnOffloadError`, and the errors handlers most often catch.

Everything else lives in documented submodules, one room each:

==============================  ===============================================================
``sfn_offload.errors``          the whole error tree
``sfn_offload.budget``          the 262,144-byte limit and the inline budget of a result
``sfn_offload.steps``           the step functions with what they learned (stats, Map shape)
``sfn_offload.wire``            the JSON that travels through Step Functions: pointers, every
                                reference shape, the payload codec
``sfn_offload.storage``         the payload store seam, DynamoDB/S3/memory stores, tiering
``sfn_offload.distributed``     Distributed Map item files and ResultWriter output
``sfn_offload.compat.py2sfn``   py2sfn-task-tools drop-in names (``StateDataClient``...)
``sfn_offload.checks``          a static check of a definition (``sfn-offload check``)
``sfn_offload.testing``         the local kit: real ASL in moto's engine
``sfn_offload.cli``             the ``sfn-offload`` console script (extra ``cli``)
==============================  ===============================================================

Importing this package creates no AWS client, reads no credentials or environment and sends no
request.
"""

from ._config import OffloadConfig
from ._context import TaskContext
from ._decorator import state_offload
from ._hydrate import hydrate
from ._offload import fan_out, offload
from ._stop import StopExecution
from .compat.py2sfn import StateDataClient
from .errors import (
    ConfigurationError,
    NoItemFound,
    PayloadTooLargeError,
    PointerError,
    SfnOffloadError,
    StateDataClientError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "NoItemFound",
    "OffloadConfig",
    "PayloadTooLargeError",
    "PointerError",
    "SfnOffloadError",
    "StateDataClient",
    "StateDataClientError",
    "StopExecution",
    "TaskContext",
    "__version__",
    "fan_out",
    "hydrate",
    "offload",
    "state_offload",
]
