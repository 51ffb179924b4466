"""OffloadConfig: explicit argument > environment > default, validated and immutable."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sfn_offload import ConfigurationError, OffloadConfig
from sfn_offload._config import DEFAULT_TTL_DAYS, ENV, MAX_ITEM_BUDGET_BYTES

# --------------------------------------------------------------------------------------------
# precedence
# --------------------------------------------------------------------------------------------


def test_given_no_environment_then_defaults_apply() -> None:
    cfg = OffloadConfig.from_env({})
    assert cfg.table is None
    assert cfg.bucket is None
    assert cfg.ttl_days == DEFAULT_TTL_DAYS == 380  # a Standard execution's year + redrive
    assert cfg.item_budget_bytes == 380_000
    assert cfg.compression == "none"
    assert cfg.compress_min_bytes == 1024
    assert cfg.s3_prefix == "sfn-offload/"
    assert cfg.allowed_tables == frozenset()
    assert cfg.allowed_buckets == frozenset()
    assert cfg.max_workers == 16
    assert cfg.kms_key_id is None
    assert cfg.expected_bucket_owner is None
    assert dict(cfg.endpoint_urls) == {}
    assert cfg.cross_execution_reads is False
    assert cfg.stop_state_machines == frozenset()


def test_given_env_and_an_explicit_argument_then_the_argument_wins() -> None:
    env = {"SFN_OFFLOAD_TABLE": "env-table", "SFN_OFFLOAD_TTL_DAYS": "3"}
    cfg = OffloadConfig.from_env(env, table="arg-table")
    assert cfg.table == "arg-table"
    assert cfg.ttl_days == 3  # not overridden: the environment still applies


def test_given_an_explicit_none_then_it_counts_as_not_given() -> None:
    cfg = OffloadConfig.from_env({"SFN_OFFLOAD_TABLE": "env-table"}, table=None, ttl_days=None)
    assert cfg.table == "env-table"
    assert cfg.ttl_days == DEFAULT_TTL_DAYS


def test_given_no_env_argument_then_os_environ_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFN_OFFLOAD_TABLE", "from-os-environ")
    assert OffloadConfig.from_env().table == "from-os-environ"


def test_given_the_constructor_then_the_environment_is_not_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SFN_OFFLOAD_TABLE", "from-os-environ")
    assert OffloadConfig().table is None


@pytest.mark.parametrize(
    ("variable", "raw", "field", "expected"),
    [
        ("SFN_OFFLOAD_TABLE", "state", "table", "state"),
        ("SFN_OFFLOAD_BUCKET", "state-bucket", "bucket", "state-bucket"),
        ("SFN_OFFLOAD_TTL_DAYS", "30", "ttl_days", 30),
        ("SFN_OFFLOAD_ITEM_BUDGET_BYTES", "100_000", "item_budget_bytes", 100_000),
        ("SFN_OFFLOAD_COMPRESSION", "gzip", "compression", "gzip"),
        ("SFN_OFFLOAD_COMPRESS_MIN_BYTES", " 0 ", "compress_min_bytes", 0),
        ("SFN_OFFLOAD_S3_PREFIX", "payloads/", "s3_prefix", "payloads/"),
        ("SFN_OFFLOAD_ALLOWED_TABLES", "t-a, t-b,,", "allowed_tables", {"t-a", "t-b"}),
        ("SFN_OFFLOAD_ALLOWED_BUCKETS", "b-one,b-two", "allowed_buckets", {"b-one", "b-two"}),
        ("SFN_OFFLOAD_MAX_WORKERS", "4", "max_workers", 4),
        ("SFN_OFFLOAD_KMS_KEY_ID", "alias/state", "kms_key_id", "alias/state"),
        ("SFN_OFFLOAD_EXPECTED_BUCKET_OWNER", "1234" * 3, "expected_bucket_owner", "1234" * 3),
        ("SFN_OFFLOAD_CROSS_EXECUTION_READS", "1", "cross_execution_reads", True),
        ("SFN_OFFLOAD_CROSS_EXECUTION_READS", "false", "cross_execution_reads", False),
        (
            "SFN_OFFLOAD_STOP_STATE_MACHINES",
            "orders, arn:aws:states:us-east-1:123456789012:stateMachine:billing",
            "stop_state_machines",
            {"orders", "arn:aws:states:us-east-1:123456789012:stateMachine:billing"},
        ),
    ],
)
def test_given_each_sfn_offload_variable_then_it_sets_its_field(
    variable: str, raw: str, field: str, expected: Any
) -> None:
    cfg = OffloadConfig.from_env({variable: raw})
    assert getattr(cfg, field) == expected


def test_every_documented_variable_is_covered_by_this_file() -> None:
    variables = {v for names in ENV.values() for v in names}
    assert variables == {
        "SFN_OFFLOAD_TABLE",
        "SFN_OFFLOAD_BUCKET",
        "SFN_DATA_S3_BUCKET",
        "SFN_OFFLOAD_TTL_DAYS",
        "SFN_OFFLOAD_ITEM_BUDGET_BYTES",
        "SFN_OFFLOAD_COMPRESSION",
        "SFN_OFFLOAD_COMPRESS_MIN_BYTES",
        "SFN_OFFLOAD_S3_PREFIX",
        "SFN_OFFLOAD_ALLOWED_TABLES",
        "SFN_OFFLOAD_ALLOWED_BUCKETS",
        "SFN_OFFLOAD_MAX_WORKERS",
        "SFN_OFFLOAD_KMS_KEY_ID",
        "SFN_OFFLOAD_EXPECTED_BUCKET_OWNER",
        "SFN_OFFLOAD_CROSS_EXECUTION_READS",
        "SFN_OFFLOAD_STOP_STATE_MACHINES",
    }


def test_given_only_py2sfn_bucket_variable_then_it_is_the_bucket() -> None:
    cfg = OffloadConfig.from_env({"SFN_DATA_S3_BUCKET": "legacy-bucket"})
    assert cfg.bucket == "legacy-bucket"
    assert cfg.allowed_buckets == {"legacy-bucket"}


def test_given_both_bucket_variables_then_sfn_offload_bucket_wins() -> None:
    env = {"SFN_DATA_S3_BUCKET": "legacy-bucket", "SFN_OFFLOAD_BUCKET": "new-bucket"}
    assert OffloadConfig.from_env(env).bucket == "new-bucket"


def test_given_an_empty_sfn_offload_bucket_then_the_py2sfn_variable_still_applies() -> None:
    env = {"SFN_DATA_S3_BUCKET": "legacy-bucket", "SFN_OFFLOAD_BUCKET": ""}
    assert OffloadConfig.from_env(env).bucket == "legacy-bucket"


# --------------------------------------------------------------------------------------------
# endpoints
# --------------------------------------------------------------------------------------------

_LEGACY = {
    "DYNAMODB_ENDPOINT_URL": "http://ddb.local:8000",
    "S3_ENDPOINT_URL": "http://s3.local:9000",
    "STEPFUNCTIONS_ENDPOINT_URL": "http://sfn.local:8083",
}


def test_given_only_py2sfn_endpoint_variables_then_they_are_used() -> None:
    assert dict(OffloadConfig.from_env(_LEGACY).endpoint_urls) == {
        "dynamodb": "http://ddb.local:8000",
        "s3": "http://s3.local:9000",
        "stepfunctions": "http://sfn.local:8083",
    }


@pytest.mark.parametrize(
    ("modern", "service"),
    [
        ("AWS_ENDPOINT_URL_DYNAMODB", "dynamodb"),
        ("AWS_ENDPOINT_URL_S3", "s3"),
        ("AWS_ENDPOINT_URL_SFN", "stepfunctions"),
    ],
)
def test_given_boto3_service_endpoint_variable_then_only_that_legacy_variable_is_ignored(
    modern: str, service: str
) -> None:
    cfg = OffloadConfig.from_env({**_LEGACY, modern: "http://modern:1"})
    assert service not in cfg.endpoint_urls  # boto3 reads the modern variable itself
    assert len(cfg.endpoint_urls) == 2


def test_given_boto3_global_endpoint_variable_then_all_legacy_variables_are_ignored() -> None:
    cfg = OffloadConfig.from_env({**_LEGACY, "AWS_ENDPOINT_URL": "http://modern:1"})
    assert dict(cfg.endpoint_urls) == {}


def test_given_explicit_endpoint_urls_then_they_replace_the_environment() -> None:
    cfg = OffloadConfig.from_env(_LEGACY, endpoint_urls={"s3": "http://explicit:1"})
    assert dict(cfg.endpoint_urls) == {"s3": "http://explicit:1"}


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table",
    ["ab", "has space", "bad/name", "t" * 256, "state\n", "", "émoji"],
)
def test_given_an_invalid_table_name_then_configuration_error_names_the_table(table: str) -> None:
    with pytest.raises(ConfigurationError, match="table") as info:
        OffloadConfig(table=table)
    assert repr(table) in str(info.value)


@pytest.mark.parametrize(
    "table",
    ["abc", "t" * 255, "My_Table.v2-prod", "arn:aws:dynamodb:eu-west-1:123456789012:table/state"],
)
def test_given_a_valid_table_name_or_arn_then_accepted(table: str) -> None:
    assert OffloadConfig(table=table).table == table


@pytest.mark.parametrize(
    "bucket",
    [
        "ab",
        "Upper-Case",
        "-leading-dash",
        "trailing-dash-",
        "under_score",
        "b" * 64,
        "my..bucket",
        "192.168.1.1",
        "my-bucket\n",
    ],
)
def test_given_an_invalid_bucket_name_then_configuration_error_names_the_bucket(
    bucket: str,
) -> None:
    with pytest.raises(ConfigurationError, match="bucket") as info:
        OffloadConfig(bucket=bucket)
    assert repr(bucket) in str(info.value)


@pytest.mark.parametrize("bucket", ["abc", "my.bucket.name", "b" * 63, "1-2-3"])
def test_given_a_valid_bucket_name_then_accepted(bucket: str) -> None:
    assert OffloadConfig(bucket=bucket).bucket == bucket


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ttl_days", 0),
        ("ttl_days", 3651),
        ("ttl_days", True),
        ("ttl_days", 7.0),
        ("item_budget_bytes", 0),
        ("item_budget_bytes", MAX_ITEM_BUDGET_BYTES + 1),
        ("compress_min_bytes", -1),
        ("max_workers", 0),
        ("max_workers", 257),
    ],
)
def test_given_an_out_of_range_number_then_configuration_error_names_the_field(
    field: str, value: Any
) -> None:
    with pytest.raises(ConfigurationError, match=field):
        OffloadConfig(**{field: value})


def test_given_the_item_budget_over_390000_then_refused_with_the_limit() -> None:
    with pytest.raises(ConfigurationError, match="390000"):
        OffloadConfig(item_budget_bytes=390_001)
    assert OffloadConfig(item_budget_bytes=390_000).item_budget_bytes == 390_000


@pytest.mark.parametrize("ttl", [1, 3650])
def test_given_ttl_at_the_range_ends_then_accepted(ttl: int) -> None:
    assert OffloadConfig(ttl_days=ttl).ttl_days == ttl


@pytest.mark.parametrize("compression", ["zstd", "GZIP", "", None])
def test_given_an_unknown_compression_then_refused(compression: Any) -> None:
    with pytest.raises(ConfigurationError, match="compression"):
        OffloadConfig(compression=compression)


def test_given_an_unknown_compression_in_env_then_refused() -> None:
    with pytest.raises(ConfigurationError, match="compression"):
        OffloadConfig.from_env({"SFN_OFFLOAD_COMPRESSION": "brotli"})


@pytest.mark.parametrize(
    "variable",
    [
        "SFN_OFFLOAD_TTL_DAYS",
        "SFN_OFFLOAD_ITEM_BUDGET_BYTES",
        "SFN_OFFLOAD_COMPRESS_MIN_BYTES",
        "SFN_OFFLOAD_MAX_WORKERS",
    ],
)
@pytest.mark.parametrize("raw", ["seven", "7.5", "1e3", "0x10"])
def test_given_a_non_integer_env_value_then_error_names_the_variable(
    variable: str, raw: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable) as info:
        OffloadConfig.from_env({variable: raw})
    assert "not an integer" in str(info.value)


def test_given_an_out_of_range_env_value_then_error_names_the_field() -> None:
    with pytest.raises(ConfigurationError, match="ttl_days"):
        OffloadConfig.from_env({"SFN_OFFLOAD_TTL_DAYS": "0"})


def test_given_an_unknown_option_then_refused_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="tabel"):
        OffloadConfig.from_env({}, tabel="state")


def test_given_an_s3_prefix_starting_with_slash_then_refused() -> None:
    with pytest.raises(ConfigurationError, match="s3_prefix"):
        OffloadConfig(s3_prefix="/payloads/")


@pytest.mark.parametrize("owner", ["12345678901", "abcdefghijkl", "1234567890123"])
def test_given_a_malformed_expected_bucket_owner_then_refused(owner: str) -> None:
    with pytest.raises(ConfigurationError, match="expected_bucket_owner"):
        OffloadConfig(expected_bucket_owner=owner)


# --------------------------------------------------------------------------------------------
# allow-lists
# --------------------------------------------------------------------------------------------


def test_given_a_table_and_bucket_then_allow_lists_default_to_them() -> None:
    cfg = OffloadConfig(table="state", bucket="state-bucket")
    assert cfg.allowed_tables == frozenset({"state"})
    assert cfg.allowed_buckets == frozenset({"state-bucket"})


def test_given_explicit_allow_lists_then_they_are_used() -> None:
    cfg = OffloadConfig(table="state", allowed_tables=frozenset({"state", "shared"}))
    assert cfg.allowed_tables == {"state", "shared"}


def test_given_allow_lists_as_comma_separated_strings_then_they_are_split() -> None:
    cfg = OffloadConfig(allowed_tables="state, shared", allowed_buckets="b-one")  # type: ignore[arg-type]
    assert cfg.allowed_tables == {"state", "shared"}
    assert cfg.allowed_buckets == {"b-one"}


def test_given_allow_lists_as_lists_then_they_become_frozensets() -> None:
    cfg = OffloadConfig(allowed_tables=["state", "shared"])  # type: ignore[arg-type]
    assert isinstance(cfg.allowed_tables, frozenset)
    assert cfg.allowed_tables == {"state", "shared"}


def test_given_an_allow_list_override_as_string_then_from_env_splits_it() -> None:
    cfg = OffloadConfig.from_env({"SFN_OFFLOAD_TABLE": "state"}, allowed_tables="state,other")
    assert cfg.allowed_tables == {"state", "other"}


# --------------------------------------------------------------------------------------------
# replace
# --------------------------------------------------------------------------------------------


def test_given_a_default_allow_list_when_table_replaced_then_the_list_follows() -> None:
    cfg = OffloadConfig(table="old-table", bucket="old-bucket").replace(
        table="new-table", bucket="new-bucket"
    )
    assert cfg.allowed_tables == {"new-table"}
    assert cfg.allowed_buckets == {"new-bucket"}


def test_given_an_explicit_allow_list_when_table_replaced_then_the_list_is_extended() -> None:
    cfg = OffloadConfig(table="state", allowed_tables=frozenset({"state", "shared"}))
    new = cfg.replace(table="other")
    assert new.allowed_tables == {"state", "shared", "other"}


def test_given_an_unrelated_change_then_replace_keeps_the_allow_lists() -> None:
    cfg = OffloadConfig(table="state", bucket="bkt", allowed_tables=frozenset({"state", "x-t"}))
    new = cfg.replace(ttl_days=2)
    assert new.ttl_days == 2
    assert new.allowed_tables == cfg.allowed_tables
    assert new.allowed_buckets == cfg.allowed_buckets


def test_given_explicit_allow_lists_in_replace_then_they_win() -> None:
    cfg = OffloadConfig(table="state").replace(table="other", allowed_tables=frozenset({"only"}))
    assert cfg.allowed_tables == {"only"}


def test_given_replace_then_the_original_is_unchanged_and_the_copy_validated() -> None:
    cfg = OffloadConfig(table="state")
    copy = cfg.replace(table="other")
    assert cfg.table == "state"
    assert cfg.allowed_tables == {"state"}
    assert copy is not cfg
    with pytest.raises(ConfigurationError, match="ttl_days"):
        cfg.replace(ttl_days=0)


# --------------------------------------------------------------------------------------------
# immutability
# --------------------------------------------------------------------------------------------


def test_given_a_config_then_fields_cannot_be_assigned() -> None:
    cfg = OffloadConfig(table="state")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.table = "other"  # type: ignore[misc]
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
        cfg.extra = 1  # type: ignore[attr-defined]


def test_given_a_config_then_its_endpoint_urls_cannot_be_changed_from_outside() -> None:
    source = {"s3": "http://one:1"}
    cfg = OffloadConfig(endpoint_urls=source)
    source["s3"] = "http://changed:2"
    assert cfg.endpoint_urls["s3"] == "http://one:1"
    with pytest.raises(TypeError):
        cfg.endpoint_urls["s3"] = "http://changed:2"  # type: ignore[index]


def test_given_positional_arguments_then_refused_keyword_only() -> None:
    with pytest.raises(TypeError):
        OffloadConfig("state")  # type: ignore[call-arg]


def test_given_equal_settings_then_configs_compare_equal() -> None:
    env = {"SFN_OFFLOAD_TABLE": "state", "SFN_OFFLOAD_BUCKET": "bkt", **_LEGACY}
    assert OffloadConfig.from_env(env) == OffloadConfig.from_env(env)


@pytest.mark.parametrize("raw", ["maybe", "2", ""])
def test_given_a_non_boolean_cross_execution_flag_then_error_names_the_variable(raw: str) -> None:
    env = {"SFN_OFFLOAD_CROSS_EXECUTION_READS": raw or " "}
    with pytest.raises(ConfigurationError, match="SFN_OFFLOAD_CROSS_EXECUTION_READS"):
        OffloadConfig.from_env(env)


@pytest.mark.parametrize("machine", ["has space", "a" * 81, "arn:aws:states:x:1:execution:m:n"])
def test_given_a_stop_state_machine_that_is_neither_name_nor_arn_then_refused(
    machine: str,
) -> None:
    with pytest.raises(ConfigurationError, match="stop_state_machines"):
        OffloadConfig(stop_state_machines=frozenset({machine}))
