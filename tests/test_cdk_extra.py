"""The ``cdk`` extra installs every distribution ``sfn_offload.cdk`` imports (Node.js aside,
which no Python package brings)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "src" / "sfn_offload" / "cdk"


def _extra(name: str) -> set[str]:
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"][
        "optional-dependencies"
    ]
    return {re.split(r"[<>=!~;]", req)[0].strip().lower() for req in extras[name]}


def _third_party_imports() -> set[str]:
    modules = set()
    for path in CDK.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m != "__future__"}


def test_the_cdk_extra_lists_every_distribution_the_construct_imports() -> None:
    imported = _third_party_imports()
    assert imported == {"aws_cdk", "constructs"}
    owners = packages_distributions()
    missing = [m for m in imported if m not in owners]
    if missing:
        pytest.skip(f"the cdk extra is not installed here ({missing}): nothing to map")
    extra = _extra("cdk")
    for module in imported:  # aws_cdk is shared by aws-cdk-lib and its own dependencies
        assert {d.lower() for d in owners[module]} & extra, f"no distribution of {module} in cdk"


def test_the_test_extra_brings_the_cdk_extra() -> None:
    [own] = [req for req in _extra("test") if req.startswith("sfn-offload[")]
    assert "cdk" in own.removeprefix("sfn-offload[").rstrip("]").split(",")
