"""Replace attributes of moto and botocore for the kit's lifetime, and put them back."""

from __future__ import annotations

from typing import Any

__all__ = ["Patches"]


class Patches:
    """Attributes replaced so far, undone in reverse order (later patches may wrap earlier)."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def replace(self, owner: Any, name: str, replacement: Any) -> None:
        """Set ``owner.name`` to ``replacement``, remembering the original."""
        self._undo.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def undo(self) -> None:
        """Restore every replaced attribute."""
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()
