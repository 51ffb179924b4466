"""Fill every snippet-tied code block in README.md and docs/*.md from its file (`make docs`).

A block is tied to a file by the comment on the line before it::

    <!-- snippet: examples/snippets/tour.py#handler -->
    ```python
    ...replaced by the region between "# --8<-- [start:handler]" and "# --8<-- [end:handler]"
    ```

tests/test_snippets.py fails when a block and its file disagree, so docs cannot drift.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(
    r"(<!-- snippet: (?P<ref>[^ ]+) -->\n```(?P<lang>\w*)\n)(?P<body>.*?)(```)", re.S
)


def region(ref: str) -> str:
    path, _, name = ref.partition("#")
    text = (ROOT / path).read_text(encoding="utf-8")
    if not name:
        return text
    match = re.search(
        rf"^[ \t]*# --8<-- \[start:{name}\]\n(.*?)^[ \t]*# --8<-- \[end:{name}\]", text, re.S | re.M
    )
    if match is None:
        raise SystemExit(f"{path} has no region {name!r}")
    return textwrap.dedent(match.group(1))


def main() -> int:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    changed = 0
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        new = BLOCK.sub(lambda m: m.group(1) + region(m["ref"]) + m.group(5), text)
        if new != text:
            doc.write_text(new, encoding="utf-8")
            changed += 1
            print(f"updated {doc.relative_to(ROOT)}")
    print(f"{changed} file(s) updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
