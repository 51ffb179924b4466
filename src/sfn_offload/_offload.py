"""After the handler: keep the result under the state budget by offloading its largest parts.

Fan-out lists are stored by :mod:`._fan_out`, the result measured by :mod:`._sizing`; this
module chooses the parts and writes them.

1. Lists marked for fan-out (returned through :func:`fan_out`, or named by path) are stored
   element by element (py2sfn ``put_items`` layout) and replaced by a list pointer carrying an
   ``items`` placeholder for the Map state's ``ItemsPath``.
2. The result is measured as Step Functions sees it (:func:`~sfn_offload.wire.codec.state_size`
   of its compact UTF-8 JSON), top level first: each member of the result is serialized once, and
   the bytes measured are the bytes stored. Under budget: it is returned as it is, with no I/O.
3. Over budget: parts are offloaded largest first, each replaced by a pointer, until the inline
   remainder fits. A part is a member of the result, or a member of a container that
   ``keep_inline`` paths run through (they and their ancestors stay inline so ``Choice`` states
   can read them); smaller parts inside an offloaded one would never be chosen, so they are not
   measured apart. The whole result becomes one pointer only when nothing smaller fits.

Sizing costs about one serialization of the result, whatever its shape: no part is serialized
twice, no walk is recursive (a deeply nested result is refused by the encoder with
:class:`~sfn_offload.errors.PayloadEncodingError`, not ``RecursionError``) and choosing is a sort,
never a pairwise comparison of parts. Keys are ``<namespace>:<path hint>:<digest prefix>``:
deterministic (a retried task with the same output overwrites itself) and unique per payload
(two states never overwrite each other's data).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from ._fan_out import FanOut, check_fan_outs_fit, fan_out, store_fan_outs
from ._keywords import reject_unknown
from ._sizing import Measured, Part, hint, pointer_cost_base
from .errors import ConfigurationError, PayloadTooLargeError
from .storage.repository import PayloadRepository
from .wire.codec import dumps, state_size
from .wire.paths import Path, assign, exists, get

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "FanOut",
    "OffloadOptions",
    "OffloadResult",
    "OffloadStats",
    "fan_out",
    "offload",
    "offload_result",
    "parse_path",
]


def parse_path(path: str) -> Path:
    """``"summary.rows[0].id"`` or ``"$.summary.rows[0].id"`` -> ``("summary", "rows", 0, "id")``.

    >>> parse_path("$.report.rows[2].total")
    ('report', 'rows', 2, 'total')
    """
    text = path[2:] if path.startswith("$.") else path.lstrip("$")
    parts: list[str | int] = []
    for token in re.finditer(r"([^.\[\]]+)|\[(\d+)\]", text):
        parts.append(int(token.group(2)) if token.group(2) is not None else token.group(1))
    if not parts and path not in ("$", ""):
        raise ConfigurationError(f"cannot parse path {path!r} (use 'a.b[0].c')")
    return tuple(parts)


@dataclass
class OffloadStats:
    """What one offload step did (sizes and counts only)."""

    result_bytes: int = 0
    inline_bytes: int = 0
    budget: int = 0
    offloaded: int = 0
    offloaded_bytes: int = 0
    stored_bytes: int = 0
    fanned_out_lists: int = 0
    fanned_out_elements: int = 0
    whole_result: bool = False
    pointers: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"offloaded {self.offloaded} part(s) ({self.offloaded_bytes} JSON bytes, "
            f"{self.stored_bytes} stored) and {self.fanned_out_lists} fan-out list(s) "
            f"({self.fanned_out_elements} elements); result {self.result_bytes} -> "
            f"{self.inline_bytes} inline bytes, budget {self.budget}: {self.pointers}"
        )

    def metrics(self) -> list[tuple[str, str, int]]:
        """``(name, unit, value)`` of what is worth a metric; empty when nothing was stored."""
        if not (self.offloaded or self.fanned_out_lists):
            return []
        return [
            ("OffloadedParts", "Count", self.offloaded),
            ("OffloadedBytes", "Bytes", self.offloaded_bytes),
            ("FannedOutElements", "Count", self.fanned_out_elements),
        ]


@dataclass(frozen=True)
class OffloadResult:
    """The result to return (parts replaced by pointers where needed) and what was done."""

    result: Any
    stats: OffloadStats


class OffloadOptions(TypedDict, total=False):
    """The optional keywords of :func:`offload` and :func:`offload_result`.

    ``keep_inline``: paths that stay in the state (with their ancestors), for ``Choice`` states
    to read. ``fan_out_paths``: lists stored one element per item, each replaced by a list
    pointer with an ``items`` placeholder for a Map state.
    """

    keep_inline: Sequence[Path]
    fan_out_paths: Sequence[Path]


def offload(
    result: Any,
    repo: PayloadRepository,
    *,
    namespace: str,
    budget: int,
    **options: Unpack[OffloadOptions],
) -> Any:
    """Return ``result`` (or a copy with parts replaced by pointers) that fits ``budget`` bytes.

    The plain-function form of the decorator's second half; :func:`offload_result` also returns
    the stats. The caller's object is never modified.

    >>> from sfn_offload import OffloadConfig
    >>> from sfn_offload.storage import MemoryStore, PayloadRepository
    >>> repo = PayloadRepository(OffloadConfig(table="state"), dynamodb=MemoryStore())
    >>> out = offload({"status": "ok", "rows": list(range(3000))}, repo, namespace="run-1",
    ...               budget=1000, keep_inline=[("status",)])
    >>> out["status"], out["rows"]["backend"]
    ('ok', 'dynamodb')
    """
    reject_unknown(options, OffloadOptions, "offload")
    return offload_result(result, repo, namespace=namespace, budget=budget, **options).result


def offload_result(
    result: Any,
    repo: PayloadRepository,
    *,
    namespace: str,
    budget: int,
    **options: Unpack[OffloadOptions],
) -> OffloadResult:
    """Offload ``result`` to fit ``budget`` bytes (see the module docstring), with the stats."""
    reject_unknown(options, OffloadOptions, "offload_result")
    keep_inline = options.get("keep_inline", ())
    fan_out_paths = options.get("fan_out_paths", ())
    stats = OffloadStats(budget=budget)
    copied: set[int] = set()
    result, fanned, lists = store_fan_outs(result, repo, namespace, fan_out_paths, copied)
    stats.fanned_out_lists = len(lists)
    stats.fanned_out_elements = sum(p.count or 0 for p in lists)
    stats.pointers += [p.describe() for p in lists]
    # A list pointer stays whole: a Map's ItemsPath reads its placeholder array in the state.
    keep_inline = (*keep_inline, *fanned)
    measured = Measured(result, keep_inline)
    result_bytes = stats.result_bytes = stats.inline_bytes = measured.total
    if result_bytes <= budget:
        return OffloadResult(result, stats)
    chosen = _choose(measured, pointer_cost_base(repo, namespace), budget)
    if chosen is None:
        check_fan_outs_fit(result, fanned, budget)
        if keep_inline:
            kept = sum(len(dumps(get(result, p))) for p in keep_inline if exists(result, p))
            raise PayloadTooLargeError(
                f"handler result is {result_bytes} bytes; even with its large parts offloaded the "
                f"inline remainder stays over the {budget}-byte budget (keep_inline paths hold "
                f"{kept} bytes)"
            )
        # Nothing smaller fits: the whole result becomes one pointer.
        chosen = [Part(result_bytes, (), measured.whole())]
        stats.whole_result = True
    del measured  # the JSON of parts that stay inline
    result = _write_parts(result, chosen, repo, namespace, stats, copied)
    return OffloadResult(result, stats)


def _choose(measured: Measured, base_cost: int, budget: int) -> list[Part] | None:
    """The largest parts whose pointers bring the result under ``budget``; ``None`` when even
    all of them do not."""
    total = measured.total
    chosen: list[Part] = []
    for part in measured.parts:
        if total <= budget:
            break
        chosen.append(part)
        total -= part.size - (base_cost + len(hint(part.path)))
    return chosen if total <= budget else None


def _write_parts(
    result: Any,
    chosen: Sequence[Part],
    repo: PayloadRepository,
    namespace: str,
    stats: OffloadStats,
    copied: set[int],
) -> Any:
    """Store ``chosen`` and put their pointers in ``result`` (copied on write)."""
    entries = []
    for part in chosen:
        enc = repo.encode_raw(part.raw)
        entries.append((f"{namespace}:{hint(part.path)}:{enc.sha256[:20]}", enc))
        stats.offloaded_bytes += enc.json_size
        stats.stored_bytes += enc.size
    pointers = repo.write_values(entries)
    inline = stats.result_bytes
    for part, pointer in zip(chosen, pointers, strict=True):
        wire = pointer.to_dict()
        result = assign(result, part.path, wire, copied)
        inline += state_size(dumps(wire)) - part.size  # sizes add up member by member
        stats.pointers.append(pointer.describe())
    stats.offloaded = len(pointers)
    stats.inline_bytes = inline
    return result
