"""``sfn-offload``: the operator's console script (``pip install 'sfn-offload[cli]'``).

- ``sfn-offload show POINTER``: the data a pointer refers to, verified.
- ``sfn-offload inspect EXECUTION_ARN``: each state's input and output, inline size against the
  262,144-byte limit, the pointers in it and what they resolve to.
- ``sfn-offload setup --table T --bucket B``: create or validate the table and bucket (or print
  them as CloudFormation).
- ``sfn-offload check DEFINITION.asl.json``: the state shapes where the limits still bite, found
  in the definition before deployment (:mod:`sfn_offload.checks`).

A thin layer: the work is done by :mod:`sfn_offload.cli.report`, :mod:`sfn_offload.cli.history`
and :mod:`sfn_offload.storage.setup` (plain functions); this module parses arguments and maps
errors to exit codes, :mod:`sfn_offload.cli.options` holds the shared options and
:mod:`sfn_offload.cli.render` the printing. It is not imported by ``sfn_offload``: the library
never needs click or rich.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from .. import __version__
from .._config import DEFAULT_TTL_DAYS, OffloadConfig
from ..errors import (
    ConfigurationError,
    PointerError,
    PointerNotAllowedError,
    SfnOffloadError,
)
from ..storage.setup import ensure_bucket, ensure_table
from ..storage.template import cloudformation_template
from .check_command import check
from .exit_codes import (
    EXIT_AWS,
    EXIT_CODES_HELP,
    EXIT_DATA,
    EXIT_OK,
    EXIT_USAGE,
    exit_code,
)
from .history import inspect_execution
from .html_report import html_report
from .model import ExecutionReport
from .options import ALLOW_LIST_HELP, DEBUG, Reading, aws_clients, aws_options, reading_options
from .render import (
    print_json,
    print_setup,
    progress_display,
    render_report,
    visible,
    write_json,
    write_text,
)
from .report import Reference, load, parse_reference

__all__ = ["EXIT_AWS", "EXIT_DATA", "EXIT_OK", "EXIT_USAGE", "cli", "exit_code", "main"]


_EXECUTION_ARN = re.compile(r"arn:aws[a-z\-]*:states:[a-z0-9\-]+:\d{12}:execution:[^:\s]+:[^:\s]+")


class _Cli(click.Group):
    """Maps library and AWS errors to a message and an exit code (a traceback with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (SfnOffloadError, BotoCoreError, ClientError) as exc:
            if ctx.meta.get(DEBUG):
                click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
            click.echo(f"error: {visible(str(exc))}", err=True)
            if isinstance(exc, PointerNotAllowedError):
                click.echo(
                    "hint: allow it with --table/--bucket, or pass --allow-any to read any "
                    "table or bucket the pointer names",
                    err=True,
                )
            ctx.exit(exit_code(exc))


@click.group(cls=_Cli, epilog=EXIT_CODES_HELP, context_settings={"max_content_width": 100})
@click.version_option(__version__, prog_name="sfn-offload")
def cli() -> None:
    """Look at and set up what sfn-offload stores for Step Functions.

    Run COMMAND --help for each command's options.
    """


# --------------------------------------------------------------------------------------------
# show
# --------------------------------------------------------------------------------------------


def _json_argument(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="POINTER") from exc


def _reference(obj: Any, index: int | None, default_table: str | None) -> Reference:
    try:
        ref = parse_reference(obj, default_table=default_table)
    except PointerError as exc:
        raise click.BadParameter(str(exc), param_hint="POINTER") from exc
    if ref is None:
        raise click.BadParameter(
            'not a pointer: expected {"__sfn_offload__": 1, ...}, an element reference '
            '{"sfn_offload_list", "sfn_offload_index"}, or a py2sfn result '
            '{"table_name", "partition_key", ...}',
            param_hint="POINTER",
        )
    if index is None:
        return ref
    try:
        return ref.element(index)
    except PointerError as exc:
        raise click.BadParameter(str(exc), param_hint="--index") from exc


@cli.command(epilog=ALLOW_LIST_HELP + "\n" + EXIT_CODES_HELP)
@click.argument("pointer", metavar="POINTER")
@click.option(
    "--index",
    type=click.IntRange(min=0),
    help="Show element N of a list pointer or py2sfn result (default: the whole list).",
)
@click.option("--raw", is_flag=True, help="Compact JSON (default: indented, colored on a TTY).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Write the data to FILE instead of stdout.",
)
@reading_options
def show(pointer: str, index: int | None, raw: bool, out: Path | None, reading: Reading) -> None:
    """Print the data POINTER refers to, after checking its size and SHA-256.

    POINTER is the pointer's JSON, or - to read it from stdin: an sfn-offload pointer
    ({"__sfn_offload__": 1, ...}), a fan-out list pointer (with "count"), an element reference,
    or a py2sfn-task-tools result ({"table_name", "partition_key"[, "key"]}).

    What was read (and a list's element count) is reported on stderr; stdout holds only the
    data.

    \b
    sfn-offload show '{"__sfn_offload__": 1, "backend": "s3", ...}'
    sfn-offload show --index 3 --raw - < list-pointer.json
    """
    obj = _json_argument(sys.stdin.read() if pointer == "-" else pointer)
    config, repo = reading.reader()
    ref = _reference(obj, index, config.table)
    where = visible(ref.pointer.describe())
    if ref.is_list:
        click.echo(f"list of {ref.pointer.count} element(s) at {where}", err=True)
    value = load(ref, repo, trusted=reading.allow_any)
    if ref.pointer.sha256 and ref.pointer.size is not None:
        check = f"{ref.pointer.size:,} bytes, sha256 {ref.pointer.sha256[:12]}... verified"
    elif ref.is_list and ref.pointer.sha256:
        check = "every element verified against the list's digest"
    elif ref.is_list:
        check = "every element verified against its stored digest"
    else:
        check = "verified against the stored digest, where the item records one"
    click.echo(f"read {where}: {check}", err=True)
    if out is not None:
        write_json(value, out, raw=raw)
    else:
        print_json(value, raw=raw)


# --------------------------------------------------------------------------------------------
# inspect
# --------------------------------------------------------------------------------------------


@cli.command("inspect", epilog=ALLOW_LIST_HELP + "\n" + EXIT_CODES_HELP)
@click.argument("execution_arn", metavar="EXECUTION_ARN")
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="NAME",
    help="Only this state (repeatable); a Map state brings the states of its iterations.",
)
@click.option(
    "--expand",
    is_flag=True,
    help="A row per Map iteration (default: one row per state in a Map's iterations, with the "
    "count and the min, p95 and max bytes).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    metavar="FILE",
    help="Also write the report as one self-contained HTML page (a chart of every state's "
    "bytes against the limit); - writes it to stdout instead of the text report.",
)
@click.option(
    "--resolve/--no-resolve",
    default=True,
    show_default=True,
    help="Read the pointed-to payloads (verified) to measure the resolved sizes; "
    "--no-resolve sends no DynamoDB or S3 request.",
)
@click.option(
    "--data",
    "with_data",
    is_flag=True,
    help="Also print each input and output (resolved unless --no-resolve).",
)
@reading_options
def inspect_command(
    execution_arn: str,
    states: tuple[str, ...],
    expand: bool,
    as_json: bool,
    html_out: Path | None,
    resolve: bool,
    with_data: bool,
    reading: Reading,
) -> None:
    """Walk an execution's history: per state, its input and output size against the 262,144
    byte limit, the pointers in them, where each payload lives and the size once resolved.

    A Map's iterations are grouped (each state in them one row: runs, min, p95 and max bytes)
    unless --expand, and each payload is listed once with the states that carried it.

    Needs states:GetExecutionHistory (and read access to the table and bucket unless
    --no-resolve). Exits 1 if any pointer could not be resolved; the report still lists the
    rest.
    """
    if not _EXECUTION_ARN.fullmatch(execution_arn):
        raise click.BadParameter(
            "expected arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME",
            param_hint="EXECUTION_ARN",
        )
    if html_out == Path("-") and (as_json or with_data):
        raise click.UsageError("--html - writes the page to stdout: not with --json or --data")
    config, repo = reading.reader()
    with progress_display() as progress:
        report = inspect_execution(
            repo.clients.stepfunctions,
            execution_arn,
            repo if resolve else None,
            states=states,
            trusted=reading.allow_any,
            keep_data=with_data,
            default_table=config.table,
            progress=progress,
        )
    if states and not report.visits:
        ran = ", ".join(report.state_names) or "none"
        click.echo(
            f"error: no state named {', '.join(states)} ran in this execution (states: {ran})",
            err=True,
        )
        sys.exit(EXIT_DATA)
    _print_inspect(report, as_json=as_json, html_out=html_out, with_data=with_data, expand=expand)
    if report.errors:
        sys.exit(EXIT_DATA)


def _print_inspect(
    report: ExecutionReport, *, as_json: bool, html_out: Path | None, with_data: bool, expand: bool
) -> None:
    if html_out == Path("-"):
        click.echo(html_report(report, expand=expand), nl=False)
        return
    if html_out is not None:
        write_text(html_report(report, expand=expand), html_out)
    if as_json:
        document = report.to_json(with_data=with_data, expand=expand)
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        render_report(report, with_data=with_data, expand=expand)


# --------------------------------------------------------------------------------------------
# setup
# --------------------------------------------------------------------------------------------


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--table", metavar="TABLE", help="DynamoDB table to create or validate.")
@click.option("--bucket", metavar="BUCKET", help="S3 bucket to create or validate.")
@click.option(
    "--ttl-days",
    type=click.IntRange(1, 3650),
    default=DEFAULT_TTL_DAYS,
    show_default=True,
    envvar="SFN_OFFLOAD_TTL_DAYS",
    help="Days payloads are kept: the bucket's lifecycle expiry; keep it equal to the "
    "functions' SFN_OFFLOAD_TTL_DAYS.",
)
@click.option(
    "--s3-prefix",
    default="sfn-offload/",
    show_default=True,
    envvar="SFN_OFFLOAD_S3_PREFIX",
    help="Key prefix the functions write objects under: the bucket's lifecycle rules expire "
    "it (and workflow_state_data/); keep it equal to the functions' SFN_OFFLOAD_S3_PREFIX.",
)
@click.option(
    "--print-template",
    is_flag=True,
    help="Print the same resources as CloudFormation YAML; create nothing.",
)
@aws_options
def setup(
    table: str | None,
    bucket: str | None,
    ttl_days: int,
    s3_prefix: str,
    print_template: bool,
    region: str | None,
    endpoint_url: str | None,
) -> None:
    """Create the table and bucket sfn-offload needs, or check existing ones.

    \b
    table:  partition_key (S, HASH) / sort_key (N, RANGE), on-demand, TTL on expires_at
    bucket: SSE-S3 encryption, all public access blocked, lifecycle rules expiring
            --s3-prefix (sfn-offload/) and workflow_state_data/ after --ttl-days

    Existing resources are validated, never changed: a mismatch is reported and exits 1.
    """
    if not table and not bucket:
        raise click.UsageError("give --table, --bucket, or both")
    try:
        OffloadConfig(table=table, bucket=bucket, s3_prefix=s3_prefix)  # validates the names
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--table/--bucket/--s3-prefix") from exc
    if print_template:
        template = cloudformation_template(
            table=table, bucket=bucket, ttl_days=ttl_days, s3_prefix=s3_prefix
        )
        click.echo(template, nl=False)
        return
    clients = aws_clients(region, endpoint_url, OffloadConfig())
    results = []
    if table:
        results.append(ensure_table(clients.dynamodb, table))
    if bucket:
        results.append(ensure_bucket(clients.s3, bucket, ttl_days=ttl_days, s3_prefix=s3_prefix))
    print_setup(results)
    if not all(r.ok for r in results):
        click.echo(
            "error: an existing resource does not match what sfn-offload expects (see "
            "MISMATCH above); fix it or choose another name",
            err=True,
        )
        sys.exit(EXIT_DATA)
    env = [f"SFN_OFFLOAD_TABLE={table}"] if table else []
    env += [f"SFN_OFFLOAD_BUCKET={bucket}"] if bucket else []
    env += [f"SFN_OFFLOAD_TTL_DAYS={ttl_days}"] if ttl_days != DEFAULT_TTL_DAYS else []
    env += [f"SFN_OFFLOAD_S3_PREFIX={s3_prefix}"] if bucket and s3_prefix != "sfn-offload/" else []
    click.echo(f"ready: configure the functions with {' '.join(env)}")


cli.add_command(check)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script's entry point (``sfn-offload``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="sfn-offload")
