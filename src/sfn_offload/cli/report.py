"""What an execution carried: references found in state data, resolved and measured.

Plain functions behind the ``sfn-offload`` console script (``show`` and ``inspect``); no click,
no rich, no printing. Each step is usable alone:

- :func:`find_references` returns every reference in one JSON document, with its path (the
  shapes of :mod:`sfn_offload.wire.references`, py2sfn-task-tools ``put_item`` results included,
  which the decorator deliberately leaves alone);
- :func:`resolve` loads them all in one batch, as hydration does (BatchGetItem, concurrent S3,
  sizes and SHA-256 verified, allow-lists enforced unless ``trusted``), and returns the document
  with the data in place, plus each reference's resolved size.
- :func:`parse_reference` + :func:`load` read the one reference ``show`` is given.

:mod:`sfn_offload.cli.history` applies them to every state of an execution (``inspect``).

>>> rows = {"table_name": "t", "partition_key": "run:rows", "key": "rows"}
>>> refs = find_references({"rows": rows})
>>> [(r.jsonpath, r.kind, r.pointer.describe()) for r in refs]
[('$.rows', 'py2sfn', "dynamodb table 't' partition_key 'run:rows' index 0")]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypedDict

from .._hydrate import resolve as resolve_references
from .._identity import ExecutionIdentity
from ..storage.repository import PayloadRepository
from ..wire.paths import Path
from ..wire.references import Reference
from ..wire.references import find_references as wire_find_references
from ..wire.references import parse_reference as wire_parse_reference

__all__ = ["Reference", "find_references", "load", "parse_reference", "resolve"]


def parse_reference(
    node: object, *, path: Path = (), default_table: str | None = None
) -> Reference | None:
    """The reference ``node`` is (py2sfn ``put_item`` results included), or ``None``."""
    return wire_parse_reference(
        node, path=path, default_table=default_table, **_operator_shapes(default_table)
    )


def find_references(
    document: Any, *, default_table: str | None = None, namespace: str | None = None
) -> list[Reference]:
    """Every reference in ``document`` an operator may want to see, in document order."""
    return wire_find_references(
        document,
        default_table=default_table,
        namespace=namespace,
        **_operator_shapes(default_table),
    )


class _Shapes(TypedDict):
    py2sfn_results: bool
    result_writer: bool
    map_results: bool


def _operator_shapes(default_table: str | None) -> _Shapes:
    """The reference shapes an operator looks at: py2sfn ``put_item`` results too (which the
    decorator leaves alone), Map results when a table is known, not ResultWriter manifests."""
    return {
        "py2sfn_results": True,
        "result_writer": False,
        "map_results": default_table is not None,
    }


def resolve(
    document: Any,
    references: Sequence[Reference],
    repo: PayloadRepository,
    *,
    trusted: bool = False,
    where: str = "",
    reader: ExecutionIdentity | None = None,
) -> tuple[Any, list[Reference]]:
    """``document`` with every reference replaced by its data, and the references sized.

    With ``reader``, references without a digest must lie in that execution's namespace.
    """
    done = resolve_references(
        document, references, repo, trusted=trusted, where=where, reader=reader
    )
    return done.document, list(done.references)


def load(reference: Reference, repo: PayloadRepository, *, trusted: bool = False) -> Any:
    """The data one reference stands for (verified; allow-lists enforced unless ``trusted``)."""
    value, _ = resolve(None, [replace(reference, path=())], repo, trusted=trusted)
    return value
