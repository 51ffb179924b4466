"""Validated, immutable configuration: explicit argument > environment variable > default.

Read once (at cold start, when a client or decorator is built), never at import.

>>> cfg = OffloadConfig.from_env({"SFN_OFFLOAD_TABLE": "state", "SFN_OFFLOAD_TTL_DAYS": "3"})
>>> cfg.table, cfg.ttl_days, cfg.allowed_tables
('state', 3, frozenset({'state'}))
>>> OffloadConfig.from_env({"SFN_OFFLOAD_TABLE": "state"}, ttl_days=1).ttl_days
1

The decorator's own options have variables too (:data:`OPTION_ENV`), read by
:func:`options_from_env` when the decorated handler is first invoked:

>>> options_from_env({"SFN_OFFLOAD_DISABLED": "true", "SFN_OFFLOAD_KEEP_INLINE": "status, a.b"})
{'disabled': True, 'keep_inline': ('status', 'a.b')}
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from .errors import ConfigurationError
from .wire.codec import Compression

__all__ = ["ENV", "MAX_ITEM_BUDGET_BYTES", "OPTION_ENV", "OffloadConfig", "options_from_env"]

#: DynamoDB's item limit is 400 KB (409,600 bytes) including attribute names, keys and our
#: metadata attributes; py2sfn-task-tools overflowed above 390,000 bytes of data. Never allow more.
MAX_ITEM_BUDGET_BYTES: Final = 390_000
DEFAULT_ITEM_BUDGET_BYTES: Final = 380_000
#: Payloads must outlive every execution that can still read them: a Standard execution runs up
#: to 365 days and can be redriven up to 14 days after it ends; one day more absorbs TTL and
#: lifecycle rounding. Lower it to your state machines' ``TimeoutSeconds`` + 15 days to store
#: less (docs/RELIABILITY.md, "Lifetime").
DEFAULT_TTL_DAYS: Final = 380

#: Environment variables read by :meth:`OffloadConfig.from_env` (the first that is set wins).
ENV: Final[Mapping[str, tuple[str, ...]]] = {
    "table": ("SFN_OFFLOAD_TABLE",),
    "bucket": ("SFN_OFFLOAD_BUCKET", "SFN_DATA_S3_BUCKET"),
    "ttl_days": ("SFN_OFFLOAD_TTL_DAYS",),
    "item_budget_bytes": ("SFN_OFFLOAD_ITEM_BUDGET_BYTES",),
    "compression": ("SFN_OFFLOAD_COMPRESSION",),
    "compress_min_bytes": ("SFN_OFFLOAD_COMPRESS_MIN_BYTES",),
    "s3_prefix": ("SFN_OFFLOAD_S3_PREFIX",),
    "allowed_tables": ("SFN_OFFLOAD_ALLOWED_TABLES",),
    "allowed_buckets": ("SFN_OFFLOAD_ALLOWED_BUCKETS",),
    "max_workers": ("SFN_OFFLOAD_MAX_WORKERS",),
    "kms_key_id": ("SFN_OFFLOAD_KMS_KEY_ID",),
    "expected_bucket_owner": ("SFN_OFFLOAD_EXPECTED_BUCKET_OWNER",),
    "cross_execution_reads": ("SFN_OFFLOAD_CROSS_EXECUTION_READS",),
    "stop_state_machines": ("SFN_OFFLOAD_STOP_STATE_MACHINES",),
}

#: Environment variables of ``@state_offload``'s own options (argument > variable > default),
#: read by :func:`options_from_env` at the first invocation. ``config``, ``repository``,
#: ``metrics``, ``boto3_session`` and ``boto_config`` are objects and have none; ``table`` and
#: ``bucket`` are :data:`ENV`'s.
OPTION_ENV: Final[Mapping[str, str]] = {
    "disabled": "SFN_OFFLOAD_DISABLED",
    "hydrate": "SFN_OFFLOAD_HYDRATE",
    "offload": "SFN_OFFLOAD_OFFLOAD",
    "max_inline_bytes": "SFN_OFFLOAD_MAX_INLINE_BYTES",
    "ignore_input": "SFN_OFFLOAD_IGNORE_INPUT",
    "margin_bytes": "SFN_OFFLOAD_MARGIN_BYTES",
    "reserve_bytes": "SFN_OFFLOAD_RESERVE_BYTES",
    "keep_inline": "SFN_OFFLOAD_KEEP_INLINE",
    "fan_out": "SFN_OFFLOAD_FAN_OUT",
    "max_hydrate_bytes": "SFN_OFFLOAD_MAX_HYDRATE_BYTES",
    "execution_arn_key": "SFN_OFFLOAD_EXECUTION_ARN_KEY",
    "result_writer": "SFN_OFFLOAD_RESULT_WRITER",
}
_BOOL_OPTIONS: Final = frozenset({"disabled", "hydrate", "offload", "ignore_input"})
_INT_OPTIONS: Final = frozenset(
    {"max_inline_bytes", "margin_bytes", "reserve_bytes", "max_hydrate_bytes"}
)
_LIST_OPTIONS: Final = frozenset({"keep_inline", "fan_out"})
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})

#: py2sfn-task-tools' endpoint variables, used only when boto3's own ``AWS_ENDPOINT_URL_*`` (or
#: ``AWS_ENDPOINT_URL``) is not set: boto3 reads those itself.
LEGACY_ENDPOINT_ENV: Final[Mapping[str, tuple[str, str]]] = {
    "dynamodb": ("AWS_ENDPOINT_URL_DYNAMODB", "DYNAMODB_ENDPOINT_URL"),
    "s3": ("AWS_ENDPOINT_URL_S3", "S3_ENDPOINT_URL"),
    "stepfunctions": ("AWS_ENDPOINT_URL_SFN", "STEPFUNCTIONS_ENDPOINT_URL"),
}

# Used with fullmatch: ``$`` in ``re.match`` also matches before a trailing newline.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_TABLE = re.compile(r"[A-Za-z0-9_.\-]{3,255}")
#: A state machine name (1-80 characters), or its ARN.
_STATE_MACHINE = re.compile(
    r"[0-9A-Za-z_\-]{1,80}"
    r"|arn:aws[a-z\-]*:states:[a-z0-9\-]+:\d{12}:stateMachine:[0-9A-Za-z_\-]{1,80}"
)
_TABLE_ARN = re.compile(r"arn:aws[a-z\-]*:dynamodb:[a-z0-9\-]+:\d{12}:table/[A-Za-z0-9_.\-]{3,255}")


@dataclass(frozen=True, kw_only=True, slots=True)
class OffloadConfig:
    """Where and how payloads are stored.

    Attributes:
        table: DynamoDB table (key schema ``partition_key`` S, ``sort_key`` N; TTL on
            ``expires_at``). ``SFN_OFFLOAD_TABLE``.
        bucket: S3 bucket for payloads too large for an item. ``SFN_OFFLOAD_BUCKET``, then
            py2sfn's ``SFN_DATA_S3_BUCKET``.
        ttl_days: days until items and objects expire (``expires_at``). ``SFN_OFFLOAD_TTL_DAYS``,
            default 380: longer than a Standard execution can run (365 days) plus the 14 days
            it can be redriven, so data never expires under an execution that can still read
            it. Shorter values must still exceed your executions' longest life.
        item_budget_bytes: largest encoded payload kept in a DynamoDB item; larger ones go to S3.
            At most 390,000 (DynamoDB's item limit is 409,600 bytes with keys and metadata).
            ``SFN_OFFLOAD_ITEM_BUDGET_BYTES``, default 380,000.
        compression: ``"none"`` (default; py2sfn-task-tools can read what is written) or
            ``"gzip"``. ``SFN_OFFLOAD_COMPRESSION``.
        compress_min_bytes: payloads smaller than this are never compressed. Default 1,024.
        s3_prefix: key prefix of objects the decorator writes. Default ``"sfn-offload/"``.
        allowed_tables / allowed_buckets: the only tables/buckets a pointer from the input may
            name; default: the configured table/bucket. Comma-separated in the environment.
        max_workers: threads for concurrent S3 transfers and batch requests. Default 16.
        kms_key_id: if set, S3 objects are written with SSE-KMS under this key.
        expected_bucket_owner: account id sent as ``ExpectedBucketOwner`` on every S3 request.
        endpoint_urls: per-service endpoint overrides (``dynamodb``, ``s3``, ``stepfunctions``);
            defaults to py2sfn's ``*_ENDPOINT_URL`` variables when boto3's own are unset.
        cross_execution_reads: let references without a digest (lists without their digest,
            py2sfn Map events, Map results, ResultWriter manifests) name data of other
            executions. Default off: they must name the reading execution's own namespace.
            ``SFN_OFFLOAD_CROSS_EXECUTION_READS=1``.
        stop_state_machines: the state machines ``StopExecution`` may stop (names or ARNs);
            empty (default): whichever execution the input names. Comma-separated in
            ``SFN_OFFLOAD_STOP_STATE_MACHINES``.
    """

    table: str | None = None
    bucket: str | None = None
    ttl_days: int = DEFAULT_TTL_DAYS
    item_budget_bytes: int = DEFAULT_ITEM_BUDGET_BYTES
    compression: Compression = "none"
    compress_min_bytes: int = 1024
    s3_prefix: str = "sfn-offload/"
    allowed_tables: frozenset[str] = field(default=frozenset())
    allowed_buckets: frozenset[str] = field(default=frozenset())
    max_workers: int = 16
    kms_key_id: str | None = None
    expected_bucket_owner: str | None = None
    endpoint_urls: Mapping[str, str] = field(default_factory=dict)
    cross_execution_reads: bool = False
    stop_state_machines: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        if self.table is not None and not (
            _TABLE.fullmatch(self.table) or _TABLE_ARN.fullmatch(self.table)
        ):
            raise ConfigurationError(
                f"table {self.table!r} is not a valid DynamoDB table name "
                "(3-255 characters of A-Z a-z 0-9 _ . -)"
            )
        if self.bucket is not None and not _valid_bucket(self.bucket):
            raise ConfigurationError(f"bucket {self.bucket!r} is not a valid S3 bucket name")
        _check_range("ttl_days", self.ttl_days, 1, 3650)
        _check_range("item_budget_bytes", self.item_budget_bytes, 1, MAX_ITEM_BUDGET_BYTES)
        _check_range("compress_min_bytes", self.compress_min_bytes, 0, 2**31)
        _check_range("max_workers", self.max_workers, 1, 256)
        if self.compression not in ("none", "gzip"):
            raise ConfigurationError(
                f"compression must be 'none' or 'gzip', got {self.compression!r}"
            )
        if self.s3_prefix.startswith("/"):
            raise ConfigurationError(f"s3_prefix {self.s3_prefix!r} must not start with '/'")
        if self.expected_bucket_owner is not None and not re.fullmatch(
            r"\d{12}", self.expected_bucket_owner
        ):
            raise ConfigurationError(
                f"expected_bucket_owner must be a 12-digit account id, got "
                f"{self.expected_bucket_owner!r}"
            )
        # The allow-lists default to what is configured: a pointer in the input can then only
        # reach the table/bucket this function was set up to use.
        for name in ("allowed_tables", "allowed_buckets"):
            value = getattr(self, name)
            if isinstance(value, str):  # "a,b" would otherwise become a set of characters
                object.__setattr__(self, name, _split(value))
        if not self.allowed_tables and self.table:
            object.__setattr__(self, "allowed_tables", frozenset({self.table}))
        if not self.allowed_buckets and self.bucket:
            object.__setattr__(self, "allowed_buckets", frozenset({self.bucket}))
        object.__setattr__(self, "allowed_tables", frozenset(self.allowed_tables))
        object.__setattr__(self, "allowed_buckets", frozenset(self.allowed_buckets))
        if type(self.cross_execution_reads) is not bool:
            raise ConfigurationError(
                f"cross_execution_reads must be True or False, got {self.cross_execution_reads!r}"
            )
        machines = self.stop_state_machines
        if isinstance(machines, str):
            machines = _split(machines)
        object.__setattr__(self, "stop_state_machines", frozenset(machines))
        for machine in self.stop_state_machines:
            if not isinstance(machine, str) or not _STATE_MACHINE.fullmatch(machine):
                raise ConfigurationError(
                    f"stop_state_machines: {machine!r} is neither a state machine name nor a "
                    "state machine ARN"
                )
        # A read-only copy: the config is shared across warm invocations and must not change.
        object.__setattr__(self, "endpoint_urls", MappingProxyType(dict(self.endpoint_urls)))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> OffloadConfig:
        """Build a config from ``env`` (default ``os.environ``); keyword arguments win.

        A keyword argument set to ``None`` counts as not given.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, variables in ENV.items():
            raw = next((env[v] for v in variables if env.get(v)), None)
            if raw is not None:
                values[name] = _parse(name, raw, variables[0])
        endpoints = {}
        for service, (modern, legacy) in LEGACY_ENDPOINT_ENV.items():
            if not env.get(modern) and not env.get("AWS_ENDPOINT_URL") and env.get(legacy):
                endpoints[service] = env[legacy]
        if endpoints:
            values["endpoint_urls"] = endpoints
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigurationError(f"unknown configuration option(s): {unknown}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("allowed_tables", "allowed_buckets"):
            if name in values and isinstance(values[name], str):
                values[name] = _split(values[name])
            elif name in values:
                values[name] = frozenset(values[name])
        return cls(**values)

    def replace(self, **changes: Any) -> OffloadConfig:
        """A copy with ``changes`` applied (and validated)."""
        if "table" in changes and "allowed_tables" not in changes:
            changes["allowed_tables"] = self._derived_allow(
                self.allowed_tables, self.table, changes["table"]
            )
        if "bucket" in changes and "allowed_buckets" not in changes:
            changes["allowed_buckets"] = self._derived_allow(
                self.allowed_buckets, self.bucket, changes["bucket"]
            )
        return dataclasses.replace(self, **changes)

    @staticmethod
    def _derived_allow(current: frozenset[str], old: str | None, new: str | None) -> frozenset[str]:
        # An allow-list that was only the default follows the new name; an explicit one grows.
        if current == frozenset({old}) or not current:
            return frozenset({new}) if new else frozenset()
        return current | ({new} if new else set())


def _valid_bucket(name: str) -> bool:
    if not _BUCKET.fullmatch(name) or ".." in name:
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False  # S3 refuses names formatted as an IP address


def _check_range(name: str, value: object, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise ConfigurationError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def _split(raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


_INT_FIELDS = frozenset({"ttl_days", "item_budget_bytes", "compress_min_bytes", "max_workers"})


def _parse(name: str, raw: str, variable: str) -> Any:
    if name in _INT_FIELDS:
        return _int(raw.strip(), variable)
    if name in ("allowed_tables", "allowed_buckets", "stop_state_machines"):
        return _split(raw)
    if name == "cross_execution_reads":
        flag = raw.strip().lower()
        if flag not in _TRUE | _FALSE:
            raise ConfigurationError(
                f"environment variable {variable}={raw!r} must be true/1/yes/on or false/0/no/off"
            )
        return flag in _TRUE
    return raw.strip()


def options_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``@state_offload`` options that ``env`` (default ``os.environ``) sets, parsed.

    Unset and empty variables are left out. Booleans are ``true``/``false`` (also ``1``/``0``,
    ``yes``/``no``, ``on``/``off``, any case); lists (``keep_inline``, ``fan_out``) are
    comma-separated paths. Values are checked by the decorator, which names the variable.

    >>> options_from_env({"SFN_OFFLOAD_MARGIN_BYTES": "16_384", "SFN_OFFLOAD_HYDRATE": "off"})
    {'hydrate': False, 'margin_bytes': 16384}
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name, variable in OPTION_ENV.items():
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        if name in _BOOL_OPTIONS:
            if raw.lower() not in _TRUE | _FALSE:
                raise ConfigurationError(
                    f"environment variable {variable}={raw!r} is not a boolean "
                    "(true/false, 1/0, yes/no, on/off)"
                )
            values[name] = raw.lower() in _TRUE
        elif name in _INT_OPTIONS:
            values[name] = _int(raw, variable)
        elif name in _LIST_OPTIONS:
            values[name] = tuple(part.strip() for part in raw.split(",") if part.strip())
        else:
            values[name] = raw
    return values


def _int(raw: str, variable: str) -> int:
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        raise ConfigurationError(
            f"environment variable {variable}={raw!r} is not an integer"
        ) from None
