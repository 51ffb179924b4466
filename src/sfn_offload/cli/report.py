"""What an execution carried: references found in state data, resolved and measured.

Plain functions behind the ``sfn-offload`` console script (``show`` and ``inspect``); no click,
no rich, no printing. Each step is usable alone:

- :func:`find_references` walks one JSON document and returns every reference in it, with its
  path: sfn-offload value and list pointers, element references (``sfn_offload_list`` +
  ``sfn_offload_index``), py2sfn-task-tools results (``{"table_name", "partition_key", ...}``,
  which the decorator deliberately leaves alone) and a top-level py2sfn Map-iteration event.
- :func:`resolve` loads them all with one :meth:`PayloadRepository.read_many` call (BatchGetItem,
  concurrent S3, sizes and SHA-256 verified, allow-lists enforced unless ``trusted``) and returns
  the document with the data in place, plus each reference's resolved size.
- :func:`parse_reference` + :func:`load` read the one reference ``show`` is given.

:mod:`sfn_offload.cli.history` applies them to every state of an execution (``inspect``).

>>> rows = {"table_name": "t", "partition_key": "run:rows", "key": "rows"}
>>> refs = find_references({"rows": rows})
>>> [(r.jsonpath, r.kind, r.pointer.describe()) for r in refs]
[('$.rows', 'py2sfn', "dynamodb table 't' partition_key 'run:rows' index 0")]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from .._hydrate import ELEMENT_LIST_KEY, MAP_VALUE_KEY, parse_element_reference
from ..compat.py2sfn import parse_map_iteration
from ..errors import PointerError
from ..storage.repository import PayloadRepository
from ..wire.codec import dumps
from ..wire.paths import Path, assign, jsonpath, shallow_copy
from ..wire.pointer import MARKER, MAX_INDEX, Pointer

__all__ = ["Reference", "find_references", "load", "parse_reference", "resolve"]

ReferenceKind = Literal["pointer", "list", "element", "py2sfn", "py2sfn-list", "py2sfn-map"]

#: The keys a py2sfn-task-tools ``put_item``/``put_items`` result may carry (sfn-offload's
#: ``StateDataClient`` adds ``index``, ``size`` and ``sha256``).
_PY2SFN_FIELDS: Final = frozenset(
    {"table_name", "partition_key", "key", "index", "size", "sha256", "items"}
)
_LIST_KINDS: Final = frozenset({"list", "py2sfn-list"})


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference found in a JSON document.

    Attributes:
        path: where it is in the document (``()`` when the document *is* the reference).
        kind: ``pointer`` (value pointer), ``list`` (fan-out list pointer), ``element`` (a Map
            iteration's element reference), ``py2sfn`` / ``py2sfn-list`` (a py2sfn-task-tools
            ``put_item`` / ``put_items`` result), ``py2sfn-map`` (a py2sfn Map-iteration event,
            whose element goes to ``context_value``).
        pointer: where the data lives (a list pointer for the list kinds).
        resolved_bytes: JSON bytes of the data once loaded (``None`` until resolved).
    """

    path: Path
    kind: ReferenceKind
    pointer: Pointer
    resolved_bytes: int | None = None

    @property
    def jsonpath(self) -> str:
        return jsonpath(self.path)

    @property
    def is_list(self) -> bool:
        """True when the reference stands for a whole list (loaded element by element)."""
        return self.kind in _LIST_KINDS

    @property
    def stored_bytes(self) -> int | None:
        """Stored size the reference records (value pointers and newer py2sfn results)."""
        return self.pointer.size

    def element(self, index: int) -> Reference:
        """The reference to element ``index`` (lists and py2sfn results).

        Raises :class:`PointerError` for a value pointer or an index outside the list.
        """
        if self.kind not in ("list", "py2sfn-list", "py2sfn"):
            raise PointerError(
                f"{self.jsonpath}: an element index applies to list pointers and py2sfn "
                f"results, not to a {self.kind} reference"
            )
        count = self.pointer.count
        if count is not None and not 0 <= index < count:
            raise PointerError(
                f"{self.pointer.describe()}: index {index} is outside the list of {count} "
                f"element(s) (valid: 0..{count - 1})"
            )
        return Reference(self.path, "element", _element(self.pointer, index))

    def loads(self) -> list[Pointer]:
        """The value pointers to read for this reference, in order."""
        if self.is_list:
            return [_element(self.pointer, i) for i in range(self.pointer.count or 0)]
        return [self.pointer]

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form (addresses and sizes; never the data)."""
        p = self.pointer
        out: dict[str, Any] = {"path": self.jsonpath, "kind": self.kind, "backend": p.backend}
        out["table" if p.backend == "dynamodb" else "bucket"] = p.container
        out["key"] = p.key
        out["index"] = None if self.is_list else p.index
        out["count"] = p.count
        out["stored_bytes"] = p.size
        out["resolved_bytes"] = self.resolved_bytes
        return out


def _element(pointer: Pointer, index: int) -> Pointer:
    return Pointer("dynamodb", pointer.container, pointer.key, index, encoding=pointer.encoding)


def _index(value: object, name: str, where: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_INDEX:
        raise PointerError(f"{where}: {name!r} must be an integer in [0, {MAX_INDEX}]")
    return value


def _py2sfn_result(node: Mapping[str, Any]) -> bool:
    table, partition_key = node.get("table_name"), node.get("partition_key")
    return (
        isinstance(table, str)
        and bool(table)
        and isinstance(partition_key, str)
        and bool(partition_key)
        and set(node) <= _PY2SFN_FIELDS
    )


def parse_reference(
    node: object,
    *,
    path: Path = (),
    default_table: str | None = None,
    namespace: str | None = None,
) -> Reference | None:
    """The reference ``node`` is, or ``None`` when it is plain data.

    A malformed pointer raises :class:`PointerError` saying which field is wrong. A py2sfn
    Map-iteration event is recognised at the top level only (``path == ()``); one without
    ``items_result_table_name`` uses ``default_table``, and one without
    ``items_result_partition_key`` needs ``namespace`` (the execution name).
    """
    if not isinstance(node, dict):
        return None
    where = jsonpath(path)
    if MARKER in node:
        pointer = Pointer.from_dict(node, where=where)
        return Reference(path, "list" if pointer.is_list else "pointer", pointer)
    if ELEMENT_LIST_KEY in node:
        lst, element = parse_element_reference(node, where)
        return Reference(path, "list", lst).element(element.index)
    if _py2sfn_result(node):
        table, partition_key = node["table_name"], node["partition_key"]
        items = node.get("items")
        if items is not None:
            if not isinstance(items, list):
                raise PointerError(f"{where}: 'items' must be the placeholder list")
            lst = Pointer("dynamodb", table, partition_key, count=len(items))
            return Reference(path, "py2sfn-list", lst)
        size = node.get("size")
        return Reference(
            path,
            "py2sfn",
            Pointer(
                "dynamodb",
                table,
                partition_key,
                _index(node.get("index", 0), "index", where),
                size=size if type(size) is int else None,
            ),
        )
    if path == () and "context_index" in node and any(k.startswith("items_result_") for k in node):
        it = parse_map_iteration(
            node, need="global" if "items_result_partition_key" in node else "local"
        )
        table = it.table or default_table
        if not table:
            raise PointerError(
                "py2sfn Map-iteration event names no items_result_table_name and no default "
                "table is configured (SFN_OFFLOAD_TABLE or --table)"
            )
        if it.partition_key is None and namespace is None:
            raise PointerError(
                f"py2sfn Map-iteration event names the local list {it.key!r}; its partition key "
                "needs the execution name"
            )
        partition_key = it.partition_key or f"{namespace}:{it.key}"
        pointer = Pointer("dynamodb", table, partition_key, it.index)
        return Reference((MAP_VALUE_KEY,), "py2sfn-map", pointer)
    return None


def find_references(
    document: Any, *, default_table: str | None = None, namespace: str | None = None
) -> list[Reference]:
    """Every reference in ``document``, in document order (see :func:`parse_reference`).

    References are not looked into (a list pointer's ``items`` placeholder is not data).
    """
    found: list[Reference] = []
    stack: list[tuple[Path, Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        ref = parse_reference(node, path=path, default_table=default_table, namespace=namespace)
        if ref is not None:
            found.append(ref)
            if ref.kind != "py2sfn-map":
                continue  # the rest of a Map-iteration event is ordinary data
        if isinstance(node, dict):
            stack.extend(reversed([((*path, k), v) for k, v in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([((*path, i), v) for i, v in enumerate(node)]))
    return found


def resolve(
    document: Any,
    references: Sequence[Reference],
    repo: PayloadRepository,
    *,
    trusted: bool = False,
    where: str = "",
) -> tuple[Any, list[Reference]]:
    """``document`` with every reference replaced by its data, and the references with their
    ``resolved_bytes``.

    One :meth:`PayloadRepository.read_many` call loads everything (checked against the
    allow-lists unless ``trusted``; sizes and digests verified). ``document`` is not modified.
    """
    loads: list[Pointer] = []
    wheres: list[str] = []
    spans: list[tuple[int, int]] = []
    for ref in references:
        pointers = ref.loads()
        spans.append((len(loads), len(pointers)))
        loads.extend(pointers)
        label = " ".join(part for part in (where, ref.path and f"at {ref.jsonpath}") if part)
        wheres.extend(f"{label} ({p.describe()})" if label else p.describe() for p in pointers)
    values = repo.read_many(loads, trusted=trusted, wheres=wheres) if loads else []
    result = shallow_copy(document)
    copied = {id(result)}
    sized = []
    for ref, (first, count) in zip(references, spans, strict=True):
        part = values[first : first + count]
        value = part if ref.is_list else part[0]
        result = assign(result, ref.path, value, copied)
        sized.append(replace(ref, resolved_bytes=len(dumps(value, where=ref.jsonpath))))
    return result, sized


def load(reference: Reference, repo: PayloadRepository, *, trusted: bool = False) -> Any:
    """The data one reference stands for (verified; allow-lists enforced unless ``trusted``)."""
    value, _ = resolve(None, [replace(reference, path=())], repo, trusted=trusted)
    return value
