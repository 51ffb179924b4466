"""Importing sfn_offload has no side effects, and its public surface is deliberate."""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import sfn_offload

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter with no AWS settings at all. It pre-imports boto3/botocore only to
# install spies, then imports sfn_offload and reports what the import did.
_PROBE = textwrap.dedent(
    """
    import collections.abc, json, os, socket, sys, threading

    class EnvSpy(collections.abc.MutableMapping):
        def __init__(self, real):
            self.real, self.read = real, []
        def __getitem__(self, key):
            self.read.append(key)
            return self.real[key]
        def __setitem__(self, key, value):
            self.real[key] = value
        def __delitem__(self, key):
            del self.real[key]
        def __iter__(self):
            return iter(self.real)
        def __len__(self):
            return len(self.real)
        def copy(self):
            return dict(self.real)

    import boto3, boto3.session, botocore.client, botocore.session

    created = []
    def spy(cls, label):
        original = cls.__init__
        def init(self, *args, **kwargs):
            created.append(label)
            original(self, *args, **kwargs)
        cls.__init__ = init
    spy(botocore.client.BaseClient, "client")
    spy(botocore.session.Session, "botocore session")
    spy(boto3.session.Session, "boto3 session")

    connects = []
    socket.socket.connect = lambda self, address: connects.append(str(address))

    threads_before = threading.active_count()
    os.environ = spy_env = EnvSpy(os.environ)
    import sfn_offload
    os.environ = spy_env.real

    print(json.dumps({
        "created": created,
        "default_session": boto3.DEFAULT_SESSION is not None,
        "connects": connects,
        "threads": threading.active_count() - threads_before,
        "thread_names": [t.name for t in threading.enumerate()],
        "env_read": sorted(set(spy_env.read)),
    }))
    """
)


@pytest.fixture(scope="module")
def import_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    home = tmp_path_factory.mktemp("home")  # no ~/.aws/config to find either
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PYTHONNOUSERSITE": "1",
        # would make any configuration read at import raise ConfigurationError
        "SFN_OFFLOAD_TABLE": "!",
        "SFN_OFFLOAD_TTL_DAYS": "not-a-number",
        "SFN_DATA_S3_BUCKET": "NOT_A_BUCKET",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=str(home),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_given_no_region_credentials_or_config_then_import_succeeds(
    import_report: dict[str, object],
) -> None:
    assert isinstance(import_report, dict)  # the fixture asserted a clean exit


def test_given_an_import_then_no_boto3_client_or_session_is_created(
    import_report: dict[str, object],
) -> None:
    assert import_report["created"] == []
    assert import_report["default_session"] is False


def test_given_an_import_then_no_network_connection_is_attempted(
    import_report: dict[str, object],
) -> None:
    assert import_report["connects"] == []


def test_given_an_import_then_no_thread_is_started(import_report: dict[str, object]) -> None:
    assert import_report["threads"] == 0, import_report["thread_names"]


def test_given_an_import_then_no_sfn_offload_or_py2sfn_variable_is_read(
    import_report: dict[str, object],
) -> None:
    read = import_report["env_read"]
    assert isinstance(read, list)
    ours = [
        name
        for name in read
        if name.startswith(("SFN_OFFLOAD_", "SFN_DATA_")) or name.endswith("_ENDPOINT_URL")
    ]
    assert ours == []


# --------------------------------------------------------------------------------------------
# public surface
# --------------------------------------------------------------------------------------------


def _isort_style(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then CamelCase classes, then everything else.
    group = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return group, name


def test_all_is_sorted() -> None:
    assert sfn_offload.__all__ == sorted(sfn_offload.__all__, key=_isort_style)


def test_all_has_no_duplicates() -> None:
    assert len(sfn_offload.__all__) == len(set(sfn_offload.__all__))


def test_every_name_in_all_exists() -> None:
    missing = [name for name in sfn_offload.__all__ if not hasattr(sfn_offload, name)]
    assert missing == []


def test_every_public_name_is_in_all() -> None:
    public = {
        name
        for name, obj in vars(sfn_offload).items()
        if not name.startswith("_") and not inspect.ismodule(obj)
    }
    assert public - set(sfn_offload.__all__) == set()


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from sfn_offload import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(sfn_offload.__all__)


#: The documented public modules (docs/architecture.md); the rest are private (``_`` prefix) or
#: internal to these packages.
PUBLIC_MODULES = [
    "sfn_offload.errors",
    "sfn_offload.budget",
    "sfn_offload.steps",
    "sfn_offload.wire",
    "sfn_offload.wire.references",
    "sfn_offload.storage",
    "sfn_offload.distributed",
    "sfn_offload.compat.py2sfn",
    "sfn_offload.checks",
    "sfn_offload.testing",
]


def test_the_top_level_is_the_small_everyday_api() -> None:
    assert sorted(sfn_offload.__all__) == sorted(
        [
            "ConfigurationError",
            "NoItemFound",
            "OffloadConfig",
            "PayloadTooLargeError",
            "PointerError",
            "SfnOffloadError",
            "StateDataClient",
            "StateDataClientError",
            "StopExecution",
            "TaskContext",
            "__version__",
            "fan_out",
            "hydrate",
            "offload",
            "state_offload",
        ]
    )


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_module_exports_exactly_what_its_all_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_style)
    assert [n for n in exported if not hasattr(module, n)] == []
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(exported)


def test_the_package_is_typed() -> None:
    marker = importlib.resources.files("sfn_offload").joinpath("py.typed")
    assert marker.is_file()


def test_the_built_wheel_ships_py_typed(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    names = zipfile.ZipFile(wheel).namelist()
    assert "sfn_offload/py.typed" in names
    assert "sfn_offload/__init__.py" in names
