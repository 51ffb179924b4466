"""Static checks of a state machine definition: the shapes where Step Functions' limits still
bite a decorated task, found before deployment (``sfn-offload check``).

A decorated task sees its own event and result; Step Functions checks the 262,144-byte limit on
states built from pieces no task sees, and stops a Standard execution at 25,000 history events.
What a task cannot know at run time is passed by the ASL conventions of docs/maps.md, and this
module checks that a definition follows them, for JSONPath and JSONata:

- every Lambda task gets the execution ARN (SO101, SO102);
- a Map stores its iterations' results instead of collecting them, with a constant-size
  element reference and nothing copied whole into every iteration (SO201 to SO208);
- Parallel branches budget for their share (SO301, SO302);
- a task that sees part of its input but merges its result into all of it declares a reserve
  (SO401, SO402);
- an Inline Map stays under the history quota (SO501).

Each :class:`Finding` names the state (a JSON pointer), a :class:`Severity`, a stable code
(:data:`CODES`, documented in docs/cli.md) and the exact fix.

>>> definition = {"StartAt": "Fork", "States": {"Fork": {"Type": "Parallel", "End": True,
...     "Parameters": {"sfn_execution_arn.$": "$$.Execution.Id"},
...     "Branches": [{"StartAt": b, "States": {b: {"Type": "Task", "Resource": "${" + b + "}",
...         "End": True}}} for b in ("Left", "Right")]}}}
>>> for finding in check_definition(definition):
...     print(finding.code, finding.path)
SO301 /States/Fork/Branches/0/States/Left
SO301 /States/Fork/Branches/1/States/Right

Modules: :mod:`._asl` (the definition's scopes, validation), :mod:`._values` and
:mod:`._flow` (what each state's data may hold, for JSONPath in :mod:`._jsonpath` and JSONata
in :mod:`._jsonata`), one module per family of rules (:mod:`._tasks`, :mod:`._maps`,
:mod:`._iterations`, :mod:`._parallel`, :mod:`._history`), :mod:`._report` (text and JSON).
"""

from ._asl import DefinitionError
from ._asl import load as load_definition
from ._check import WorkflowType, check_definition
from ._findings import CODES, Finding, Severity
from ._report import failing, format_text, to_json

__all__ = [
    "CODES",
    "DefinitionError",
    "Finding",
    "Severity",
    "WorkflowType",
    "check_definition",
    "failing",
    "format_text",
    "load_definition",
    "to_json",
]
