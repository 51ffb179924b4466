"""The built wheel works on its own (installed in a fresh venv with only its base dependencies),
and the README it carries to PyPI links only to absolute addresses.

The rest of the suite runs against the editable install with every extra, so it cannot notice a
module missing from the wheel, an optional dependency imported at module level, or a console
script that needs an extra. Here the wheel is built as for a release, installed with
``pip install --no-deps`` into a new ``python -m venv`` (no system site-packages, no pip of its
own), and its base requirements (read from the wheel's metadata) are installed beside it.

The wheel tests are marked ``packaging``: they run in ``make test``; deselect them with
``-m "not bench and not packaging"`` when iterating.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "https://github.com/sfn-offload/sfn-offload"

packaging = pytest.mark.packaging

# Every public submodule (CHANGELOG: package layout by room) imports with base dependencies only.
PUBLIC_MODULES = (
    "sfn_offload",
    "sfn_offload.errors",
    "sfn_offload.budget",
    "sfn_offload.steps",
    "sfn_offload.wire",
    "sfn_offload.storage",
    "sfn_offload.distributed",
    "sfn_offload.compat.py2sfn",
    "sfn_offload.testing",
    "sfn_offload.cli",
)


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH or active venv pointing at the checkout, no user site-packages; pip's own
    # settings (index, find-links, proxy, certificates, cache under HOME) stay in effect.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    env["PYTHONNOUSERSITE"] = "1"
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _base_requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode("utf-8"))
    return [req for req in metadata.get_all("Requires-Dist") or [] if "extra ==" not in req]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hatchling.builders.wheel import WheelBuilder

    out = tmp_path_factory.mktemp("dist")
    (built,) = WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])
    return Path(built)


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and its base requirements; returns its directory."""
    home = tmp_path_factory.mktemp("venv")
    env_dir = home / "env"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], cwd=home)
    assert made.returncode == 0, made.stderr
    python = str(env_dir / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]

    done = _run([*pip, "--no-deps", str(wheel)], cwd=home)
    assert done.returncode == 0, done.stderr
    done = _run([*pip, *_base_requirements(wheel)], cwd=home)
    assert done.returncode == 0, done.stderr
    return env_dir


@packaging
def test_the_wheel_declares_only_boto3_as_a_base_requirement(wheel: Path) -> None:
    """GIVEN the built wheel WHEN its metadata is read
    THEN boto3 is the only base requirement (Powertools, click, rich and moto are extras)."""
    names = {
        req.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for req in _base_requirements(wheel)
    }
    assert names == {"boto3"}


@packaging
def test_the_wheel_ships_py_typed_and_the_license(wheel: Path) -> None:
    """GIVEN the built wheel WHEN listed THEN it has py.typed, the package and the LICENSE."""
    names = zipfile.ZipFile(wheel).namelist()
    assert "sfn_offload/py.typed" in names
    assert "sfn_offload/__init__.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names


@packaging
def test_given_the_installed_wheel_then_every_public_module_imports(venv: Path) -> None:
    """GIVEN the wheel in a fresh venv with boto3 only
    WHEN every public module is imported THEN it works from the installed copy, not the checkout,
    and no optional dependency was needed."""
    probe = (
        "import importlib, sys\n"
        f"for name in {PUBLIC_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "import sfn_offload\n"
        "print(sfn_offload.__file__)\n"
        "print(len(sfn_offload.__all__))\n"
        "for extra in ('aws_lambda_powertools', 'click', 'rich', 'moto', 'pytest'):\n"
        "    print(extra, extra in sys.modules)\n"
    )
    done = _run([str(venv / "bin" / "python"), "-c", probe], cwd=venv.parent)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert Path(lines[0]).is_relative_to(venv), lines[0]
    assert lines[1] == "15"
    assert lines[2:] == [
        f"{extra} False" for extra in ("aws_lambda_powertools", "click", "rich", "moto", "pytest")
    ]


@packaging
def test_given_the_installed_wheel_then_py_typed_ships(venv: Path) -> None:
    """GIVEN the wheel in a fresh venv WHEN the package's files are read THEN py.typed is one."""
    probe = "import importlib.resources as r; print(r.files('sfn_offload')/'py.typed')"
    done = _run([str(venv / "bin" / "python"), "-c", probe], cwd=venv.parent)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_file()


@packaging
def test_given_no_cli_extra_when_the_console_script_runs_then_it_prints_a_one_line_hint(
    venv: Path,
) -> None:
    """GIVEN the wheel without the cli extra (click is not installed)
    WHEN `sfn-offload --help` runs
    THEN it exits non-zero with one line naming sfn-offload[cli], and no traceback."""
    absent = _run([str(venv / "bin" / "python"), "-c", "import click"], cwd=venv.parent)
    assert absent.returncode != 0  # otherwise this test would prove nothing

    done = _run([str(venv / "bin" / "sfn-offload"), "--help"], cwd=venv.parent)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "sfn-offload[cli]" in lines[0]
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------------------------
# the README as PyPI shows it (no repository beside it, so relative links break)
# --------------------------------------------------------------------------------------------

# [text](target) and [label]: target
_LINK = re.compile(r"\]\(([^)\s]+)\)|^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)


def _readme_links() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    return [a or b for a, b in _LINK.findall(text)]


def test_every_readme_link_is_absolute() -> None:
    """GIVEN the README (the PyPI long description) WHEN its links are listed
    THEN each is an https address or an anchor on the page itself."""
    links = _readme_links()
    assert links, "no links found: the pattern is wrong"
    relative = [link for link in links if not link.startswith(("https://", "#"))]
    assert relative == []


def test_every_readme_link_into_the_repository_names_a_file_that_exists() -> None:
    """GIVEN the README's links into this repository (.../blob/main/..., .../tree/main/...)
    WHEN each path is looked up in this checkout THEN it exists (a file under blob/, a directory
    under tree/)."""
    prefix = re.compile(re.escape(REPOSITORY) + r"/(blob|tree)/main/([^#?]+)")
    broken = []
    for link in _readme_links():
        match = prefix.match(link)
        if match is None:
            continue
        kind, path = match.groups()
        target = ROOT / path
        if not (target.is_file() if kind == "blob" else target.is_dir()):
            broken.append(link)
    assert broken == []
