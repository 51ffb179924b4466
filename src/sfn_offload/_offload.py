"""After the handler: keep the result under the state budget by offloading its largest parts.

1. Lists marked for fan-out (returned through :func:`fan_out`, or named by path) are stored
   element by element (py2sfn ``put_items`` layout) and replaced by a list pointer carrying an
   ``items`` placeholder for the Map state's ``ItemsPath``.
2. The result is measured as Step Functions sees it (compact UTF-8 JSON bytes). Under budget: it
   is returned as it is, with no I/O.
3. Over budget: subtrees are offloaded largest first, each replaced by a pointer, until the
   inline remainder fits. ``keep_inline`` paths (and their ancestors) stay inline so ``Choice``
   states can read them. The whole result becomes one pointer only when nothing smaller fits.

Each offloaded subtree is serialized once: the bytes measured are the bytes stored. Keys are
``<namespace>:<path hint>:<digest prefix>``: deterministic (a retried task with the same output
overwrites itself) and unique per payload (two states never overwrite each other's data).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from .errors import ConfigurationError, PayloadTooLargeError, StateShapeError
from .storage.repository import PayloadRepository
from .wire.codec import Encoded, dumps, state_size
from .wire.paths import Path, assign, exists, get, jsonpath
from .wire.pointer import Pointer

__all__ = [
    "FanOut",
    "OffloadResult",
    "OffloadStats",
    "fan_out",
    "offload",
    "offload_result",
    "parse_path",
]

#: Subtrees smaller than this are never worth a pointer (a pointer costs ~250 bytes).
MIN_OFFLOAD_BYTES: Final = 1024
_HINT = re.compile(r"[^A-Za-z0-9._\-]+")

T = TypeVar("T")

# Set (never reset) the first time fan_out() runs in this process: results are only walked for
# FanOut lists once the helper has been used at all. It is process-wide because a list may be
# built in a worker thread, another asyncio task, or kept in a cache.
_FAN_OUT_EVER_USED = threading.Event()


class FanOut(list[Any]):
    """A list to be stored element by element for a Map state (see :func:`fan_out`)."""


def fan_out(items: Sequence[T]) -> list[T]:
    """Mark ``items`` to be stored one element per item, so a Map state iterates placeholders.

    In the result of a decorated handler the list becomes a list pointer with an ``items``
    placeholder array; each Map iteration then loads only its own element (see the docs'
    ItemSelector).

    >>> rows = fan_out([{"id": 1}, {"id": 2}])
    >>> rows
    [{'id': 1}, {'id': 2}]
    """
    _FAN_OUT_EVER_USED.set()
    return FanOut(items)


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


def _hint(path: Path) -> str:
    text = ".".join(str(p) for p in path) or "result"
    return _HINT.sub("_", text)[:40]


def _sizes(node: Any, path: Path, out: list[tuple[int, Path]]) -> int:
    """:func:`~sfn_offload.wire.codec.state_size` of ``node``'s JSON, computed part by part
    (the same count: a space after every comma and colon), recording containers and long
    strings."""
    if isinstance(node, dict):
        size = 2 + 2 * max(len(node) - 1, 0)  # braces, then ", " between members
        for key, value in node.items():
            size += _key_size(key) + 2 + _sizes(value, (*path, key), out)  # ": "
    elif isinstance(node, list):
        if all(not isinstance(v, dict | list) for v in node):
            size = state_size(dumps(node))  # a flat list: measured in one C call
            if size >= MIN_OFFLOAD_BYTES:
                out.append((size, path))
            return size
        size = 2 + 2 * max(len(node) - 1, 0)
        for i, value in enumerate(node):
            size += _sizes(value, (*path, i), out)
    else:
        size = state_size(dumps(node))
        if not isinstance(node, str):
            return size
    if size >= MIN_OFFLOAD_BYTES:
        out.append((size, path))
    return size


def _key_size(key: Any) -> int:
    """State size of a dict key as written: non-string keys (``1``, ``True``) become strings."""
    if isinstance(key, str):
        return state_size(dumps(key))
    return state_size(dumps({key: 0})) - 5  # '{' + ':0' + '}' around the quoted key


def _pointer_cost(repo: PayloadRepository, namespace: str, path: Path) -> int:
    """An upper bound of the wire size of the pointer that will replace ``path``."""
    cfg = repo.config
    key = f"{cfg.s3_prefix}{namespace}:{_hint(path)}:{'0' * 20}/0"
    container = max(cfg.table or "", cfg.bucket or "", key=len)
    worst = Pointer("dynamodb", container, key, 0, 10**12, "0" * 64, "json+gzip")
    # "backend":"s3" vs "dynamodb", table vs bucket; then a space after each separator
    return state_size(json.dumps(worst.to_dict()).encode()) + 8


def _conflicts(path: Path, keep: Sequence[Path]) -> bool:
    """True when offloading ``path`` would move a keep-inline path out of the state."""
    return any(k[: len(path)] == path or path[: len(k)] == k for k in keep)


def _store_fan_outs(
    result: Any,
    repo: PayloadRepository,
    namespace: str,
    paths: Sequence[Path],
    stats: OffloadStats,
    copied: set[int],
) -> tuple[Any, list[Path]]:
    """Store the fan-out lists of ``result``; returns it with list pointers in their place, and
    where those pointers are (the outermost ones: inner lists are stored inside outer ones)."""
    found: list[Path] = []
    for path in paths:
        try:
            node = get(result, path)
        except (KeyError, IndexError, TypeError):
            continue  # an optional field the handler did not return this time
        if isinstance(node, list):
            found.append(path)
    if _FAN_OUT_EVER_USED.is_set():
        stack: list[tuple[Path, Any]] = [((), result)]
        while stack:
            path, node = stack.pop()
            if isinstance(node, FanOut):
                if path not in found:
                    found.append(path)
            elif isinstance(node, dict):
                stack.extend(((*path, k), v) for k, v in node.items())
            elif isinstance(node, list):
                stack.extend(((*path, i), v) for i, v in enumerate(node))
    if not found:
        return result, []
    table = repo.config.table
    if not table:
        raise ConfigurationError(
            "fan-out stores one DynamoDB item per element and needs a table: set SFN_OFFLOAD_TABLE"
        )
    # Deepest first: an inner list must be stored before an outer one replaces its container.
    found.sort(key=len, reverse=True)
    for path in found:
        elements = get(result, path)
        raws = [
            dumps(e, where=f"result element {i} at {jsonpath((*path, i))}")
            for i, e in enumerate(elements)
        ]
        encoded = [repo.encode_raw(raw) for raw in raws]
        digest = _list_digest(encoded)
        partition_key = f"{namespace}:{_hint(path)}:list-{digest}"
        repo.write_items(table, partition_key, encoded)
        pointer = Pointer("dynamodb", table, partition_key, count=len(elements))
        result = assign(result, path, pointer.to_dict(with_items=True), copied)
        stats.fanned_out_lists += 1
        stats.fanned_out_elements += len(elements)
        stats.pointers.append(pointer.describe())
    outermost = [p for p in found if not any(q != p and p[: len(q)] == q for q in found)]
    return result, outermost


def _check_fan_outs_fit(result: Any, fanned: Sequence[Path], budget: int) -> None:
    placeholders = sum(state_size(dumps(get(result, path))) for path in fanned)
    if placeholders > budget:
        counts = ", ".join(f"{jsonpath(p)} ({get(result, p)['count']} elements)" for p in fanned)
        raise StateShapeError(
            f"fan-out list pointers {counts} take {placeholders} bytes with their placeholder "
            f"arrays, more than the {budget} bytes the state leaves: an Inline Map cannot iterate "
            "a list this long from the state; write it with sfn_offload.distributed."
            "write_item_file for a Distributed Map's ItemReader (docs/distributed-map.md)"
        )


def _list_digest(encoded: Sequence[Encoded]) -> str:
    import hashlib

    h = hashlib.sha256()
    for enc in encoded:
        h.update(enc.sha256.encode("ascii"))
    return h.hexdigest()[:20]


@dataclass(frozen=True)
class OffloadResult:
    """The result to return (parts replaced by pointers where needed) and what was done."""

    result: Any
    stats: OffloadStats


def offload(
    result: Any,
    repo: PayloadRepository,
    *,
    namespace: str,
    budget: int,
    keep_inline: Sequence[Path] = (),
    fan_out_paths: Sequence[Path] = (),
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
    return offload_result(
        result,
        repo,
        namespace=namespace,
        budget=budget,
        keep_inline=keep_inline,
        fan_out_paths=fan_out_paths,
    ).result


def offload_result(
    result: Any,
    repo: PayloadRepository,
    *,
    namespace: str,
    budget: int,
    keep_inline: Sequence[Path] = (),
    fan_out_paths: Sequence[Path] = (),
) -> OffloadResult:
    """Offload ``result`` to fit ``budget`` bytes (see the module docstring), with the stats."""
    stats = OffloadStats(budget=budget)
    copied: set[int] = set()
    result, fanned = _store_fan_outs(result, repo, namespace, fan_out_paths, stats, copied)
    # A list pointer stays whole: a Map's ItemsPath reads its placeholder array in the state.
    keep_inline = (*keep_inline, *fanned)
    # Only the size is kept: measuring and storing parts serializes them anew, and holding this
    # copy too would add a whole payload to peak memory.
    result_bytes = stats.result_bytes = stats.inline_bytes = state_size(
        dumps(result, where="handler result")
    )
    if result_bytes <= budget:
        return OffloadResult(result, stats)

    candidates: list[tuple[int, Path]] = []
    total = _sizes(result, (), candidates)
    candidates.sort(key=lambda c: (-c[0], len(c[1])))
    chosen: list[Path] = []
    for size, path in candidates:
        if total <= budget:
            break
        if not path or _conflicts(path, keep_inline):
            continue
        if any(path[: len(p)] == p for p in chosen):
            continue  # inside a subtree already offloaded
        if any(p[: len(path)] == path for p in chosen):
            continue  # would swallow an already chosen child: sizes no longer add up
        chosen.append(path)
        total -= size - _pointer_cost(repo, namespace, path)
    if total > budget:
        _check_fan_outs_fit(result, fanned, budget)
        if keep_inline:
            kept = sum(len(dumps(get(result, p))) for p in keep_inline if exists(result, p))
            raise PayloadTooLargeError(
                f"handler result is {result_bytes} bytes; even with its large parts offloaded the "
                f"inline remainder stays over the {budget}-byte budget (keep_inline paths hold "
                f"{kept} bytes)"
            )
        chosen = [()]  # nothing smaller fits: the whole result becomes one pointer
        stats.whole_result = True

    entries = []
    for path in chosen:
        part_raw = dumps(get(result, path))
        enc = repo.encode_raw(part_raw)
        entries.append((f"{namespace}:{_hint(path)}:{enc.sha256[:20]}", enc))
        stats.offloaded_bytes += enc.json_size
        stats.stored_bytes += enc.size
    pointers = repo.write_values(entries)
    for path, pointer in zip(chosen, pointers, strict=True):
        result = assign(result, path, pointer.to_dict(), copied)
        stats.pointers.append(pointer.describe())
    stats.offloaded = len(pointers)
    stats.inline_bytes = state_size(dumps(result, where="handler result"))
    return OffloadResult(result, stats)
