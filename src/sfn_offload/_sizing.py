"""Measuring a result as Step Functions sees it, top level first, to choose the parts to offload.

Each member is serialized once (:func:`~sfn_offload.wire.codec.dumps_members`): the bytes
measured are the bytes stored, and the whole result's JSON is assembled from them when it must
leave whole. See :mod:`sfn_offload._offload` for the rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

from .errors import PayloadEncodingError
from .storage.repository import PayloadRepository
from .wire.codec import dumps, dumps_members, state_size
from .wire.paths import Path
from .wire.pointer import Pointer

__all__ = ["MIN_OFFLOAD_BYTES", "Measured", "Part", "hint", "pointer_cost_base"]

#: Parts smaller than this are never worth a pointer (a pointer costs ~250 bytes).
MIN_OFFLOAD_BYTES: Final = 1024
_HINT: Final = re.compile(r"[^A-Za-z0-9._\-]+")


def hint(path: Path) -> str:
    """The path as a key hint: at most 40 of ``[A-Za-z0-9._-]``."""
    text = ".".join(str(p) for p in path) or "result"
    return _HINT.sub("_", text)[:40]


class Part:
    """A member of the result that may leave as a pointer: its state size and its JSON."""

    # A plain class: a NamedTuple or dataclass costs a millisecond of import time.
    __slots__ = ("path", "raw", "size")

    def __init__(self, size: int, path: Path, raw: bytes) -> None:
        self.size = size
        self.path = path
        self.raw = raw


class Measured:
    """A result measured top level first (see the module docstring).

    ``total`` is the result's :func:`~sfn_offload.wire.codec.state_size`, added up member by
    member; ``parts`` are the members worth a pointer, largest first (ties: the shallower, then
    the earlier in the document).
    """

    def __init__(self, result: Any, keep: Sequence[Path]) -> None:
        self.total = 0
        self.parts: list[Part] = []
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
            self.parts = [Part(-r[0], r[3], r[4]) for r in ranked]

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


def pointer_cost_base(repo: PayloadRepository, namespace: str) -> int:
    """An upper bound of the wire size of a pointer replacing a part, less its path hint.

    The hint (at most 40 of ``[A-Za-z0-9._-]``: no escapes, commas or colons) adds its length.
    """
    cfg = repo.config
    key = f"{cfg.s3_prefix}{namespace}::{'0' * 20}/0"
    container = max(cfg.table or "", cfg.bucket or "", key=len)
    worst = Pointer("dynamodb", container, key, 0, 10**12, "0" * 64, "json+gzip")
    # "backend":"s3" vs "dynamodb", table vs bucket; then a space after each separator
    return state_size(json.dumps(worst.to_dict()).encode()) + 8
