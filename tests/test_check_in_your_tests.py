"""The "In tests" snippet of docs/cli.md: assert_definition_ok in a test suite, run as shown."""

# --8<-- [start:in_tests]
from pathlib import Path

from sfn_offload.testing import assert_definition_ok

DEFINITION = Path(__file__).parent.parent / "examples" / "maps" / "map_at_scale.asl.json"


def test_the_state_machine_follows_the_sfn_offload_conventions() -> None:
    assert_definition_ok(DEFINITION, strict=True, workflow_type="express")
    # --8<-- [end:in_tests]
