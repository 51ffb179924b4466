"""Docs "Testing your code": a pytest test of a real state machine, on moto, in process."""

from __future__ import annotations

# --8<-- [start:conftest]
# conftest.py
pytest_plugins = ["sfn_offload.testing"]  # provides the `local_sfn` fixture
# --8<-- [end:conftest]

# --8<-- [start:test]
from sfn_offload import state_offload
from sfn_offload.testing import LocalStepFunctions, assert_fits


@state_offload
def big_report(event, context):
    return {"status": "ok", "rows": [{"n": n, "text": "x" * 100} for n in range(10_000)]}


def test_report_fits_the_state_limit(local_sfn: LocalStepFunctions):
    local_sfn.register("big_report", big_report)
    run = local_sfn.run(
        {
            "StartAt": "Report",
            "States": {"Report": {"Type": "Task", "Resource": "${big_report}", "End": True}},
        },
        {"tenant": "acme"},
    )
    assert run.status == "SUCCEEDED"
    assert run.output["status"] == "ok"  # small fields stay inline
    assert_fits(run.output)  # the 1.2 MB of rows went to S3; a pointer is left
    for state in run.state_sizes():
        assert state.largest <= 262_144


# --8<-- [end:test]
