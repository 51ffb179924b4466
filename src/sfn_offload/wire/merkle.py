"""List digests: a Merkle tree over the SHA-256 of a list's elements.

A list stored element by element (``fan_out``, ``put_items``) has one digest for the whole list,
the *root*, which its list pointer can carry (``sha256``). Each element item records the root,
the list's length and its *proof* (the sibling hashes on its way to the root), so that:

- reading the whole list checks that the elements' digests hash to the root (no element
  replaced, dropped, reordered or taken from another list, and no mix of two writes);
- reading one element (a Map iteration) checks it against the root with its proof alone, one
  item read, whatever the list's length.

**Lists named by their digest.** The decorator names a fan-out list's partition
``<namespace>:<path>:list-<20 hex>``, the start of :func:`flat_digest` of its elements: such a
key carries a digest too. A whole list read is checked against it for free; an element read
(without the root in its pointer) costs one keys-only Query of the list's digests.

The tree is the one of RFC 9162 (Certificate Transparency v2), section 2.1.1, over the element
digests: a leaf hashes ``0x00 || digest``, a node ``0x01 || left || right``, and a list of ``n``
elements splits at the largest power of two below ``n``. Proofs are verified as in its section
2.1.3.2. Digests travel as lowercase hex.

>>> leaves = [hashlib.sha256(bytes([i])).hexdigest() for i in range(5)]
>>> root, proofs = tree(leaves)
>>> all(verify(leaves[i], i, 5, proofs[i], root) for i in range(5))
True
>>> verify(leaves[1], 0, 5, proofs[0], root)
False
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Final

__all__ = ["EMPTY_ROOT", "flat_digest", "key_digest", "root_of", "tree", "verify"]

#: A partition key named by its list's :func:`flat_digest` (the decorator's fan-out lists).
_KEY_DIGEST: Final = re.compile(r":list-([0-9a-f]{20})\Z")

_LEAF: Final = b"\x00"
_NODE: Final = b"\x01"
#: The root of an empty list.
EMPTY_ROOT: Final = hashlib.sha256(b"").hexdigest()


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
    return hashlib.sha256(_LEAF + bytes.fromhex(digest_hex)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(digests: Sequence[str]) -> str:
    """The root over the element digests, in order (no proofs: for checking a whole list)."""
    if not digests:
        return EMPTY_ROOT
    # Bottom-up over the same shape as the recursive definition: pair neighbours level by
    # level, an odd last node moving up unchanged (RFC 9162's split at the largest power of 2).
    level = [_leaf(d) for d in digests]
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def tree(digests: Sequence[str]) -> tuple[str, list[str]]:
    """The root and every element's proof (the hex sibling hashes, leaf side first, joined)."""
    if not digests:
        return EMPTY_ROOT, []
    paths: list[list[str]] = [[] for _ in digests]

    def build(low: int, high: int) -> bytes:
        if high - low == 1:
            return _leaf(digests[low])
        middle = low + _split(high - low)
        left, right = build(low, middle), build(middle, high)
        left_hex, right_hex = left.hex(), right.hex()
        for i in range(low, middle):
            paths[i].append(right_hex)
        for i in range(middle, high):
            paths[i].append(left_hex)
        return _node(left, right)

    root = build(0, len(digests))
    return root.hex(), ["".join(path) for path in paths]


def verify(digest_hex: str, index: int, count: int, proof: str, root: str) -> bool:
    """True when the element ``index`` of a list of ``count`` with digest ``digest_hex`` hashes
    to ``root`` through ``proof``; False for anything malformed."""
    if not 0 <= index < count or len(proof) % 64:
        return False
    try:
        node = _leaf(digest_hex)
        path = [bytes.fromhex(proof[i : i + 64]) for i in range(0, len(proof), 64)]
    except ValueError:
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
    return sn == 0 and node.hex() == root
