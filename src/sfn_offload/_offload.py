"""After the handler: keep the result under the state budget by offloading its largest parts.

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

import hashlib
import json
import marshal
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from .errors import ConfigurationError, PayloadEncodingError, PayloadTooLargeError, StateShapeError
from .storage.repository import PayloadRepository
from .wire.codec import Encoded, dumps, dumps_members, state_size
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

#: Parts smaller than this are never worth a pointer (a pointer costs ~250 bytes).
MIN_OFFLOAD_BYTES: Final = 1024
_HINT = re.compile(r"[^A-Za-z0-9._\-]+")

T = TypeVar("T")

# Every FanOut alive in this process, by id. A result is searched for FanOut lists only while
# one exists somewhere: one may be built in a worker thread, another asyncio task, or kept in a
# cache, so the search cannot be tied to a handler; once the lists of earlier invocations are
# gone, results without one cost nothing extra.
_LIVE_FAN_OUTS: weakref.WeakValueDictionary[int, FanOut] = weakref.WeakValueDictionary()


class FanOut(list[Any]):
    """A list to be stored element by element for a Map state (see :func:`fan_out`)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> FanOut:
        # In __new__, not __init__: copy.copy and pickle make instances without __init__.
        self = super().__new__(cls, *args, **kwargs)
        _LIVE_FAN_OUTS[id(self)] = self
        return self


def fan_out(items: Sequence[T]) -> list[T]:
    """Mark ``items`` to be stored one element per item, so a Map state iterates placeholders.

    In the result of a decorated handler the list becomes a list pointer with an ``items``
    placeholder array; each Map iteration then loads only its own element (see the docs'
    ItemSelector).

    >>> rows = fan_out([{"id": 1}, {"id": 2}])
    >>> rows
    [{'id': 1}, {'id': 2}]
    """
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


class _Part:
    """A member of the result that may leave as a pointer: its state size and its JSON."""

    # A plain class: a NamedTuple or dataclass costs a millisecond of import time.
    __slots__ = ("path", "raw", "size")

    def __init__(self, size: int, path: Path, raw: bytes) -> None:
        self.size = size
        self.path = path
        self.raw = raw


class _Measured:
    """A result measured top level first (see the module docstring).

    ``total`` is the result's :func:`~sfn_offload.wire.codec.state_size`, added up member by
    member; ``parts`` are the members worth a pointer, largest first (ties: the shallower, then
    the earlier in the document).
    """

    def __init__(self, result: Any, keep: Sequence[Path]) -> None:
        self.total = 0
        self.parts: list[_Part] = []
        self._root = result
        # The root's members, kept to assemble the whole result's JSON if it must leave whole
        # (only possible without keep paths, when the root is the one container measured).
        self._members: list[tuple[bytes, bytes]] | None = None
        self._whole: bytes | None = None
        if not _expandable(result) or () in keep:  # one part; or keep_inline "$": no parts
            self._whole = dumps(result, where="handler result")
            self.total = state_size(self._whole)
            return
        ranked: list[tuple[int, int, tuple[int, ...], Path, bytes]] = []
        # Containers are measured from their members; only the root and the containers that
        # keep paths run through are opened, so this stack is as deep as the longest keep path.
        stack: list[tuple[Path, tuple[int, ...], Any]] = [((), (), result)]
        while stack:
            path, order, node = stack.pop()
            self.total += self._open(node, path, order, keep, stack, ranked)
        if ranked:
            # Orders are unique, so the sort never compares paths or bytes.
            ranked.sort()
            self.parts = [_Part(-r[0], r[3], r[4]) for r in ranked]

    def _open(
        self,
        node: Any,
        path: Path,
        order: tuple[int, ...],
        keep: Sequence[Path],
        stack: list[tuple[Path, tuple[int, ...], Any]],
        ranked: list[tuple[int, int, tuple[int, ...], Path, bytes]],
    ) -> int:
        """Measure ``node``'s members: candidates go to ``ranked``, members a keep path runs
        through to ``stack``. Returns the size of ``node`` less that of the members on
        ``stack``."""
        depth = len(path)
        is_dict = isinstance(node, dict)
        pairs = list(node.items()) if is_dict else list(enumerate(node))
        stay: set[Any] = set()
        opened: set[Any] = set()
        if keep:
            kept = {k[depth] for k in keep if len(k) == depth + 1 and k[:depth] == path}
            through = {k[depth] for k in keep if len(k) > depth + 1 and k[:depth] == path}
            stay = kept | through
            if through:
                opened = {k for k, v in pairs if k in through - kept and _expandable(v)}
        members = _dumps_members(node, pairs, opened, self._root)
        if not keep:
            self._members = members
        elif opened:
            raws = iter(members)
            members = [(_key_raw(node, k), b"") if k in opened else next(raws) for k, _ in pairs]
        # brackets, ", " between members, ": " after each key
        size = 2 + 2 * max(len(pairs) - 1, 0) + (2 * len(pairs) if is_dict else 0)
        for position, ((key, child), (key_raw, raw)) in enumerate(zip(pairs, members, strict=True)):
            if is_dict:
                size += state_size(key_raw)
            if key in opened:
                stack.append(((*path, key), (*order, position), child))
                continue
            part = state_size(raw)
            size += part
            if (
                part >= MIN_OFFLOAD_BYTES
                and isinstance(child, dict | list | str)
                and key not in stay
            ):
                ranked.append((-part, depth + 1, (*order, position), (*path, key), raw))
        return size

    def whole(self) -> bytes:
        """The whole result's JSON, assembled from what was measured (no second serialization)."""
        if self._whole is not None:
            return self._whole
        if self._members is None:  # keep paths opened more than the root: not assembled
            return dumps(self._root, where="handler result")
        pieces: list[bytes] = []
        if isinstance(self._root, dict):
            for key_raw, raw in self._members:
                pieces += (b",", key_raw, b":", raw)
            pieces[0] = b"{"
            return b"".join([*pieces, b"}"]) if pieces else b"{}"
        for _, raw in self._members:
            pieces += (b",", raw)
        if not pieces:
            return b"[]"
        pieces[0] = b"["
        return b"".join([*pieces, b"]"])


def _expandable(node: Any) -> bool:
    """A container measured member by member: a dict, or a list holding containers.

    A list of scalars is one part (its elements are never worth a pointer each), and so is
    anything the encoder writes through ``_asdict``.
    """
    kind = type(node)
    if kind is dict:  # exact types have no _asdict: no failed attribute lookup
        return True
    if kind is not list and (
        not isinstance(node, dict | list) or callable(getattr(node, "_asdict", None))
    ):
        return False
    return isinstance(node, dict) or any(isinstance(v, dict | list) for v in node)


def _dumps_members(
    node: Any, pairs: Sequence[tuple[Any, Any]], opened: set[Any], root: Any
) -> list[tuple[bytes, bytes]]:
    """The JSON of ``node``'s members but the ``opened`` ones (measured from their own)."""
    if opened:
        if isinstance(node, dict):
            node = {k: v for k, v in pairs if k not in opened}
        else:
            node = [v for i, v in pairs if i not in opened]
    try:
        return dumps_members(node)
    except PayloadEncodingError:
        dumps(root, where="handler result")  # raises, naming the path from the result's root
        raise


def _key_raw(node: Any, key: Any) -> bytes:
    """A dict key's JSON (``b""`` for a list index)."""
    if not isinstance(node, dict):
        return b""
    return dumps_members({key: 0})[0][0]


def _pointer_cost_base(repo: PayloadRepository, namespace: str) -> int:
    """An upper bound of the wire size of a pointer replacing a part, less its path hint.

    The hint (at most 40 of ``[A-Za-z0-9._-]``: no escapes, commas or colons) adds its length.
    """
    cfg = repo.config
    key = f"{cfg.s3_prefix}{namespace}::{'0' * 20}/0"
    container = max(cfg.table or "", cfg.bucket or "", key=len)
    worst = Pointer("dynamodb", container, key, 0, 10**12, "0" * 64, "json+gzip")
    # "backend":"s3" vs "dynamodb", table vs bucket; then a space after each separator
    return state_size(json.dumps(worst.to_dict()).encode()) + 8


def _builtin_types_only(value: Any) -> bool:
    """True when ``value`` holds no instance of a subclass (so no :class:`FanOut`), checked in C:
    ``marshal`` refuses subclasses and types it does not know, and ends on cycles and depth."""
    try:
        marshal.dumps(value, 4)
    except ValueError:
        return False
    return True


def _find_fan_outs(result: Any) -> list[Path]:
    """Where :class:`FanOut` lists are in ``result`` (each container visited once)."""
    found: list[Path] = []
    seen: set[int] = set()
    stack: list[tuple[Path, Any]] = [((), result)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, FanOut):
            found.append(path)
        elif isinstance(node, dict | list) and id(node) not in seen:
            seen.add(id(node))  # a cycle ends here; the encoder refuses it later
            if isinstance(node, dict):
                stack.extend(((*path, k), v) for k, v in node.items())
            else:
                stack.extend(((*path, i), v) for i, v in enumerate(node))
    return found


def _dumps_elements(elements: Sequence[Any], path: Path) -> list[bytes]:
    try:
        return [raw for _, raw in dumps_members(list(elements))]
    except PayloadEncodingError:
        # Messages are built only now, to name the element that failed.
        for i, element in enumerate(elements):
            dumps(element, where=f"result element {i} at {jsonpath((*path, i))}")
        raise


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
    if _LIVE_FAN_OUTS and not _builtin_types_only(result):
        found += [path for path in _find_fan_outs(result) if path not in found]
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
        encoded = [repo.encode_raw(raw) for raw in _dumps_elements(elements, path)]
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
    measured = _Measured(result, keep_inline)
    result_bytes = stats.result_bytes = stats.inline_bytes = measured.total
    if result_bytes <= budget:
        return OffloadResult(result, stats)

    base_cost = _pointer_cost_base(repo, namespace)
    total = result_bytes
    chosen: list[_Part] = []
    for part in measured.parts:
        if total <= budget:
            break
        chosen.append(part)
        total -= part.size - (base_cost + len(_hint(part.path)))
    if total > budget:
        _check_fan_outs_fit(result, fanned, budget)
        if keep_inline:
            kept = sum(len(dumps(get(result, p))) for p in keep_inline if exists(result, p))
            raise PayloadTooLargeError(
                f"handler result is {result_bytes} bytes; even with its large parts offloaded the "
                f"inline remainder stays over the {budget}-byte budget (keep_inline paths hold "
                f"{kept} bytes)"
            )
        # Nothing smaller fits: the whole result becomes one pointer.
        chosen = [_Part(result_bytes, (), measured.whole())]
        stats.whole_result = True
    del measured  # the JSON of parts that stay inline

    entries = []
    for part in chosen:
        enc = repo.encode_raw(part.raw)
        entries.append((f"{namespace}:{_hint(part.path)}:{enc.sha256[:20]}", enc))
        stats.offloaded_bytes += enc.json_size
        stats.stored_bytes += enc.size
    pointers = repo.write_values(entries)
    inline = result_bytes
    for part, pointer in zip(chosen, pointers, strict=True):
        wire = pointer.to_dict()
        result = assign(result, part.path, wire, copied)
        inline += state_size(dumps(wire)) - part.size  # sizes add up member by member
        stats.pointers.append(pointer.describe())
    stats.offloaded = len(pointers)
    stats.inline_bytes = inline
    return OffloadResult(result, stats)
