"""Paths into JSON documents, and copy-on-write replacement along them.

Hydration, offload and the inspector all replace parts of a document that is not theirs (the
caller's event, the handler's result, a history record): containers on the way to a replaced
part are copied once, everything else is shared.

>>> doc = {"a": [{"b": 1}, {"b": 2}], "c": {"d": 3}}
>>> new = assign(shallow_copy(doc), ("a", 1, "b"), "x", set())
>>> new["a"][1], doc["a"][1], new["c"] is doc["c"]
({'b': 'x'}, {'b': 2}, True)
>>> jsonpath(("a", 1, "b"))
'$.a[1].b'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Path", "assign", "exists", "get", "jsonpath", "shallow_copy"]

Path = tuple[str | int, ...]


def jsonpath(path: Path) -> str:
    """``("a", 0, "b")`` as ``$.a[0].b`` (for messages)."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def get(root: Any, path: Path) -> Any:
    """The part of ``root`` at ``path`` (``KeyError``/``IndexError``/``TypeError`` if absent)."""
    node = root
    for key in path:
        node = node[key]
    return node


def exists(root: Any, path: Path) -> bool:
    """Whether ``path`` leads somewhere in ``root``."""
    try:
        get(root, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def shallow_copy(node: Any) -> Any:
    """A one-level copy of a container (any Mapping becomes a dict, a tuple a list, as JSON
    writes them); other values as they are."""
    # Any Mapping, not only dict: a py2sfn Map event is recognised in any Mapping, and the
    # caller's object must not receive its element.
    if isinstance(node, Mapping):
        return dict(node)
    if isinstance(node, list | tuple) and not hasattr(node, "_asdict"):  # not a namedtuple
        return list(node)
    return node


def assign(root: Any, path: Path, value: Any, copied: set[int]) -> Any:
    """Set ``value`` at ``path``; returns the (possibly new) root.

    Every container on the way that is not yet in ``copied`` (ids of containers this operation
    already copied) is copied first, so the original document is never modified. Pass the root
    through :func:`shallow_copy` and put its id in ``copied`` before the first call, or let the
    first call copy it.
    """
    if not path:
        return value
    if id(root) not in copied:
        root = shallow_copy(root)
        copied.add(id(root))
    container = root
    for key in path[:-1]:
        child = container[key]
        if id(child) not in copied:
            child = shallow_copy(child)
            copied.add(id(child))
            container[key] = child
        container = child
    container[path[-1]] = value
    return root
