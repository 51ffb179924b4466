"""What the check reports: :class:`Finding`, :class:`Severity` and the stable codes.

>>> f = Finding("/States/Price", "Price", Severity.WARNING, "SO202", "copies the list", "use ref")
>>> str(f)
'warning SO202 /States/Price: copies the list (fix: use ref)'
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

__all__ = ["CODES", "Finding", "Severity"]


class Severity(str, enum.Enum):  # StrEnum needs Python 3.11
    """How sure the check is that AWS will fail the execution.

    - ``error``: it will, for a realistic number of iterations or sizes, or the library's
      conventions are broken (the next task fails), or the state holds an earlier state's result
      that the task cannot see and the ASL does not declare (SO401): the default fails safe,
      since only the definition can say how big that is.
    - ``warning``: it may, depending on data the definition does not show.
    - ``info``: something to know that the check cannot decide.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for errors, 1 for warnings, 2 for info (sort order)."""
        return list(Severity).index(self)


#: Every code the check reports, with its one-line title (docs/cli.md explains each).
CODES: Final = {
    "SO101": "Lambda task without the execution ARN",
    "SO102": "Lambda task whose execution ARN depends on its input",
    "SO201": "Map collecting its iterations' results in its output",
    "SO202": "Element reference copying the whole list pointer",
    "SO203": "ItemSelector copying a whole list into every iteration",
    "SO204": "Half of the Map-results convention",
    "SO205": "Malformed sfn_offload_map or sfn_offload_results",
    "SO206": "Map iteration that can end without storing its result",
    "SO207": "Nested Map ending an iteration of a Map that stores results",
    "SO208": "Map-run context given to a task that is not the iteration's last",
    "SO301": "Parallel branch task without its share of the limit",
    "SO302": "Siblings count lower than the number of branches",
    "SO401": "Narrowed input merged back without a reserve",
    "SO402": "Reserve that is not a byte count",
    "SO501": "Inline Map near the 25,000-event history quota",
}


@dataclass(frozen=True)
class Finding:
    """One problem in a definition.

    Attributes:
        path: JSON pointer (RFC 6901) of the state in the definition, e.g.
            ``/States/Price/ItemProcessor/States/PriceOne``.
        state: the state's name.
        severity: see :class:`Severity`.
        code: a stable code (``SO101`` ...); see :data:`CODES`.
        message: what is wrong and what AWS or the library would do.
        fix: the change to make: an ASL edit or a decorator option.
    """

    path: str
    state: str
    severity: Severity
    code: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.severity.value} {self.code} {self.path}: {self.message} (fix: {self.fix})"

    def to_dict(self) -> dict[str, str]:
        """The finding as JSON (what ``sfn-offload check --json`` prints)."""
        return {
            "path": self.path,
            "state": self.state,
            "severity": self.severity.value,
            "code": self.code,
            "title": CODES[self.code],
            "message": self.message,
            "fix": self.fix,
        }
