"""``sfn-offload check``: the static check of :mod:`sfn_offload.checks` on the command line."""

from __future__ import annotations

import json
import sys
from typing import IO, Final

import click

from ..checks import (
    DefinitionError,
    check_definition,
    failing,
    format_text,
    load_definition,
    to_json,
)
from ..errors import ConfigurationError
from .exit_codes import EXIT_DATA, EXIT_USAGE

__all__ = ["check"]

CHECK_EXIT_HELP: Final = """\b
Exit codes:
  0  no finding fails the check (errors do; with --strict, warnings too)
  1  findings that fail the check
  2  usage error, or DEFINITION is not JSON or not a state machine
"""


@click.command("check", epilog=CHECK_EXIT_HELP)
@click.argument("definition", metavar="DEFINITION", type=click.File(encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@click.option(
    "--type",
    "workflow_type",
    type=click.Choice(["standard", "express"]),
    default="standard",
    show_default=True,
    help="The workflow type: Express workflows have no 25,000-event history quota.",
)
@click.option(
    "--execution-arn-key",
    default="sfn_execution_arn",
    show_default=True,
    metavar="KEY",
    help="The event key the handlers read the execution ARN from "
    "(@state_offload(execution_arn_key=...)).",
)
@click.option("--strict", is_flag=True, help="Warnings fail the check too.")
@click.option(
    "--ignore",
    "ignored",
    multiple=True,
    metavar="CODE",
    help="Do not report CODE (repeatable). A state's Comment may hold sfn-offload:ignore=CODE,...",
)
def check(
    definition: IO[str],
    as_json: bool,
    workflow_type: str,
    execution_arn_key: str,
    strict: bool,
    ignored: tuple[str, ...],
) -> None:
    """Check a state machine definition (JSONPath or JSONata) for the shapes where the
    262,144-byte limit or the history quota still bites a decorated task (docs/cli.md).

    DEFINITION is an ASL file (${name} placeholders may stand for Lambda ARNs), or - for stdin.
    Each finding gives the state's JSON pointer, a severity, a code and the fix.
    """
    try:
        findings = check_definition(
            load_definition(definition),
            workflow_type="express" if workflow_type == "express" else "standard",
            execution_arn_key=execution_arn_key,
            ignore=ignored,
        )
    except DefinitionError as exc:
        click.echo(f"error: {definition.name}: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--ignore") from exc
    if as_json:
        report = to_json(findings, source=definition.name, strict=strict)
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(format_text(findings, source=definition.name))
    if failing(findings, strict=strict):
        sys.exit(EXIT_DATA)
