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

**Bounded.** Everything is read under a cap on the JSON bytes of one event (default:
:func:`sfn_offload._limits.hydrate_cap`), checked before each request and each body is read.

**Bound to the execution.** References without a digest must name the reading execution's
namespace (see :mod:`sfn_offload._identity`), unless ``cross_execution_reads`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from ._identity import ExecutionIdentity, resolve_identity
from ._keywords import reject_unknown
from ._limits import hydrate_cap
from .distributed.result_writer import raise_for_failures, read_result_writer
from .errors import ForeignDataError, MapRunFailedError, NoItemFound, PayloadTooLargeError
from .storage.reads import Loaded, ReadStats
from .storage.repository import PayloadRepository
from .wire.merkle import key_digest
from .wire.paths import assign, shallow_copy
from .wire.pointer import Pointer
from .wire.references import Reference, find_references, map_run_of

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "HydrateOptions",
    "HydrateResult",
    "ResultWriterMode",
    "hydrate",
    "hydrate_event",
    "resolve",
]

ResultWriterMode = Literal["strict", "tolerant", "off"]
#: What reading a list's digests costs per element, at most (a 0.1.0 list's keys-only listing:
#: 64 hex characters; proof pages hold 32 bytes).
_DIGEST_ROW_BYTES = 64


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
    reader: ExecutionIdentity | None = None,
) -> Resolved:
    """Replace ``references`` (every kind but ``result-writer``) in ``document`` with their data.

    Value references are loaded in one batch (BatchGetItem, concurrent S3); each list is read
    with Query, one request per MB of items. Allow-lists are enforced unless ``trusted``; sizes
    and digests are verified; ``document`` itself is not modified. ``max_bytes`` caps the JSON
    bytes loaded (default :func:`~sfn_offload._limits.hydrate_cap`). With ``reader``, references
    without a digest must name that execution's namespace (:class:`ForeignDataError`); without,
    they are not bound to an execution (the caller vouches for them: an operator's tool).
    """
    max_bytes = hydrate_cap() if max_bytes is None else max_bytes

    def label(ref: Reference) -> str:
        return f"{where} at {ref.jsonpath}" if where else ref.jsonpath

    # One label per reference (a JSONPath string each: built once, not per check).
    named = [(ref, label(ref)) for ref in references]
    if not trusted:  # the allow-lists first: nothing is read for a refused event
        for ref, name in named:
            repo.check_allowed(ref.pointer, name)
    if reader is not None:
        named = [
            (bind(ref, reader, repo, name, trusted=trusted, max_bytes=max_bytes), name)
            for ref, name in named
        ]
        references = [ref for ref, _ in named]
    labels = {id(ref): name for ref, name in named}
    found, stats = _load(references, labels, repo, trusted=trusted, max_bytes=max_bytes)
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


def _load(
    references: Sequence[Reference],
    labels: dict[int, str],
    repo: PayloadRepository,
    *,
    trusted: bool,
    max_bytes: int,
) -> tuple[dict[int, tuple[Any, int]], ReadStats]:
    """The value and JSON size of each reference, by ``id``: value references in one batch,
    then each list with Query, within what the batch left of ``max_bytes``."""
    singles = [ref for ref in references if not ref.is_list]
    loaded = repo.load_many(
        [ref.pointer for ref in singles],
        trusted=trusted,
        max_bytes=max_bytes,
        wheres=[f"{labels[id(ref)]} ({ref.pointer.describe()})" for ref in singles],
        lists=[_list_of(ref) for ref in singles],
    )
    stats = loaded.stats
    found: dict[int, tuple[Any, int]] = {
        id(ref): (value, size)
        for ref, value, size in zip(singles, loaded.values, loaded.json_sizes, strict=True)
    }
    for ref in references:
        if ref.is_list:
            left = max_bytes - stats.json_bytes
            part = _load_list(ref, repo, trusted=trusted, max_bytes=left, where=labels[id(ref)])
            stats.add(part.stats)
            # brackets and commas around the elements
            found[id(ref)] = (part.values, 2 + sum(part.json_sizes) + max(len(part.values) - 1, 0))
    return found, stats


def _list_of(ref: Reference) -> Pointer | None:
    """The list ``ref`` is an element of (its page is read with it), else ``None``."""
    if ref.kind == "py2sfn-map":  # a py2sfn Map event: an index of the list at that key
        return Pointer("dynamodb", ref.pointer.container, ref.pointer.key)
    return ref.parent


def bind(
    ref: Reference,
    reader: ExecutionIdentity,
    repo: PayloadRepository,
    where: str,
    *,
    trusted: bool = False,
    max_bytes: int | None = None,
) -> Reference:
    """``ref`` if ``reader`` may read what it names, else refused with
    :class:`ForeignDataError`.

    A reference with a digest may be read wherever it points (the digest is checked). So may a
    list whose partition key ends in its digest (``:list-<20 hex>``, the decorator's fan-out
    lists): a whole list is checked against it as it is read; an element gets the list's digest
    (one Query of the list's proof pages, which hold every element's digest: refused when those
    alone would pass ``max_bytes``), and is checked against that. Everything else must lie in
    the reader's namespace.
    """
    if ref.verifiable or ref.kind == "result-writer":
        return ref  # a digest vouches for it; ResultWriter output is checked by its reader
    py2sfn = ref.kind in ("py2sfn-map", "py2sfn", "py2sfn-list")
    if reader.admits(ref.pointer.key, py2sfn=py2sfn):
        return ref
    if ref.kind in ("list", "py2sfn-list") and key_digest(ref.pointer.key) is not None:
        return ref  # load_partition checks the elements against the key's digest
    if ref.kind == "element" and ref.list_count and key_digest(ref.pointer.key) is not None:
        if max_bytes is not None and ref.list_count * _DIGEST_ROW_BYTES > max_bytes:
            raise PayloadTooLargeError(
                f"{where}: checking an element of a list of {ref.list_count} against the list's "
                f"digest reads every element's digest, over the {max_bytes}-byte hydration cap"
            )
        if not trusted:
            repo.check_allowed(ref.pointer, where)
        parent = repo.list_by_key_digest(ref.pointer, ref.list_count, where)
        return replace(ref, parent=parent)
    raise ForeignDataError(
        f"{where}: {ref.pointer.describe()} carries no digest and lies outside the namespace of "
        f"the reading {reader.describe()}; only data written for this execution can be read "
        "without a digest (set cross_execution_reads / SFN_OFFLOAD_CROSS_EXECUTION_READS=1 to "
        "share data between executions)"
    )


def _load_list(
    ref: Reference, repo: PayloadRepository, *, trusted: bool, max_bytes: int, where: str
) -> Loaded:
    pointer = ref.pointer
    if not trusted:
        repo.check_allowed(pointer, where)
    if max_bytes < 0:
        raise PayloadTooLargeError(f"{where}: the hydration cap is already used up")
    try:
        return repo.load_partition(
            pointer.container,
            pointer.key,
            count=pointer.count,
            trusted=trusted,
            max_bytes=max_bytes,
            where=f"{where} ({pointer.describe()})",
            root=pointer.sha256,
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


class HydrateOptions(TypedDict, total=False):
    """The optional keywords of :func:`hydrate` and :func:`hydrate_event` (described in
    :func:`hydrate_event`'s docstring)."""

    py2sfn_namespace: str | None
    max_bytes: int | None
    result_writer: ResultWriterMode
    reader: ExecutionIdentity | None


def hydrate_event(
    event: Any,
    repo: PayloadRepository,
    *,
    py2sfn_legacy_namespace: str | None = None,
    **options: Unpack[HydrateOptions],
) -> HydrateResult:
    """Hydrate ``event`` (see the module docstring) and say what was loaded.

    A Distributed Map's ``ResultWriter`` output is replaced by the list of its children's
    outputs (pointers in them hydrated too). With ``result_writer="strict"`` (default) FAILED or
    PENDING children raise :class:`~sfn_offload.errors.MapRunFailedError`; with ``"tolerant"``
    the object becomes ``{"MapRunArn", "succeeded": [...], "failed": [...], "pending": [...]}``;
    ``"off"`` leaves it.

    ``max_bytes`` caps the JSON bytes loaded (default :func:`~sfn_offload._limits.hydrate_cap`).
    ``reader`` is the execution reading (default: found in the event, see
    :func:`~sfn_offload._identity.resolve_identity`); references without a digest must name its
    namespace unless the configuration sets ``cross_execution_reads``.

    ``py2sfn_namespace`` is the namespace local py2sfn Map events (without
    ``items_result_partition_key``) are keyed under (the decorator passes the execution's);
    when their element is not there, ``py2sfn_legacy_namespace`` (py2sfn-task-tools' bare
    execution name) is tried.
    """
    reject_unknown(options, HydrateOptions, "hydrate_event")
    max_bytes = options.get("max_bytes")
    max_bytes = hydrate_cap() if max_bytes is None else max_bytes
    result_writer = options.get("result_writer", "strict")
    reader = options.get("reader") or resolve_identity(event, None)
    bound = None if repo.config.cross_execution_reads else reader
    found = find_references(
        event,
        default_table=repo.config.table or "",
        namespace=options.get("py2sfn_namespace"),
        result_writer=result_writer != "off",
    )
    if not found:
        return HydrateResult(event, ReadStats())
    manifests = [r for r in found if r.kind == "result-writer"]
    direct = [r for r in found if r.kind != "result-writer"]
    try:
        resolved = resolve(event, direct, repo, max_bytes=max_bytes, reader=bound)
    except NoItemFound:
        legacy = _legacy_map_event(event, direct, py2sfn_legacy_namespace)
        if legacy is None:
            raise
        resolved = resolve(event, legacy, repo, max_bytes=max_bytes, reader=bound)
    document, stats = resolved.document, resolved.stats
    copied: set[int] = set()
    for ref in manifests:
        value = _read_results(ref, repo, max_bytes, stats, result_writer, reader, bound)
        document = assign(document, ref.path, value, copied) if ref.path else value
    return HydrateResult(document, stats, resolved.references + tuple(manifests))


def _legacy_map_event(
    event: Any, references: Sequence[Reference], legacy: str | None
) -> list[Reference] | None:
    """The references again, with a local py2sfn Map event keyed in py2sfn-task-tools' own
    namespace (where data it wrote lives), or ``None`` when there is nothing to try."""
    if not legacy or not isinstance(event, Mapping) or event.get("items_result_partition_key"):
        return None
    key = event.get("items_result_key")
    out, changed = [], False
    for ref in references:
        if ref.kind == "py2sfn-map" and isinstance(key, str):
            p = ref.pointer
            alternative = Pointer(p.backend, p.container, f"{legacy}:{key}", p.index)
            out.append(replace(ref, pointer=alternative))
            changed = True
        else:
            out.append(ref)
    return out if changed else None


def _read_results(
    ref: Reference,
    repo: PayloadRepository,
    max_bytes: int,
    stats: ReadStats,
    mode: ResultWriterMode,
    reader: ExecutionIdentity,
    bound: ExecutionIdentity | None,
) -> Any:
    """A ResultWriter output's children's outputs, themselves hydrated (one level deep)."""
    assert ref.node is not None
    # The cap is for the whole event: the result files, then the children's pointers, get what
    # is left.
    left = max_bytes - stats.json_bytes
    if left < 0:
        raise PayloadTooLargeError(
            f"event at {ref.jsonpath}: the event already loaded more than the {max_bytes}-byte "
            "hydration cap"
        )
    runs = read_result_writer(
        ref.node,
        repo,
        trusted=False,
        max_bytes=left,
        reader=bound,
        where=f"event at {ref.jsonpath}",
    )
    stats.json_bytes += runs.bytes_read
    left = max_bytes - stats.json_bytes
    children = hydrate_event(
        runs.succeeded, repo, max_bytes=left, result_writer="off", reader=reader
    )
    stats.add(children.stats)
    runs.succeeded = children.event
    if mode == "strict":
        raise_for_failures(runs)
        return runs.succeeded
    return runs.to_dict()


def hydrate(event: Any, repo: PayloadRepository, **options: Unpack[HydrateOptions]) -> Any:
    """Return ``event`` with every reference replaced by its data.

    The plain-function form of the decorator's first half; :func:`hydrate_event` also returns
    the stats and the Map shape, and documents the arguments.

    >>> from sfn_offload import OffloadConfig
    >>> from sfn_offload.storage import MemoryStore, PayloadRepository
    >>> repo = PayloadRepository(OffloadConfig(table="state"), dynamodb=MemoryStore())
    >>> pointer = repo.write_value("run-1:rows", 0, repo.encode([1, 2, 3])).to_dict()
    >>> hydrate({"rows": pointer, "status": "ok"}, repo)
    {'rows': [1, 2, 3], 'status': 'ok'}
    """
    reject_unknown(options, HydrateOptions, "hydrate")
    return hydrate_event(event, repo, **options).event
