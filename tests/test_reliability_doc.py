"""docs/RELIABILITY.md claims a guarantee only with the test that proves it: every test it
cites exists (a guarantee whose test was renamed or removed is caught here)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
#: `test_x.py::test_name`, `test_x.py::Class::test_name`, or `::test_name` (the file named last)
CITATION = re.compile(r"`(?P<file>test_\w+\.py)?(?P<names>(?:::\w+)+)`")


def _citations() -> list[tuple[str, str]]:
    found = []
    current = None
    for match in CITATION.finditer(DOC):
        current = match["file"] or current
        assert current, f"{match.group(0)} names no file before it"
        found.append((current, match["names"].lstrip(":")))
    return found


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names |= {
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef)
            }
    return names


def test_the_document_cites_tests() -> None:
    assert len(_citations()) > 100


@pytest.mark.parametrize(("file", "name"), _citations(), ids=str)
def test_every_cited_test_exists(file: str, name: str) -> None:
    path = ROOT / "tests" / file
    assert path.exists(), f"{file} does not exist"
    assert name in _defined(path), f"{file} has no test {name}"
