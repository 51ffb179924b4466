"""Every ``@state_offload`` option from the environment, and the off switch.

Argument > ``SFN_OFFLOAD_*`` variable > default; variables are read at the first invocation (not
at import, not at decoration) and kept across warm invocations.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeLambdaContext, memory_repo, requests
from sfn_offload import ConfigurationError, StopExecution, TaskContext, state_offload
from sfn_offload._config import ENV, OPTION_ENV, options_from_env
from sfn_offload._decorator import StateOffloadOptions
from sfn_offload._runtime import DEFAULTS, Options
from sfn_offload.testing import LocalStepFunctions
from sfn_offload.wire import is_pointer

ROOT = Path(__file__).resolve().parent.parent
BIG = {"status": "ok", "rows": ["r" * 100] * 200}  # ~21 KB: over the 10,000-byte budget below
#: Options that are objects, so no variable can carry them.
OBJECT_OPTIONS = {"config", "metrics", "repository", "boto3_session", "boto_config"}


# --------------------------------------------------------------------------------------------
# each variable
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "raw", "option", "expected"),
    [
        ("SFN_OFFLOAD_DISABLED", "true", "disabled", True),
        ("SFN_OFFLOAD_HYDRATE", "false", "hydrate", False),
        ("SFN_OFFLOAD_OFFLOAD", "0", "offload", False),
        ("SFN_OFFLOAD_MAX_INLINE_BYTES", "50_000", "max_inline_bytes", 50_000),
        ("SFN_OFFLOAD_IGNORE_INPUT", "Yes", "ignore_input", True),
        ("SFN_OFFLOAD_MARGIN_BYTES", "16384", "margin_bytes", 16_384),
        ("SFN_OFFLOAD_RESERVE_BYTES", "1000", "reserve_bytes", 1_000),
        ("SFN_OFFLOAD_KEEP_INLINE", "status, summary.count", "keep_inline",
         (("status",), ("summary", "count"))),
        ("SFN_OFFLOAD_FAN_OUT", "shards,$.batch.items", "fan_out",
         (("shards",), ("batch", "items"))),
        ("SFN_OFFLOAD_MAX_HYDRATE_BYTES", "1000000", "max_hydrate_bytes", 1_000_000),
        ("SFN_OFFLOAD_EXECUTION_ARN_KEY", "execution", "execution_arn_key", "execution"),
        ("SFN_OFFLOAD_RESULT_WRITER", "tolerant", "result_writer", "tolerant"),
    ],
)  # fmt: skip
def test_given_each_variable_then_it_sets_its_option(
    variable: str, raw: str, option: str, expected: Any
) -> None:
    options = Options.resolve({}, options_from_env({variable: raw}))
    assert getattr(options, option) == expected


def test_every_option_variable_is_covered_by_this_file() -> None:
    assert set(OPTION_ENV.values()) == {
        "SFN_OFFLOAD_DISABLED",
        "SFN_OFFLOAD_HYDRATE",
        "SFN_OFFLOAD_OFFLOAD",
        "SFN_OFFLOAD_MAX_INLINE_BYTES",
        "SFN_OFFLOAD_IGNORE_INPUT",
        "SFN_OFFLOAD_MARGIN_BYTES",
        "SFN_OFFLOAD_RESERVE_BYTES",
        "SFN_OFFLOAD_KEEP_INLINE",
        "SFN_OFFLOAD_FAN_OUT",
        "SFN_OFFLOAD_MAX_HYDRATE_BYTES",
        "SFN_OFFLOAD_EXECUTION_ARN_KEY",
        "SFN_OFFLOAD_RESULT_WRITER",
    }


def test_every_decorator_option_has_a_variable_unless_it_is_an_object() -> None:
    """GIVEN state_offload's keyword options THEN each is an object (injected only), a
    config field (OffloadConfig's variables) or one of the decorator's own variables, and
    the decorator's own ones all have defaults."""
    parameters = set(StateOffloadOptions.__annotations__)
    config_fields = parameters & set(ENV)
    assert config_fields == {"table", "bucket"}
    assert parameters - OBJECT_OPTIONS - config_fields == set(OPTION_ENV)
    assert set(DEFAULTS) == set(OPTION_ENV)


def test_every_variable_is_in_the_config_table_of_the_docs() -> None:
    text = (ROOT / "docs" / "index.md").read_text("utf-8")
    section = re.search(r"^## Configuration\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "docs/index.md has no '## Configuration' section"
    rows = {
        m["option"]: m["variables"]
        for m in re.finditer(
            r"^\| `(?P<option>\w+)` \| (?P<variables>[^|]*) \|", section.group(1), re.M
        )
    }
    for option, variable in OPTION_ENV.items():
        assert variable in rows.get(option, ""), f"{option} ({variable}) is not in the table"
    for option, variables in ENV.items():
        assert all(v in rows.get(option, "") for v in variables), option
    for option in OBJECT_OPTIONS:
        assert option in rows, f"{option} is not in the table"


# --------------------------------------------------------------------------------------------
# precedence and timing
# --------------------------------------------------------------------------------------------


def test_given_an_argument_and_its_variable_then_the_argument_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN SFN_OFFLOAD_MAX_INLINE_BYTES=1000000 and max_inline_bytes=10_000 as an argument
    WHEN the handler returns ~21 KB THEN it is offloaded (the argument's budget applied)."""
    monkeypatch.setenv("SFN_OFFLOAD_MAX_INLINE_BYTES", "1000000")
    repo = memory_repo()

    @state_offload(repository=repo, max_inline_bytes=10_000)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return BIG

    assert is_pointer(handler({}, FakeLambdaContext())["rows"])


def test_given_only_the_variable_then_it_beats_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN SFN_OFFLOAD_MAX_INLINE_BYTES=10000 and SFN_OFFLOAD_KEEP_INLINE=status
    WHEN a bare-configured handler returns ~21 KB THEN it is offloaded, status kept inline."""
    monkeypatch.setenv("SFN_OFFLOAD_MAX_INLINE_BYTES", "10000")
    monkeypatch.setenv("SFN_OFFLOAD_KEEP_INLINE", "status")
    repo = memory_repo()

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return BIG

    out = handler({}, FakeLambdaContext())
    assert out["status"] == "ok"
    assert is_pointer(out["rows"])


def test_variables_are_read_at_the_first_invocation_then_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN a handler decorated while SFN_OFFLOAD_DISABLED=true
    WHEN the variable is removed before the first invocation, then set again before the second
    THEN both invocations offload: the variable was read once, at the first invocation."""
    monkeypatch.setenv("SFN_OFFLOAD_DISABLED", "true")
    repo = memory_repo()

    @state_offload(repository=repo, max_inline_bytes=10_000)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return BIG

    monkeypatch.delenv("SFN_OFFLOAD_DISABLED")
    first = handler({}, FakeLambdaContext())
    monkeypatch.setenv("SFN_OFFLOAD_DISABLED", "true")
    second = handler({}, FakeLambdaContext())
    assert is_pointer(first["rows"])
    assert is_pointer(second["rows"])


def test_a_bad_variable_fails_the_first_invocation_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN SFN_OFFLOAD_MARGIN_BYTES=-5 WHEN a handler is decorated THEN nothing fails;
    WHEN it is invoked THEN ConfigurationError names the variable, its value and the range."""
    monkeypatch.setenv("SFN_OFFLOAD_MARGIN_BYTES", "-5")

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> str:
        return "ran"

    with pytest.raises(ConfigurationError) as raised:
        handler({}, FakeLambdaContext())
    message = str(raised.value)
    assert "SFN_OFFLOAD_MARGIN_BYTES=-5" in message
    assert "margin_bytes must be in [0, 262144)" in message


@pytest.mark.parametrize(
    ("variable", "raw", "says"),
    [
        ("SFN_OFFLOAD_DISABLED", "maybe", "is not a boolean"),
        ("SFN_OFFLOAD_MAX_INLINE_BYTES", "lots", "is not an integer"),
        ("SFN_OFFLOAD_RESULT_WRITER", "lenient", "result_writer must be one of"),
        ("SFN_OFFLOAD_KEEP_INLINE", "[", "cannot parse path"),
    ],
)
def test_a_malformed_variable_is_refused_naming_it(variable: str, raw: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(variable)) as raised:
        Options.resolve({}, options_from_env({variable: raw}))
    assert says in str(raised.value)


def test_a_bad_argument_still_fails_at_decoration() -> None:
    with pytest.raises(ConfigurationError, match="result_writer must be one of"):
        state_offload(result_writer="lenient")  # type: ignore[call-overload]


# --------------------------------------------------------------------------------------------
# the off switch
# --------------------------------------------------------------------------------------------


def test_disabled_passes_the_raw_event_in_and_the_result_out_with_no_store_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN SFN_OFFLOAD_DISABLED=true and an event holding a pointer
    WHEN the handler returns a result over its budget
    THEN the handler sees the pointer itself, the result comes back as it is, and neither
    store got a request."""
    repo = memory_repo()
    pointer = repo.write_value("run:rows", 0, repo.encode([1, 2, 3])).to_dict()
    before = requests(repo)
    monkeypatch.setenv("SFN_OFFLOAD_DISABLED", "TRUE")
    seen: list[Any] = []

    @state_offload(repository=repo, max_inline_bytes=10_000)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        seen.append((event, context))
        return BIG

    out = handler({"rows": pointer}, FakeLambdaContext())
    assert out is BIG
    [(event, context)] = seen
    assert event == {"rows": pointer}
    assert isinstance(context, TaskContext)  # context.stop_execution(...) is still there
    assert requests(repo) == before


def test_disabled_as_an_argument_beats_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFN_OFFLOAD_DISABLED", "true")

    @state_offload(repository=memory_repo(), max_inline_bytes=10_000, disabled=False)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return BIG

    assert is_pointer(handler({}, FakeLambdaContext())["rows"])


def test_disabled_still_stops_the_execution_on_raise_stop_execution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN SFN_OFFLOAD_DISABLED=true on a task that raises StopExecution, in a real state
    machine (local kit) WHEN it runs THEN the execution is ABORTED with the error and cause:
    the switch turns payload handling off, not the stop."""

    @state_offload
    def gate(event: Any, context: Any) -> dict[str, Any]:
        raise StopExecution(error="FeatureDisabled", cause="off for acme")

    definition = {
        "StartAt": "Gate",
        "States": {
            "Gate": {
                "Type": "Task",
                "Resource": "${gate}",
                "Parameters": {"sfn_execution_arn.$": "$$.Execution.Id"},
                "Next": "Later",
            },
            "Later": {"Type": "Wait", "Seconds": 60, "End": True},
        },
    }
    with LocalStepFunctions() as local:
        monkeypatch.setenv("SFN_OFFLOAD_DISABLED", "true")
        local.register("gate", gate)
        run = local.run(definition, {}, name="disabled-stop")
    assert (run.status, run.error, run.cause) == ("ABORTED", "FeatureDisabled", "off for acme")
