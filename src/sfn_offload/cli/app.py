"""``sfn-offload``: the operator's console script (``pip install 'sfn-offload[cli]'``).

- ``sfn-offload show POINTER``: the data a pointer refers to, verified.
- ``sfn-offload inspect EXECUTION_ARN``: each state's input and output, inline size against the
  262,144-byte limit, the pointers in it and what they resolve to.
- ``sfn-offload setup --table T --bucket B``: create or validate the table and bucket (or print
  them as CloudFormation).

A thin layer: the work is done by :mod:`sfn_offload.cli.report` and :mod:`sfn_offload.storage.setup`
(plain functions); this module parses options, builds clients, prints, and maps errors to exit
codes. It is not imported by ``sfn_offload``: the library never needs click or rich.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import boto3
import click
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import __version__
from .._aws import AwsClients
from .._config import OffloadConfig
from ..budget import STATE_LIMIT_BYTES
from ..errors import (
    ConfigurationError,
    PointerError,
    PointerNotAllowedError,
    SfnOffloadError,
    StoreError,
)
from ..storage.repository import PayloadRepository
from ..storage.setup import SetupResult, cloudformation_template, ensure_bucket, ensure_table
from .history import ExecutionReport, Progress, inspect_execution
from .report import Reference, load, parse_reference

__all__ = ["EXIT_AWS", "EXIT_DATA", "EXIT_OK", "EXIT_USAGE", "cli", "main"]

EXIT_OK: Final = 0
#: The data is the problem: missing/expired item, digest mismatch, malformed or refused pointer,
#: unknown execution or state, a table/bucket that does not match what ``setup`` expects.
EXIT_DATA: Final = 1
#: The command line is the problem (click's own code for usage errors).
EXIT_USAGE: Final = 2
#: AWS or configuration: no credentials or region, access denied, a missing table or bucket,
#: a request that failed after retries, an invalid SFN_OFFLOAD_* variable.
EXIT_AWS: Final = 3

EXIT_CODES_HELP: Final = """\b
Exit codes:
  0  success
  1  data problem: item or object missing (or expired), size/SHA-256 mismatch,
     malformed or refused pointer, unknown execution or state, an existing
     table/bucket that does not match (setup)
  2  usage error: bad option or argument, POINTER is not JSON or not a pointer
  3  AWS or configuration error: credentials, region, access denied, missing
     table or bucket, failed request, invalid SFN_OFFLOAD_* variable
"""

ALLOW_LIST_HELP: Final = """\b
Pointers may only name allowed tables and buckets, as in the library:
--table/--bucket (repeatable), else SFN_OFFLOAD_ALLOWED_TABLES /
SFN_OFFLOAD_ALLOWED_BUCKETS, else SFN_OFFLOAD_TABLE / SFN_OFFLOAD_BUCKET.
--allow-any reads whatever table or bucket a pointer names (with your
credentials): use it only on pointers you trust.
"""

_DEBUG: Final = "sfn_offload.debug"
#: StoreError codes that mean "not found" (exit 1) or "bad argument" (exit 2), not AWS trouble.
_NOT_FOUND_CODES: Final = frozenset({"ExecutionDoesNotExist", "StateMachineDoesNotExist"})
_USAGE_CODES: Final = frozenset({"InvalidArn"})
_EXECUTION_ARN = re.compile(r"arn:aws[a-z\-]*:states:[a-z0-9\-]+:\d{12}:execution:[^:\s]+:[^:\s]+")
#: Larger documents are printed without syntax highlighting (rich is slow on megabytes).
_HIGHLIGHT_MAX_CHARS: Final = 1_000_000
_SERVICES: Final = ("dynamodb", "s3", "stepfunctions")

F = TypeVar("F", bound=Callable[..., Any])


def exit_code(exc: BaseException) -> int:
    """The exit code an error maps to (see ``EXIT_CODES_HELP``)."""
    if isinstance(exc, StoreError):
        if exc.code in _NOT_FOUND_CODES:
            return EXIT_DATA
        return EXIT_USAGE if exc.code in _USAGE_CODES else EXIT_AWS
    if isinstance(exc, ConfigurationError):
        return EXIT_AWS
    if isinstance(exc, SfnOffloadError):
        return EXIT_DATA
    return EXIT_AWS  # botocore: no credentials, endpoint unreachable...


class _Cli(click.Group):
    """Maps library and AWS errors to a message and an exit code (a traceback with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (SfnOffloadError, BotoCoreError, ClientError) as exc:
            if ctx.meta.get(_DEBUG):
                click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
            click.echo(f"error: {exc}", err=True)
            if isinstance(exc, PointerNotAllowedError):
                click.echo(
                    "hint: allow it with --table/--bucket, or pass --allow-any to read any "
                    "table or bucket the pointer names",
                    err=True,
                )
            ctx.exit(exit_code(exc))


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value:
        return
    ctx.meta[_DEBUG] = True
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    library = logging.getLogger("sfn_offload")
    level = library.level
    library.addHandler(handler)
    library.setLevel(logging.DEBUG)

    def restore() -> None:  # the command ran: leave logging as it was (matters in tests)
        library.removeHandler(handler)
        library.setLevel(level)

    ctx.call_on_close(restore)


def _check_endpoint(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.match(r"https?://", value):
        raise click.BadParameter(f"{value!r} must start with http:// or https://")
    return value


def _aws_options(f: F) -> F:
    """--endpoint-url, --region and --debug, on every command."""
    f = click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        callback=_set_debug,
        help="Show tracebacks, and the library's debug log on stderr.",
    )(f)
    f = click.option(
        "--region",
        metavar="REGION",
        help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / your profile).",
    )(f)
    f = click.option(
        "--endpoint-url",
        metavar="URL",
        callback=_check_endpoint,
        help="Send every request (DynamoDB, S3, Step Functions) to URL, e.g. a local moto "
        "server. Overrides AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, which apply "
        "otherwise.",
    )(f)
    return f


def _read_options(f: F) -> F:
    """The allow-list options of the commands that read payloads."""
    f = click.option(
        "--allow-any",
        is_flag=True,
        help="Read whatever table or bucket a pointer names (no allow-list).",
    )(f)
    f = click.option(
        "--bucket",
        "buckets",
        multiple=True,
        metavar="BUCKET",
        help="Allow pointers to this bucket (repeatable).",
    )(f)
    f = click.option(
        "--table",
        "tables",
        multiple=True,
        metavar="TABLE",
        help="Allow pointers to this table (repeatable).",
    )(f)
    return f


def _clients(region: str | None, endpoint_url: str | None, config: OffloadConfig) -> AwsClients:
    session = boto3.session.Session(region_name=region) if region else None
    if endpoint_url:
        # Local endpoints (moto, LocalStack) serve buckets by path, not by DNS name.
        return AwsClients(
            boto3_session=session,
            boto_config=Config(s3={"addressing_style": "path"}),
            endpoint_urls=dict.fromkeys(_SERVICES, endpoint_url),
        )
    return AwsClients(boto3_session=session, endpoint_urls=config.endpoint_urls)


def _reader(
    tables: Sequence[str], buckets: Sequence[str], region: str | None, endpoint_url: str | None
) -> tuple[OffloadConfig, PayloadRepository]:
    config = OffloadConfig.from_env()
    changes: dict[str, Any] = {}
    if tables:
        changes["allowed_tables"] = frozenset(tables)
        if not config.table:
            changes["table"] = tables[0]
    if buckets:
        changes["allowed_buckets"] = frozenset(buckets)
        if not config.bucket:  # py2sfn items name no bucket for their overflow objects
            changes["bucket"] = buckets[0]
    if changes:
        try:
            config = config.replace(**changes)
        except ConfigurationError as exc:
            raise click.BadParameter(str(exc), param_hint="--table/--bucket") from exc
    clients = _clients(region, endpoint_url, config)
    return config, PayloadRepository(config, clients=clients)


def _stdout_console() -> Console:
    # Not a terminal (a pipe, a log): no width to fit, so do not fold lines at 80 columns.
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


def _print_json(value: Any, *, raw: bool) -> None:
    if raw:
        click.echo(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        return
    text = json.dumps(value, ensure_ascii=False, indent=2)
    console = Console()
    if console.is_terminal and len(text) <= _HIGHLIGHT_MAX_CHARS:
        console.print_json(text)
    else:
        click.echo(text)


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
@_read_options
@_aws_options
def show(
    pointer: str,
    index: int | None,
    raw: bool,
    out: Path | None,
    tables: tuple[str, ...],
    buckets: tuple[str, ...],
    allow_any: bool,
    region: str | None,
    endpoint_url: str | None,
) -> None:
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
    config, repo = _reader(tables, buckets, region, endpoint_url)
    ref = _reference(obj, index, config.table)
    where = ref.pointer.describe()
    if ref.is_list:
        click.echo(f"list of {ref.pointer.count} element(s) at {where}", err=True)
    value = load(ref, repo, trusted=allow_any)
    if ref.pointer.sha256:
        check = f"{ref.pointer.size:,} bytes, sha256 {ref.pointer.sha256[:12]}... verified"
    elif ref.is_list:
        check = "every element verified against its stored digest"
    else:
        check = "verified against the stored digest, where the item records one"
    click.echo(f"read {where}: {check}", err=True)
    if out is not None:
        body = (
            json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            if raw
            else json.dumps(value, ensure_ascii=False, indent=2)
        ) + "\n"
        try:
            out.write_text(body, encoding="utf-8")
        except OSError as exc:
            raise click.FileError(str(out), hint=exc.strerror or str(exc)) from exc
        click.echo(f"wrote {len(body.encode('utf-8')):,} bytes to {out}", err=True)
        return
    _print_json(value, raw=raw)


# --------------------------------------------------------------------------------------------
# inspect
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _progress() -> Iterator[Progress | None]:
    """A rich progress display on stderr when it is a terminal; nothing otherwise."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn
    from rich.progress import Progress as Bar

    labels = {"history": "reading history (events)", "resolve": "resolving pointers"}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Bar(*columns, console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _bytes(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _render_report(report: ExecutionReport, *, with_data: bool) -> None:
    console = _stdout_console()
    console.print(
        f"Execution {report.execution_arn}: {report.status}, {report.events} events, "
        f"{len(report.visits)} state run(s); limit {STATE_LIMIT_BYTES:,} bytes per state "
        "input/output" + ("" if report.resolved else " (pointers not resolved: --no-resolve)"),
        markup=False,
        soft_wrap=True,
    )
    sizes = Table(title="State inputs and outputs", title_justify="left")
    sizes.add_column("State", no_wrap=True)
    sizes.add_column("Side", no_wrap=True)
    for name in ("Inline bytes", "% of limit", "Pointers", "Resolved bytes"):
        sizes.add_column(name, justify="right", no_wrap=True)
    pointers: list[str] = []
    for visit in report.visits:
        for side, data in visit.sides():
            pct = data.percent_of_limit
            style = "red" if pct > 100 else "yellow" if pct >= 75 else ""
            sizes.add_row(
                escape(visit.label),
                side,
                _bytes(data.inline_bytes),
                f"[{style}]{pct:.1f}%[/]" if style else f"{pct:.1f}%",
                str(len(data.references)),
                "error" if data.error else _bytes(data.resolved_bytes),
            )
            for ref in data.references:
                # One line per pointer, its address on the next: keys stay whole and
                # copyable at any terminal width (a table column would fold them).
                facts = [f"list of {ref.pointer.count} elements" if ref.is_list else ref.kind]
                if ref.stored_bytes is not None:
                    facts.append(f"{ref.stored_bytes:,} bytes stored")
                if ref.resolved_bytes is not None:
                    facts.append(f"{ref.resolved_bytes:,} bytes resolved")
                pointers.append(f"  {visit.label} {side} {ref.jsonpath}: {', '.join(facts)}")
                pointers.append(f"    {ref.pointer.describe()}")
    console.print(sizes)
    console.print("Pointers" if pointers else "No pointers in the inspected states.")
    for line in pointers:
        console.print(line, markup=False, soft_wrap=True)
    for error in report.errors:
        console.print(f"error: {error}", style="red", markup=False, soft_wrap=True)
    if with_data:
        for visit in report.visits:
            for side, data in visit.sides():
                if data.error is None:
                    console.rule(escape(f"{visit.label} {side}"))
                    _print_json(data.document, raw=False)


@cli.command("inspect", epilog=ALLOW_LIST_HELP + "\n" + EXIT_CODES_HELP)
@click.argument("execution_arn", metavar="EXECUTION_ARN")
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="NAME",
    help="Only this state (repeatable; Map iterations included).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
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
@_read_options
@_aws_options
def inspect_command(
    execution_arn: str,
    states: tuple[str, ...],
    as_json: bool,
    resolve: bool,
    with_data: bool,
    tables: tuple[str, ...],
    buckets: tuple[str, ...],
    allow_any: bool,
    region: str | None,
    endpoint_url: str | None,
) -> None:
    """Walk an execution's history: per state, its input and output size against the 262,144
    byte limit, the pointers in them, where each payload lives and the size once resolved.

    Needs states:GetExecutionHistory (and read access to the table and bucket unless
    --no-resolve). Exits 1 if any pointer could not be resolved; the report still lists the
    rest.
    """
    if not _EXECUTION_ARN.fullmatch(execution_arn):
        raise click.BadParameter(
            "expected arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME",
            param_hint="EXECUTION_ARN",
        )
    config, repo = _reader(tables, buckets, region, endpoint_url)
    with _progress() as progress:
        report = inspect_execution(
            repo.clients.stepfunctions,
            execution_arn,
            repo if resolve else None,
            states=states,
            trusted=allow_any,
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
    if as_json:
        click.echo(json.dumps(report.to_json(with_data=with_data), ensure_ascii=False, indent=2))
    else:
        _render_report(report, with_data=with_data)
    if report.errors:
        sys.exit(EXIT_DATA)


# --------------------------------------------------------------------------------------------
# setup
# --------------------------------------------------------------------------------------------


def _print_setup(results: Sequence[SetupResult]) -> None:
    for result in results:
        click.echo(f"{result.kind} {result.name}: {'created' if result.created else 'exists'}")
        for check in result.checks:
            mark = "ok" if check.ok else "MISMATCH"
            click.echo(f"  {mark:<9}{check.name}: {check.detail}")


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--table", metavar="TABLE", help="DynamoDB table to create or validate.")
@click.option("--bucket", metavar="BUCKET", help="S3 bucket to create or validate.")
@click.option(
    "--ttl-days",
    type=click.IntRange(1, 3650),
    default=7,
    show_default=True,
    envvar="SFN_OFFLOAD_TTL_DAYS",
    help="Days payloads are kept: the bucket's lifecycle expiry; keep it equal to the "
    "functions' SFN_OFFLOAD_TTL_DAYS.",
)
@click.option(
    "--print-template",
    is_flag=True,
    help="Print the same resources as CloudFormation YAML; create nothing.",
)
@_aws_options
def setup(
    table: str | None,
    bucket: str | None,
    ttl_days: int,
    print_template: bool,
    region: str | None,
    endpoint_url: str | None,
) -> None:
    """Create the table and bucket sfn-offload needs, or check existing ones.

    \b
    table:  partition_key (S, HASH) / sort_key (N, RANGE), on-demand, TTL on expires_at
    bucket: SSE-S3 encryption, all public access blocked, lifecycle rules expiring
            sfn-offload/ and workflow_state_data/ after --ttl-days

    Existing resources are validated, never changed: a mismatch is reported and exits 1.
    """
    if not table and not bucket:
        raise click.UsageError("give --table, --bucket, or both")
    try:
        OffloadConfig(table=table, bucket=bucket)  # validates the names
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--table/--bucket") from exc
    if print_template:
        click.echo(cloudformation_template(table=table, bucket=bucket, ttl_days=ttl_days), nl=False)
        return
    clients = _clients(region, endpoint_url, OffloadConfig())
    results = []
    if table:
        results.append(ensure_table(clients.dynamodb, table))
    if bucket:
        results.append(ensure_bucket(clients.s3, bucket, ttl_days=ttl_days))
    _print_setup(results)
    if not all(r.ok for r in results):
        click.echo(
            "error: an existing resource does not match what sfn-offload expects (see "
            "MISMATCH above); fix it or choose another name",
            err=True,
        )
        sys.exit(EXIT_DATA)
    env = [f"SFN_OFFLOAD_TABLE={table}"] if table else []
    env += [f"SFN_OFFLOAD_BUCKET={bucket}"] if bucket else []
    env += [f"SFN_OFFLOAD_TTL_DAYS={ttl_days}"] if ttl_days != 7 else []
    click.echo(f"ready: configure the functions with {' '.join(env)}")


def main(argv: Sequence[str] | None = None) -> None:
    """The console script's entry point (``sfn-offload``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="sfn-offload")
