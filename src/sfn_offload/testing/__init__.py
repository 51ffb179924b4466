"""Run the real state machine locally: moto's Step Functions engine calling Python handlers.

Needs the ``testing`` extra (``pip install 'sfn-offload[testing]'``: moto 5.2 with DynamoDB, S3,
Step Functions and Lambda). Nothing leaves the process and no AWS account is used.

>>> from sfn_offload.testing import LocalStepFunctions
>>> with LocalStepFunctions() as local:
...     arn = local.register("echo", lambda event, context: {"got": event})
...     run = local.run({"StartAt": "Echo", "States": {
...         "Echo": {"Type": "Task", "Resource": "${echo}", "End": True}}}, {"n": 1})
>>> run.status, run.output
('SUCCEEDED', {'got': {'n': 1}})

What it does:

- starts moto in-process (``mock_aws`` with ``execute_state_machine`` and the Docker-free Lambda
  backend), creates a DynamoDB table (py2sfn key schema, TTL on ``expires_at``) and an S3 bucket,
  and points ``SFN_OFFLOAD_TABLE``/``SFN_OFFLOAD_BUCKET`` at them while it runs;
- :meth:`LocalStepFunctions.register` turns a Python handler into a Lambda function: both Task
  kinds (a plain Lambda ARN and ``arn:aws:states:::lambda:invoke``) call it as the Lambda Python
  runtime does: the return value is never awaited and is written with the runtime's encoder;
  exceptions become function errors shaped as the runtime reports them (``errorType`` = the
  bare class name, ``errorMessage``, ``requestId``, ``stackTrace``); ``lambda:invoke`` results
  come wrapped in the envelope AWS adds (:mod:`.envelope`);
- :meth:`LocalStepFunctions.run` first runs ``sfn-offload check`` on the definition and refuses
  one with an error finding (:class:`~sfn_offload.errors.DefinitionCheckError`; ``check=``), then
  runs the ASL definition (dict, JSON text or file; ``${name}``
  placeholders become registered function ARNs) and returns an :class:`Execution` with status,
  output, error, cause, history, per-state payload sizes and a quota report: every payload
  against 262,144 bytes and the history against 25,000 events, which moto does not enforce
  (a :class:`QuotaWarning` by default, :class:`~sfn_offload.errors.QuotaExceededError` with
  ``strict_quotas=True``);
- moto's StopExecution drops ``error`` and ``cause``; they are recorded and restored on the
  :class:`Execution`.

Use it as a context manager, or as the pytest fixture ``local_sfn`` (``pytest_plugins =
["sfn_offload.testing"]`` in ``conftest.py``).

Modules: :mod:`.kit` (the class), :mod:`.sizes`, :mod:`.execution`, :mod:`.quotas`,
:mod:`.stored`, :mod:`.definition`, :mod:`.fixture`; the moto patches in :mod:`.lambdas`,
:mod:`.envelope`, :mod:`.quotas`, :mod:`.stops`, :mod:`.jsonata_eval`, :mod:`.result_writer` and
:mod:`.aws_calls` (undone by :mod:`.patching`).
"""

import contextlib

from .checks import CheckMode, assert_definition_ok
from .counting import RequestCounter
from .execution import Execution
from .kit import LocalStepFunctions
from .lambdas import ACCOUNT_ID as ACCOUNT_ID  # the account of every ARN the kit makes
from .lambdas import FakeLambdaContext
from .quotas import HISTORY_EVENT_LIMIT, PayloadSize, QuotaReport, QuotaWarning
from .sizes import StateSize, assert_fits, payload_size
from .stored import StoredPayload

with contextlib.suppress(ImportError):  # the fixture needs pytest; the kit does not
    from .fixture import local_sfn

__all__ = [
    "HISTORY_EVENT_LIMIT",
    "CheckMode",
    "Execution",
    "FakeLambdaContext",
    "LocalStepFunctions",
    "PayloadSize",
    "QuotaReport",
    "QuotaWarning",
    "RequestCounter",
    "StateSize",
    "StoredPayload",
    "assert_definition_ok",
    "assert_fits",
    "local_sfn",
    "payload_size",
]
