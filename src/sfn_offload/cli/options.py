"""The options every command shares, and the AWS clients and repository they configure."""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import boto3
import click
from botocore.config import Config

from .._aws import AwsClients
from .._config import OffloadConfig
from ..errors import ConfigurationError
from ..storage.repository import PayloadRepository

__all__ = [
    "ALLOW_LIST_HELP",
    "DEBUG",
    "Reading",
    "aws_clients",
    "aws_options",
    "read_options",
    "reader",
    "reading_options",
]

ALLOW_LIST_HELP: Final = """\b
Pointers may only name allowed tables and buckets, as in the library:
--table/--bucket (repeatable), else SFN_OFFLOAD_ALLOWED_TABLES /
SFN_OFFLOAD_ALLOWED_BUCKETS, else SFN_OFFLOAD_TABLE / SFN_OFFLOAD_BUCKET.
--allow-any reads whatever table or bucket a pointer names (with your
credentials): use it only on pointers you trust.
"""

#: ``click.Context.meta`` key set by ``--debug``: errors then show their traceback.
DEBUG: Final = "sfn_offload.debug"
_SERVICES: Final = ("dynamodb", "s3", "stepfunctions")

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value:
        return
    ctx.meta[DEBUG] = True
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


def aws_options(f: F) -> F:
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


def read_options(f: F) -> F:
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


def aws_clients(region: str | None, endpoint_url: str | None, config: OffloadConfig) -> AwsClients:
    """Clients for ``--region`` and ``--endpoint-url``, else as the library configures them."""
    session = boto3.session.Session(region_name=region) if region else None
    if endpoint_url:
        # Local endpoints (moto, LocalStack) serve buckets by path, not by DNS name.
        return AwsClients(
            boto3_session=session,
            boto_config=Config(s3={"addressing_style": "path"}),
            endpoint_urls=dict.fromkeys(_SERVICES, endpoint_url),
        )
    return AwsClients(boto3_session=session, endpoint_urls=config.endpoint_urls)


def reader(
    tables: Sequence[str], buckets: Sequence[str], region: str | None, endpoint_url: str | None
) -> tuple[OffloadConfig, PayloadRepository]:
    """The configuration (environment, then ``--table``/``--bucket``) and a repository."""
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
    return config, PayloadRepository(config, clients=aws_clients(region, endpoint_url, config))


@dataclass(frozen=True)
class Reading:
    """What a reading command was told: ``--table``/``--bucket`` (the allow-list),
    ``--allow-any``, ``--region`` and ``--endpoint-url``."""

    tables: tuple[str, ...]
    buckets: tuple[str, ...]
    allow_any: bool
    region: str | None
    endpoint_url: str | None

    def reader(self) -> tuple[OffloadConfig, PayloadRepository]:
        """The configuration and repository these options give (see :func:`reader`)."""
        return reader(self.tables, self.buckets, self.region, self.endpoint_url)


def reading_options(f: Callable[..., R]) -> Callable[..., R]:
    """The allow-list and AWS options of a command that reads payloads, handed to it as one
    ``reading: Reading`` argument (apply it next to the function, below the other options)."""

    @functools.wraps(f)
    def command(
        *args: Any,
        tables: tuple[str, ...],
        buckets: tuple[str, ...],
        allow_any: bool,
        region: str | None,
        endpoint_url: str | None,
        **kwargs: Any,
    ) -> R:
        reading = Reading(tables, buckets, allow_any, region, endpoint_url)
        return f(*args, reading=reading, **kwargs)

    return aws_options(read_options(command))
