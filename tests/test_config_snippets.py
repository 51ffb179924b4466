"""The configuration snippets of docs/index.md run (docs blocks equal to their files are checked
by test_snippets.py), and no docs page builds an OffloadConfig outside a snippet file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeLambdaContext
from sfn_offload import OffloadConfig
from sfn_offload._config import options_from_env
from sfn_offload._runtime import Options

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCED = re.compile(r"<!-- snippet: [^ ]+ -->\n```\w*\n.*?```", re.S)


def test_every_offload_config_call_in_the_docs_is_in_a_snippet_file() -> None:
    """GIVEN README.md and docs/*.md WHEN the snippet-tied blocks are set aside
    THEN no `OffloadConfig(` is left: every one of them runs in a test."""
    for doc in DOCS:
        loose = _FENCED.sub("", doc.read_text("utf-8"))
        assert "OffloadConfig(" not in loose, f"{doc.name}: an OffloadConfig outside a snippet"


def test_explicit_configuration_snippet() -> None:
    from examples.snippets import configuration

    config, handler = configuration.explicit()
    assert isinstance(config, OffloadConfig)
    assert (config.table, config.s3_prefix, config.compression) == (
        "orders-state",
        "orders/payloads/",
        "gzip",
    )
    assert callable(handler)


def test_environment_configuration_snippet_applies_at_the_first_invocation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from examples.snippets import configuration

    # The snippet sets these; registering them first makes monkeypatch remove them afterwards.
    for name in ("SFN_OFFLOAD_TABLE", "SFN_OFFLOAD_BUCKET", "SFN_OFFLOAD_S3_PREFIX",
                 "SFN_OFFLOAD_KEEP_INLINE", "SFN_OFFLOAD_DISABLED"):  # fmt: skip
        monkeypatch.setenv(name, "")
    handler = configuration.from_environment()
    assert os.environ["SFN_OFFLOAD_KEEP_INLINE"] == "status,summary.count"
    out: Any = handler({"rows": [1, 2]}, FakeLambdaContext())
    assert out == {"status": "ok", "summary": {"count": 2}, "rows": [1, 2]}
    options = Options.resolve({}, options_from_env())
    assert options.keep_inline == (("status",), ("summary", "count"))
    assert options.disabled is False


def test_unit_test_snippet_runs_on_memory_stores() -> None:
    from examples.snippets import unit_test_memory

    unit_test_memory.test_rows_are_offloaded()
