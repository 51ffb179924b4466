"""The ``local_sfn`` pytest fixture (``pytest_plugins = ["sfn_offload.testing"]``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .kit import LocalStepFunctions

__all__ = ["local_sfn"]


@pytest.fixture
def local_sfn() -> Iterator[LocalStepFunctions]:
    """A started :class:`LocalStepFunctions` (moto, table, bucket, hooks) for one test."""
    with LocalStepFunctions() as local:
        yield local
