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
from dataclasses import dataclass
from typing import Any, Literal

from .distributed.result_writer import raise_for_failures, read_result_writer
from .errors import MapRunFailedError, NoItemFound, PayloadTooLargeError
from .storage.reads import Loaded, ReadStats
from .storage.repository import PayloadRepository
from .wire.paths import assign, shallow_copy
from .wire.references import Reference, find_references, map_run_of

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
    """Replace ``references`` (every kind but ``result-writer``) in ``document`` with their data.

    Value references are loaded in one batch (BatchGetItem, concurrent S3); each list is read
    with Query, one request per MB of items. Allow-lists are enforced unless ``trusted``; sizes
    and digests are verified; ``document`` itself is not modified.
    """
    singles = [ref for ref in references if not ref.is_list]
    labels = {
        id(ref): f"{where} at {ref.jsonpath}" if where else ref.jsonpath for ref in references
    }
    loaded = repo.load_many(
        [ref.pointer for ref in singles],
        trusted=trusted,
        max_bytes=max_bytes,
        wheres=[f"{labels[id(ref)]} ({ref.pointer.describe()})" for ref in singles],
    )
    stats = loaded.stats
    found: dict[int, tuple[Any, int]] = {
        id(ref): (value, size)
        for ref, value, size in zip(singles, loaded.values, loaded.json_sizes, strict=True)
    }
    for ref in references:
        if ref.is_list:
            left = None if max_bytes is None else max_bytes - stats.json_bytes
            part = _load_list(ref, repo, trusted=trusted, max_bytes=left, where=labels[id(ref)])
            stats.add(part.stats)
            # brackets and commas around the elements
            found[id(ref)] = (part.values, 2 + sum(part.json_sizes) + max(len(part.values) - 1, 0))
    result = shallow_copy(document)
    copied = {id(result)}
    sized = []
    for ref in references:
        value, size = found[id(ref)]
        result = assign(result, ref.path, value, copied) if ref.path else value
        # Built directly: dataclasses.replace costs more than hydrating a small payload.
        sized.append(
            Reference(
                ref.path,
                ref.kind,
                ref.pointer,
                list_count=ref.list_count,
                node=ref.node,
                resolved_bytes=size,
            )
        )
    return Resolved(result, tuple(sized), stats)


def _load_list(
    ref: Reference, repo: PayloadRepository, *, trusted: bool, max_bytes: int | None, where: str
) -> Loaded:
    pointer = ref.pointer
    if not trusted:
        repo.check_allowed(pointer, where)
    if max_bytes is not None and max_bytes < 0:
        raise PayloadTooLargeError(f"{where}: the hydration cap is already used up")
    try:
        return repo.load_partition(
            pointer.container,
            pointer.key,
            count=pointer.count,
            trusted=trusted,
            max_bytes=max_bytes,
            where=f"{where} ({pointer.describe()})",
        )
    except NoItemFound as exc:
        if ref.kind != "map-results":
            raise
        run = map_run_of(ref)
        raise MapRunFailedError(
            f"{where}: {run.describe()} has no stored result for some of its {pointer.count} "
            f"iterations ({exc}): they failed, did not run, or their last state is not a "
            "decorated task (see docs/maps.md)"
        ) from exc


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
