"""Regenerate docs/img/inspect.png: the ``inspect --html`` page of a real run of the order-report
example, screenshotted by headless Chromium.

    python tools/inspect_screenshot.py [--out docs/img/inspect.png] [--html FILE] [--chromium PATH]

The example runs in the local kit (moto, in process: no AWS, no network); the page is written
by ``sfn-offload inspect --html`` itself, then Chromium (``apt-get install chromium`` on Debian,
or any Chrome/Chromium on PATH) renders it. The test suite never needs a browser.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # examples/ is not installed

from click.testing import CliRunner  # noqa: E402

from examples.order_report import handlers  # noqa: E402
from sfn_offload.cli.app import cli  # noqa: E402
from sfn_offload.testing import LocalStepFunctions  # noqa: E402

TASKS = ("check_feature", "load_orders", "price_shard", "aggregate")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def write_page(html: Path) -> str:
    """Run the example and write its ``inspect --html`` page; returns the command run."""
    with LocalStepFunctions() as local:
        for name in TASKS:
            local.register(name, getattr(handlers, name))
        run = local.run(
            ROOT / "examples" / "order_report" / "state_machine.asl.json",
            {"tenant": "acme", "report_enabled": True},
            name="run-42",
        )
        if run.status != "SUCCEEDED":
            raise SystemExit(f"the example run did not succeed: {run.error} {run.cause}")
        args = ["inspect", run.arn, "--table", local.table, "--bucket", local.bucket]
        result = CliRunner().invoke(cli, [*args, "--html", str(html)])
        if result.exit_code != 0:
            raise SystemExit(f"inspect failed ({result.exit_code}): {result.output}")
    return "sfn-offload " + " ".join([*args, "--html", "inspect.html"])


def screenshot(chromium: str, html: Path, png: Path, *, width: int, height: int) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # root in a container has no user namespace to sandbox in
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "inspect.png")
    parser.add_argument("--html", type=Path, help="keep the page here (default: a temp file)")
    parser.add_argument("--chromium", help="the browser to run (default: the first on PATH)")
    parser.add_argument("--width", type=int, default=1260)
    parser.add_argument("--height", type=int, default=1180)
    options = parser.parse_args()
    chromium = options.chromium or next(filter(None, map(shutil.which, BROWSERS)), None)
    if chromium is None:
        raise SystemExit("no Chromium or Chrome on PATH: apt-get install chromium, or --chromium")
    with tempfile.TemporaryDirectory() as tmp:
        html = options.html or Path(tmp) / "inspect.html"
        command = write_page(html)
        screenshot(chromium, html, options.out, width=options.width, height=options.height)
    print(f"{command}\nwrote {options.out}")


if __name__ == "__main__":
    main()
