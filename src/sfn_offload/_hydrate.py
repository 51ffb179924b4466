"""Before the handler: replace every reference in an event by its data, in one batch.

The references (value and list pointers, element references, a py2sfn Map-iteration event, a
Distributed Map's ResultWriter output) are recognised by :mod:`sfn_offload.wire.references`.
All DynamoDB items of one event are fetched with BatchGetItem (ceil(N/100) requests) and S3
objects concurrently; digests are verified; references are checked against the allow-lists
before any request. Loaded data is never scanned again (a payload holding pointer-shaped data
stays as it is: no recursion bombs). The caller's event is not modified: containers on the way
to a reference are copied.

A py2sfn Map-iteration event's element goes to ``event["context_value"]`` (where py2sfn's
placeholder ``1`` was); its ``items_result_*`` keys stay, so ``get_item_for_map_iteration(event)``
keeps working. py2sfn ``put_item`` results are left alone (they carry no marker; handlers call
``get_item(...)`` on them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from .distributed.result_writer import raise_for_failures, read_result_writer
from .errors import PayloadTooLargeError
from .storage.reads import ReadStats
from .storage.repository import PayloadRepository
from .wire.paths import assign, shallow_copy
from .wire.pointer import Pointer
from .wire.references import Reference, find_references

__all__ = ["HydrateResult", "ResultWriterMode", "hydrate", "hydrate_event", "resolve"]

ResultWriterMode = Literal["strict", "tolerant", "off"]


@dataclass(frozen=True)
class HydrateResult:
    """What hydration produced and learned.

    Attributes:
        event: the event with every reference replaced by its data (the input itself when it
            held none).
        stats: requests and bytes of the loads.
        references: every reference found, with its resolved JSON size.
    """

    event: Any
    stats: ReadStats
    references: tuple[Reference, ...] = ()

    @property
    def map_iterations(self) -> int:
        """The iteration count of the Map this event is an iteration of (1 when it is not one).

        Known when the event holds an element reference: the list it indexes has one element
        per iteration.
        """
        counts = [r.list_count or 0 for r in self.references if r.kind == "element"]
        return max(counts, default=1) or 1


@dataclass(frozen=True)
class Resolved:
    """A document with its references replaced, the references sized, and the load's stats."""

    document: Any
    references: tuple[Reference, ...]
    stats: ReadStats


def resolve(
    document: Any,
    references: Sequence[Reference],
    repo: PayloadRepository,
    *,
    trusted: bool = False,
    max_bytes: int | None = None,
    where: str = "event",
) -> Resolved:
    """Replace ``references`` (value, list and element kinds) in ``document`` with their data.

    One batch load for all of them (allow-lists enforced unless ``trusted``; sizes and digests
    verified); ``document`` itself is not modified.
    """
    loads: list[Pointer] = []
    wheres: list[str] = []
    spans: list[tuple[int, int]] = []
    for ref in references:
        pointers = ref.loads()
        spans.append((len(loads), len(pointers)))
        loads.extend(pointers)
        label = f"{where} at {ref.jsonpath}" if where else ref.jsonpath
        if ref.is_list:
            wheres.extend(f"{label} element {p.index}" for p in pointers)
        else:
            wheres.extend(f"{label} ({p.describe()})" for p in pointers)
    loaded = repo.load_many(loads, trusted=trusted, max_bytes=max_bytes, wheres=wheres)
    result = shallow_copy(document)
    copied = {id(result)}
    sized = []
    for ref, (first, count) in zip(references, spans, strict=True):
        part = loaded.values[first : first + count]
        sizes = loaded.json_sizes[first : first + count]
        if ref.is_list:
            value: Any = part
            size = 2 + sum(sizes) + max(count - 1, 0)  # brackets and commas
        else:
            value, size = part[0], sizes[0]
        result = assign(result, ref.path, value, copied) if ref.path else value
        sized.append(replace(ref, resolved_bytes=size))
    return Resolved(result, tuple(sized), loaded.stats)


def hydrate_event(
    event: Any,
    repo: PayloadRepository,
    *,
    py2sfn_namespace: str | None = None,
    max_bytes: int | None = None,
    result_writer: ResultWriterMode = "strict",
) -> HydrateResult:
    """Hydrate ``event`` (see the module docstring) and say what was loaded.

    A Distributed Map's ``ResultWriter`` output is replaced by the list of its children's
    outputs (pointers in them hydrated too). With ``result_writer="strict"`` (default) FAILED or
    PENDING children raise :class:`~sfn_offload.errors.MapRunFailedError`; with ``"tolerant"``
    the object becomes ``{"MapRunArn", "succeeded": [...], "failed": [...], "pending": [...]}``;
    ``"off"`` leaves it.

    ``py2sfn_namespace`` is the execution name that local py2sfn Map events (without
    ``items_result_partition_key``) are keyed under.
    """
    found = find_references(
        event,
        default_table=repo.config.table or "",
        namespace=py2sfn_namespace,
        result_writer=result_writer != "off",
    )
    if not found:
        return HydrateResult(event, ReadStats())
    manifests = [r for r in found if r.kind == "result-writer"]
    direct = [r for r in found if r.kind != "result-writer"]
    resolved = resolve(event, direct, repo, max_bytes=max_bytes)
    document, stats = resolved.document, resolved.stats
    copied: set[int] = set()
    for ref in manifests:
        value = _read_results(ref, repo, max_bytes, stats, result_writer)
        document = assign(document, ref.path, value, copied) if ref.path else value
    return HydrateResult(document, stats, resolved.references + tuple(manifests))


def _read_results(
    ref: Reference,
    repo: PayloadRepository,
    max_bytes: int | None,
    stats: ReadStats,
    mode: ResultWriterMode,
) -> Any:
    """A ResultWriter output's children's outputs, themselves hydrated (one level deep)."""
    assert ref.node is not None
    runs = read_result_writer(ref.node, repo, trusted=False)
    # The cap is for the whole event: the children's pointers get what is left.
    left = None if max_bytes is None else max_bytes - stats.json_bytes
    if left is not None and left < 0:
        raise PayloadTooLargeError(
            f"event at {ref.jsonpath}: the event already loaded {stats.json_bytes} bytes, over "
            f"the {max_bytes}-byte hydration cap"
        )
    children = hydrate_event(runs.succeeded, repo, max_bytes=left, result_writer="off")
    stats.add(children.stats)
    runs.succeeded = children.event
    if mode == "strict":
        raise_for_failures(runs)
        return runs.succeeded
    return runs.to_dict()


def hydrate(
    event: Any,
    repo: PayloadRepository,
    *,
    py2sfn_namespace: str | None = None,
    max_bytes: int | None = None,
    result_writer: ResultWriterMode = "strict",
) -> Any:
    """Return ``event`` with every reference replaced by its data.

    The plain-function form of the decorator's first half; :func:`hydrate_event` also returns
    the stats and the Map shape.

    >>> from sfn_offload import OffloadConfig
    >>> from sfn_offload.storage import MemoryStore, PayloadRepository
    >>> repo = PayloadRepository(OffloadConfig(table="state"), dynamodb=MemoryStore())
    >>> pointer = repo.write_value("run-1:rows", 0, repo.encode([1, 2, 3])).to_dict()
    >>> hydrate({"rows": pointer, "status": "ok"}, repo)
    {'rows': [1, 2, 3], 'status': 'ok'}
    """
    return hydrate_event(
        event,
        repo,
        py2sfn_namespace=py2sfn_namespace,
        max_bytes=max_bytes,
        result_writer=result_writer,
    ).event
