"""The ``sfn-offload`` console script (``show``, ``inspect``, ``setup``); extra ``cli``."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the console script; without the ``cli`` extra, say how to install it."""
    try:
        from .app import main as run
    except ModuleNotFoundError as exc:  # click or rich missing
        if exc.name not in ("click", "rich"):
            raise
        raise SystemExit(
            f"sfn-offload: the command line needs the 'cli' extra ({exc.name} is not installed): "
            "pip install 'sfn-offload[cli]'"
        ) from None
    run(argv)
