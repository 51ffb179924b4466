"""List digests: a Merkle tree over the SHA-256 of a list's elements.

A list stored element by element (``fan_out``, ``put_items``) has one digest for the whole list,
the *root*, which its list pointer can carry (``sha256``), so that:

- reading the whole list checks that the elements' digests hash to the root (no element
  replaced, dropped, reordered or taken from another list, and no mix of two writes);
- reading one element (a Map iteration) checks it against the root with its proof alone (read
  from its page, below), in one request whatever the list's length.

**Proof pages.** The elements' digests and proofs are not stored on the elements (that doubled
the bytes of a list of small elements): they are stored in *pages* (:class:`Page`), one per run
of :data:`PAGE_SIZE` consecutive elements, each holding the raw digests of its elements, the
page's own proof up to the root, the root and the list's length. In the RFC 9162 tree an aligned
block of ``2**k`` elements (and the last, partial block) is a subtree, and the tree over the
pages' subtree hashes has the same shape as the top of the element tree: an element's proof is
the path inside its page (computed from the page's digests) followed by the page's proof
(:func:`verify_in_page`). Where pages are stored is :mod:`sfn_offload.storage.pages`.

Lists written by sfn-offload 0.1.0 record the root, length and proof on every element
(:func:`tree`, :func:`verify`): they are still read and checked that way.

**Lists named by their digest.** The decorator names a fan-out list's partition
``<namespace>:<path>:list-<20 hex>``, the start of :func:`flat_digest` of its elements: such a
key carries a digest too. A whole list read is checked against it for free; an element read
(without the root in its pointer) costs one Query of the list's pages.

The tree is the one of RFC 9162 (Certificate Transparency v2), section 2.1.1, over the element
digests: a leaf hashes ``0x00 || digest``, a node ``0x01 || left || right``, and a list of ``n``
elements splits at the largest power of two below ``n``. Proofs are verified as in its section
2.1.3.2. Digests travel as lowercase hex, and are stored raw in pages.

>>> leaves = [hashlib.sha256(bytes([i])).hexdigest() for i in range(5)]
>>> root, proofs = tree(leaves)
>>> all(verify(leaves[i], i, 5, proofs[i], root) for i in range(5))
True
>>> verify(leaves[1], 0, 5, proofs[0], root)
False
>>> pages = paginate(leaves, page_size=2)
>>> [len(p.digests) for p in pages], all(p.root == root for p in pages)
([2, 2, 1], True)
>>> all(verify_in_page(leaves[i], i, pages[i // 2], page_size=2) for i in range(5))
True
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "EMPTY_ROOT",
    "PAGE_SIZE",
    "Page",
    "flat_digest",
    "key_digest",
    "page_count",
    "paginate",
    "root_of",
    "tree",
    "verify",
    "verify_in_page",
]

#: A partition key named by its list's :func:`flat_digest` (the decorator's fan-out lists).
_KEY_DIGEST: Final = re.compile(r":list-([0-9a-f]{20})\Z")

_LEAF: Final = b"\x00"
_NODE: Final = b"\x01"
#: The root of an empty list.
EMPTY_ROOT: Final = hashlib.sha256(b"").hexdigest()
#: Elements per proof page: a power of two (so that a page is a subtree), and small enough that
#: a page (2 KB of digests and its proof) is one 4 KB read unit.
PAGE_SIZE: Final = 64
#: A stored page: format version, root, list length, number of proof hashes; then the proof and
#: the digests, 32 bytes each.
_PAGE_HEADER: Final = struct.Struct("!B32sQB")
_PAGE_FORMAT: Final = 1


def flat_digest(digests: Sequence[str]) -> str:
    """SHA-256 over the element digests' hex, concatenated in order: what ends the partition key
    of a decorator fan-out list (its first 20 characters).

    >>> flat_digest(["ab" * 32])[:20]
    '271a413bd339c5709fdc'
    """
    h = hashlib.sha256()
    for digest_hex in digests:
        h.update(digest_hex.encode("ascii"))
    return h.hexdigest()


def key_digest(partition_key: str) -> str | None:
    """The list digest a partition key ends in (``...:list-<20 hex>``), else ``None``.

    >>> key_digest("run-1.ab12cd34:shards:list-0123456789abcdef0123"), key_digest("run-1:rows")
    ('0123456789abcdef0123', None)
    """
    match = _KEY_DIGEST.search(partition_key)
    return match.group(1) if match else None


def _leaf(digest_hex: str) -> bytes:
    return _leaf_raw(bytes.fromhex(digest_hex))


def _leaf_raw(digest: bytes) -> bytes:
    return hashlib.sha256(_LEAF + digest).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _root(nodes: Sequence[bytes]) -> bytes:
    """The root over nodes (leaf hashes, or subtree roots), ``len(nodes) >= 1``."""
    # Bottom-up over the same shape as the recursive definition: pair neighbours level by
    # level, an odd last node moving up unchanged (RFC 9162's split at the largest power of 2).
    level = list(nodes)
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root_of(digests: Sequence[str]) -> str:
    """The root over the element digests, in order (no proofs: for checking a whole list)."""
    if not digests:
        return EMPTY_ROOT
    return _root([_leaf(d) for d in digests]).hex()


def _paths(nodes: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root over ``nodes`` and each node's path (sibling hashes, nearest first)."""
    paths: list[list[bytes]] = [[] for _ in nodes]

    def build(low: int, high: int) -> bytes:
        if high - low == 1:
            return nodes[low]
        middle = low + _split(high - low)
        left, right = build(low, middle), build(middle, high)
        for i in range(low, middle):
            paths[i].append(right)
        for i in range(middle, high):
            paths[i].append(left)
        return _node(left, right)

    return build(0, len(nodes)), paths


def tree(digests: Sequence[str]) -> tuple[str, list[str]]:
    """The root and every element's proof (the hex sibling hashes, leaf side first, joined): the
    layout of sfn-offload 0.1.0, which stored a proof on every element."""
    if not digests:
        return EMPTY_ROOT, []
    root, paths = _paths([_leaf(d) for d in digests])
    return root.hex(), ["".join(h.hex() for h in path) for path in paths]


def verify(digest_hex: str, index: int, count: int, proof: str, root: str) -> bool:
    """True when the element ``index`` of a list of ``count`` with digest ``digest_hex`` hashes
    to ``root`` through ``proof`` (hex, as :func:`tree` makes them); False for anything
    malformed."""
    if len(proof) % 64:
        return False
    try:
        node = _leaf(digest_hex)
        path = [bytes.fromhex(proof[i : i + 64]) for i in range(0, len(proof), 64)]
        expected = bytes.fromhex(root)
    except ValueError:
        return False
    return _verify_node(node, index, count, path, expected)


def _verify_node(node: bytes, index: int, count: int, path: Sequence[bytes], root: bytes) -> bool:
    """True when ``node``, the ``index``-th of ``count`` leaves (or aligned subtrees), hashes to
    ``root`` through ``path`` (RFC 9162, 2.1.3.2)."""
    if not 0 <= index < count:
        return False
    fn, sn = index, count - 1
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = _node(sibling, node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = _node(node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == root


# -- proof pages ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """The digests of a run of consecutive elements, and what ties them to the list's root.

    Attributes:
        root: the list's digest (hex).
        count: the list's length.
        proof: the page's subtree's path to the root (32-byte hashes, nearest first).
        digests: the SHA-256 of the page's elements, raw (32 bytes each), in index order.
    """

    root: str
    count: int
    proof: tuple[bytes, ...]
    digests: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """The stored form: a 42-byte header, then the proof and the digests."""
        header = _PAGE_HEADER.pack(
            _PAGE_FORMAT, bytes.fromhex(self.root), self.count, len(self.proof)
        )
        return b"".join((header, *self.proof, *self.digests))

    @classmethod
    def from_bytes(cls, body: bytes) -> Page | None:
        """The page stored as ``body``; ``None`` when it is not one."""
        if len(body) < _PAGE_HEADER.size:
            return None
        version, root, count, levels = _PAGE_HEADER.unpack_from(body)
        rest = memoryview(body)[_PAGE_HEADER.size :]
        if version != _PAGE_FORMAT or len(rest) % 32 or len(rest) // 32 < levels:
            return None
        hashes = [bytes(rest[i : i + 32]) for i in range(0, len(rest), 32)]
        return cls(root.hex(), count, tuple(hashes[:levels]), tuple(hashes[levels:]))


def page_count(count: int, page_size: int = PAGE_SIZE) -> int:
    """How many pages a list of ``count`` elements has."""
    return -(-count // page_size)


def paginate(digests: Sequence[str], page_size: int = PAGE_SIZE) -> list[Page]:
    """The pages of a list whose elements have ``digests`` (hex), in order; their ``root`` is
    :func:`root_of` ``(digests)``. ``page_size`` must be a power of two."""
    if not digests:
        return []
    raw = [bytes.fromhex(d) for d in digests]
    runs = [raw[i : i + page_size] for i in range(0, len(raw), page_size)]
    tops = [_root([_leaf_raw(d) for d in run]) for run in runs]
    root, paths = _paths(tops)
    root_hex = root.hex()
    return [
        Page(root_hex, len(digests), tuple(path), tuple(run))
        for path, run in zip(paths, runs, strict=True)
    ]


def verify_in_page(digest_hex: str, index: int, page: Page, page_size: int = PAGE_SIZE) -> bool:
    """True when element ``index``, with digest ``digest_hex``, is in ``page`` and the page
    hashes to its root (the page must then be page ``index // page_size`` of the list)."""
    number, offset = divmod(index, page_size)
    if not 0 <= index < page.count:
        return False
    if len(page.digests) != min(page_size, page.count - number * page_size):
        return False
    try:
        if page.digests[offset] != bytes.fromhex(digest_hex):
            return False
        root = bytes.fromhex(page.root)
    except ValueError:
        return False
    subtree = _root([_leaf_raw(d) for d in page.digests])
    return _verify_node(subtree, number, page_count(page.count, page_size), page.proof, root)
