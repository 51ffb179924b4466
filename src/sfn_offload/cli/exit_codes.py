"""The console script's exit codes, and which error maps to which."""

from __future__ import annotations

from typing import Final

from ..errors import ConfigurationError, SfnOffloadError, StoreError

__all__ = ["EXIT_AWS", "EXIT_CODES_HELP", "EXIT_DATA", "EXIT_OK", "EXIT_USAGE", "exit_code"]

EXIT_OK: Final = 0
#: The data is the problem: missing/expired item, digest mismatch, malformed or refused pointer,
#: unknown execution or state, a table/bucket that does not match what ``setup`` expects.
EXIT_DATA: Final = 1
#: The command line is the problem (click's own code for usage errors).
EXIT_USAGE: Final = 2
#: AWS or configuration: no credentials or region, access denied, a missing table or bucket,
#: a request that failed after retries, an invalid SFN_OFFLOAD_* variable.
EXIT_AWS: Final = 3

EXIT_CODES_HELP: Final = """\b
Exit codes:
  0  success
  1  data problem: item or object missing (or expired), size/SHA-256 mismatch,
     malformed or refused pointer, unknown execution or state, an existing
     table/bucket that does not match (setup)
  2  usage error: bad option or argument, POINTER is not JSON or not a pointer
  3  AWS or configuration error: credentials, region, access denied, missing
     table or bucket, failed request, invalid SFN_OFFLOAD_* variable
"""

#: StoreError codes that mean "not found" (exit 1) or "bad argument" (exit 2), not AWS trouble.
_NOT_FOUND_CODES: Final = frozenset({"ExecutionDoesNotExist", "StateMachineDoesNotExist"})
_USAGE_CODES: Final = frozenset({"InvalidArn"})


def exit_code(exc: BaseException) -> int:
    """The exit code an error maps to (see ``EXIT_CODES_HELP``)."""
    if isinstance(exc, StoreError):
        if exc.code in _NOT_FOUND_CODES:
            return EXIT_DATA
        return EXIT_USAGE if exc.code in _USAGE_CODES else EXIT_AWS
    if isinstance(exc, ConfigurationError):
        return EXIT_AWS
    if isinstance(exc, SfnOffloadError):
        return EXIT_DATA
    return EXIT_AWS  # botocore: no credentials, endpoint unreachable...
