"""After the handler: results over the state budget leave as pointers, largest parts first."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AwsResources
from fakes import BUCKET, EXECUTION_ARN, TABLE, FakeLambdaContext, memory_repo, requests
from sfn_offload import (
    ConfigurationError,
    OffloadConfig,
    PayloadTooLargeError,
    fan_out,
    hydrate,
    offload,
    state_offload,
)
from sfn_offload.budget import STATE_LIMIT_BYTES, inline_budget
from sfn_offload.errors import PayloadEncodingError
from sfn_offload.steps import offload_result
from sfn_offload.storage import PayloadRepository
from sfn_offload.storage.pages import PAGES_PREFIX
from sfn_offload.testing import payload_size
from sfn_offload.wire import Pointer, is_pointer


def _pointers(value: Any, path: str = "$") -> dict[str, dict[str, Any]]:
    """Every pointer in ``value`` by JSONPath-ish location."""
    found: dict[str, dict[str, Any]] = {}
    if is_pointer(value):
        found[path] = value
    elif isinstance(value, dict):
        for key, item in value.items():
            found.update(_pointers(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.update(_pointers(item, f"{path}[{i}]"))
    return found


def _stored_count(repo: PayloadRepository) -> int:
    return sum(len(store.data) for store in (repo.dynamodb, repo.s3))  # type: ignore[attr-defined]


LAYERED: dict[str, Any] = {
    "status": "ok",
    "count": 3,
    "a": "a" * 50_000,
    "b": "b" * 30_000,
    "c": "c" * 5_000,
    "small": "s" * 500,
}


# --------------------------------------------------------------------------------------------
# under budget
# --------------------------------------------------------------------------------------------


def test_a_result_under_budget_is_returned_as_the_same_object_with_no_request() -> None:
    """GIVEN a handler returning 100 KB with the default budget
    WHEN it is invoked
    THEN the very same object comes back and no store was asked anything."""
    repo = memory_repo()
    result = {"rows": ["r" * 1000] * 100}

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return result

    assert handler({"in": 1}, FakeLambdaContext()) is result
    assert requests(repo) == {}


def test_offload_function_under_budget_reports_sizes_without_io() -> None:
    """GIVEN offload() and a result of 50 bytes with a 100-byte budget
    THEN it is returned as is, and the stats say so."""
    repo = memory_repo()
    result = {"status": "ok", "n": list(range(10))}
    done = offload_result(result, repo, namespace="ns", budget=100)
    stats = done.stats

    assert done.result is result
    assert (stats.result_bytes, stats.inline_bytes, stats.offloaded) == (
        payload_size(result),
        payload_size(result),
        0,
    )
    assert requests(repo) == {}


# --------------------------------------------------------------------------------------------
# over budget: largest first, small fields inline
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "offloaded"),
    [
        (80_000, {"$.a"}),
        (40_000, {"$.a"}),
        (30_000, {"$.a", "$.b"}),
        (7_000, {"$.a", "$.b"}),
        (4_000, {"$.a", "$.b", "$.c"}),
    ],
)
def test_largest_subtrees_are_offloaded_first_until_the_rest_fits(
    budget: int, offloaded: set[str]
) -> None:
    """GIVEN a result with parts of 50 KB, 30 KB, 5 KB and small fields
    WHEN the budget is lowered step by step
    THEN parts are offloaded strictly largest first, only as many as needed; the inline
    remainder is at most the budget, small fields stay inline, and the data round-trips."""
    repo = memory_repo()

    @state_offload(repository=repo, max_inline_bytes=budget)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return LAYERED

    out = handler({}, FakeLambdaContext())

    assert set(_pointers(out)) == offloaded
    assert payload_size(out) <= budget
    assert (out["status"], out["count"], out["small"]) == ("ok", 3, "s" * 500)
    assert hydrate(out, repo) == LAYERED


def test_the_largest_subtree_leaves_whole_and_its_small_siblings_stay_inline() -> None:
    """GIVEN a report (large rows, small summary) beside a small status and a 2 KB note
    WHEN it is offloaded with a 10 KB budget
    THEN the largest subtree, the report, leaves as one pointer; status and note stay inline."""
    repo = memory_repo()
    result = {
        "status": "ok",
        "note": "n" * 2_000,
        "report": {"summary": {"count": 500}, "rows": [{"id": i} for i in range(5000)]},
    }

    out = offload(result, repo, namespace="ns", budget=10_000)

    assert set(_pointers(out)) == {"$.report"}
    assert (out["status"], out["note"]) == ("ok", "n" * 2_000)
    assert hydrate(out, repo) == result


def test_keep_inline_inside_a_large_subtree_makes_its_large_children_leave_instead() -> None:
    """GIVEN the same report and keep_inline=["report.summary.count"]
    WHEN it is offloaded
    THEN the report itself stays (it holds a kept path) and only its rows list leaves, so a
    Choice state can read report.summary.count."""
    repo = memory_repo()
    result = {
        "status": "ok",
        "note": "n" * 2_000,
        "report": {
            "summary": {"count": 500, "total": 12.5},
            "rows": [{"id": i} for i in range(5000)],
        },
    }

    out = offload(
        result, repo, namespace="ns", budget=10_000, keep_inline=[("report", "summary", "count")]
    )

    assert set(_pointers(out)) == {"$.report.rows"}
    assert out["report"]["summary"] == {"count": 500, "total": 12.5}
    assert out["note"] == "n" * 2_000
    assert hydrate(out, repo) == result


def test_keep_inline_paths_stay_inline_and_the_next_largest_parts_go_instead() -> None:
    """GIVEN keep_inline=["a", "nested.keep"] on a result whose largest parts are those paths
    WHEN it is offloaded
    THEN the kept paths stay inline and other parts are offloaded in their place."""
    repo = memory_repo()
    result = {
        **LAYERED,
        "nested": {"keep": "k" * 20_000, "other": "o" * 20_000},
    }

    @state_offload(repository=repo, max_inline_bytes=80_000, keep_inline=["a", "$.nested.keep"])
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return result

    out = handler({}, FakeLambdaContext())

    assert out["a"] == "a" * 50_000
    assert out["nested"]["keep"] == "k" * 20_000
    assert set(_pointers(out)) == {"$.b", "$.nested.other"}
    assert payload_size(out) <= 80_000


def test_keep_inline_that_cannot_fit_raises_payload_too_large() -> None:
    """GIVEN keep_inline naming a 50 KB field and a 10 KB budget
    WHEN the result is offloaded
    THEN PayloadTooLargeError explains that the kept paths alone are too large (a whole-result
    pointer would hide them)."""
    repo = memory_repo()

    @state_offload(repository=repo, max_inline_bytes=10_000, keep_inline=["a"])
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return LAYERED

    with pytest.raises(PayloadTooLargeError, match="keep_inline paths hold 50002 bytes"):
        handler({}, FakeLambdaContext())
    assert _stored_count(repo) == 0


def test_keep_inline_paths_missing_from_the_result_count_for_nothing() -> None:
    """GIVEN keep_inline naming a path the result lacks and another holding 50 KB, and a
    10 KB budget
    THEN PayloadTooLargeError counts only the existing kept path's bytes."""
    repo = memory_repo()

    with pytest.raises(PayloadTooLargeError, match="keep_inline paths hold 50002 bytes"):
        offload(LAYERED, repo, namespace="ns", budget=10_000, keep_inline=[("gone",), ("a",)])


@pytest.mark.parametrize(
    "result",
    [
        pytest.param("x" * 400_000, id="single-400KB-string"),
        pytest.param({f"k{i:04}": i for i in range(5000)}, id="dict-of-5000-small-keys"),
        pytest.param([{"i": i} for i in range(5000)], id="list-of-5000-small-dicts"),
    ],
)
def test_the_whole_result_becomes_one_pointer_only_when_nothing_smaller_fits(result: Any) -> None:
    """GIVEN a result with no part large enough to be worth a pointer on its own
    WHEN it is over the budget
    THEN the whole result becomes one pointer, which loads back to the result."""
    repo = memory_repo()
    done = offload_result(result, repo, namespace="ns", budget=10_000)
    out, stats = done.result, done.stats

    assert is_pointer(out)
    assert stats.whole_result is True
    assert hydrate(out, repo) == result


def test_parts_over_the_item_budget_go_to_s3_and_smaller_ones_to_dynamodb() -> None:
    """GIVEN a result with a 500 KB part and a 100 KB part
    WHEN both must leave
    THEN the large one is an S3 pointer and the other a DynamoDB pointer."""
    repo = memory_repo()
    result = {"big": "B" * 500_000, "medium": "M" * 100_000}

    out = offload(result, repo, namespace="ns", budget=5_000)

    assert (out["big"]["backend"], out["big"]["bucket"]) == ("s3", BUCKET)
    assert (out["medium"]["backend"], out["medium"]["table"]) == ("dynamodb", TABLE)
    assert hydrate(out, repo) == result


def test_a_bucket_only_configuration_offloads_everything_to_s3() -> None:
    """GIVEN only a bucket configured
    WHEN a result must be offloaded
    THEN its pointer is an S3 pointer."""
    repo = memory_repo(table=None)

    out = offload({"r": "r" * 50_000}, repo, namespace="ns", budget=5_000)

    assert out["r"]["backend"] == "s3"
    assert hydrate(out, repo) == {"r": "r" * 50_000}


def test_a_table_only_configuration_with_an_oversize_part_raises_payload_too_large() -> None:
    """GIVEN only a table configured
    WHEN a 400 KB part (over the 380,000-byte item budget) must leave
    THEN PayloadTooLargeError names the size and asks for a bucket; nothing was written."""
    repo = memory_repo(bucket=None)

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"status": "ok", "blob": "z" * 400_000}

    with pytest.raises(PayloadTooLargeError, match=r"400002 bytes.*SFN_OFFLOAD_BUCKET"):
        handler({}, FakeLambdaContext())
    assert _stored_count(repo) == 0


def test_no_table_and_no_bucket_is_a_configuration_error_when_offload_is_needed() -> None:
    """GIVEN neither table nor bucket
    WHEN a result must be offloaded
    THEN ConfigurationError says what to set."""
    repo = memory_repo(table=None, bucket=None)

    with pytest.raises(ConfigurationError, match="SFN_OFFLOAD_TABLE"):
        offload({"r": "r" * 50_000}, repo, namespace="ns", budget=5_000)


def test_gzip_compression_stores_compressed_parts_that_load_back() -> None:
    """GIVEN compression="gzip"
    WHEN a compressible part is offloaded
    THEN its pointer says json+gzip, it stores fewer bytes, and it loads back."""
    repo = memory_repo(compression="gzip")
    result = {"rows": [{"id": i, "name": "same name"} for i in range(3000)]}
    done = offload_result(result, repo, namespace="ns", budget=5_000)
    out, stats = done.result, done.stats

    assert out["rows"]["encoding"] == "json+gzip"
    assert stats.stored_bytes < stats.offloaded_bytes
    assert hydrate(out, repo) == result


def test_non_string_dict_keys_are_measured_as_json_writes_them() -> None:
    """GIVEN a result with integer keys (JSON writes them quoted, 2 bytes more each) and a
    budget the unquoted sizes would just fit
    WHEN it is offloaded
    THEN the inline remainder still fits the budget."""
    repo = memory_repo()
    result: dict[Any, Any] = dict.fromkeys(range(20), "x" * 3000)
    result.update(dict.fromkeys(range(1000, 1500), 0))
    for budget in range(20_000, 66_000, 500):
        out = offload(result, repo, namespace="ns", budget=budget)
        assert payload_size(out) <= budget, budget


def test_identical_large_parts_with_colliding_path_hints_are_written_once(
    moto_resources: AwsResources,
) -> None:
    """GIVEN two identical 5 KB parts under a 45-character key (path hints are cut to 40
    characters, so both parts get the same deterministic key) kept apart by keep_inline
    WHEN both are offloaded to DynamoDB
    THEN one item is written (BatchWriteItem refuses duplicate keys) and both pointers load."""
    repo = PayloadRepository(
        OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket)
    )
    key = "k" * 45
    result = {key: [{"id": 1, "v": "x" * 5000}, {"id": 2, "v": "x" * 5000}]}

    out = offload(
        result,
        repo,
        namespace="ns",
        budget=2_000,
        keep_inline=[(key, 0, "id"), (key, 1, "id")],
    )

    assert out[key][0]["v"] == out[key][1]["v"]
    assert is_pointer(out[key][0]["v"])
    assert moto_resources.dynamodb().scan(TableName=moto_resources.table)["Count"] == 1
    assert hydrate(out, repo) == result


# --------------------------------------------------------------------------------------------
# the budget
# --------------------------------------------------------------------------------------------


def _result_of_size(size: int) -> dict[str, str]:
    result = {"r": ""}
    result["r"] = "x" * (size - payload_size(result))
    assert payload_size(result) == size
    return result


def test_the_default_budget_leaves_room_for_the_input_the_envelope_and_a_margin() -> None:
    """GIVEN an incoming event of 100,000 bytes
    WHEN the result is exactly 262,144 - 100,000 - 2,048 - 8,192 bytes, and then one more
    THEN the first passes through untouched and the second is offloaded to fit."""
    repo = memory_repo()
    event = _result_of_size(100_000)
    budget = STATE_LIMIT_BYTES - 100_000 - 2_048 - 8_192
    assert inline_budget(100_000) == budget
    results = [_result_of_size(budget), _result_of_size(budget + 1)]

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return results.pop(0)

    fits = handler(event, FakeLambdaContext())
    over = handler(event, FakeLambdaContext())

    assert not _pointers(fits)
    assert set(_pointers(over)) == {"$.r"}


def test_ignore_input_sizes_the_budget_without_the_event() -> None:
    """GIVEN a 200,000-byte event and ignore_input=True (ResultPath replaces the input)
    WHEN the result is 251,904 bytes (262,144 - 2,048 - 8,192)
    THEN it passes through; one byte more is offloaded."""
    repo = memory_repo()
    event = _result_of_size(200_000)
    results = [_result_of_size(251_904), _result_of_size(251_905)]

    @state_offload(repository=repo, ignore_input=True)
    def handler(event: Any, context: Any) -> Any:
        return results.pop(0)

    assert not _pointers(handler(event, FakeLambdaContext()))
    assert _pointers(handler(event, FakeLambdaContext()))


def test_max_inline_bytes_fixes_the_budget_and_margin_bytes_moves_the_default() -> None:
    """GIVEN max_inline_bytes=5,000 for one handler and margin_bytes=0 for another
    WHEN each returns a result just over its budget
    THEN each is offloaded, and just under is not."""
    repo = memory_repo()
    assert inline_budget(10, margin_bytes=0) == STATE_LIMIT_BYTES - 10 - 2_048

    @state_offload(repository=repo, max_inline_bytes=5_000)
    def fixed(event: Any, context: Any) -> Any:
        return _result_of_size(event["size"])

    @state_offload(repository=repo, margin_bytes=0, ignore_input=True)
    def no_margin(event: Any, context: Any) -> Any:
        return _result_of_size(event["size"])

    assert not _pointers(fixed({"size": 5_000}, FakeLambdaContext()))
    assert _pointers(fixed({"size": 5_001}, FakeLambdaContext()))
    assert not _pointers(no_margin({"size": STATE_LIMIT_BYTES - 2_048}, FakeLambdaContext()))
    assert _pointers(no_margin({"size": STATE_LIMIT_BYTES - 2_047}, FakeLambdaContext()))


def test_an_event_near_the_limit_still_leaves_a_minimum_budget() -> None:
    """GIVEN an incoming event of 258,000 bytes (less than nothing left by the formula)
    THEN the budget is the 1,024-byte floor, so a few pointers still fit."""
    assert inline_budget(258_000) == 1_024


def test_a_map_iteration_gets_its_share_of_the_maps_output() -> None:
    """GIVEN an iteration of a 60-way Map (its input is an element reference into a list of 60)
    WHEN it returns 5,000 bytes
    THEN the result is offloaded (each iteration gets about 1/60 of the limit), while the same
    result outside a Map passes through."""
    repo = memory_repo()
    root = repo.write_items(TABLE, "run:shards", [repo.encode(i) for i in range(60)])
    shards = Pointer("dynamodb", TABLE, "run:shards", sha256=root, count=60).to_dict()
    result = {"rows": "r" * 5_000}

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return result

    in_map = handler({"shard": {"sfn_offload_list": shards, "sfn_offload_index": 7}}, None)
    alone = handler({"shard": 7}, None)

    assert inline_budget(payload_size({"shard": 7}), map_siblings=60) == 4_197
    assert set(_pointers(in_map)) == {"$.rows"}
    assert alone is result


# --------------------------------------------------------------------------------------------
# fan-out
# --------------------------------------------------------------------------------------------


def test_fan_out_helper_stores_each_element_even_when_small() -> None:
    """GIVEN a handler returning fan_out([3 small elements]) inside a small result
    WHEN it is invoked
    THEN the list becomes a list pointer with count 3 and an items placeholder of length 3,
    one item per element is stored, and the rest of the result stays inline."""
    repo = memory_repo()
    elements = [{"id": 1}, {"id": 2}, {"id": 3}]

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"status": "ok", "shards": fan_out(elements)}

    out = handler({}, FakeLambdaContext())

    assert out["status"] == "ok"
    assert out["shards"]["count"] == 3
    assert out["shards"]["items"] == [1, 1, 1]
    stored = repo.dynamodb.data  # type: ignore[attr-defined]
    assert sorted(a.index for a in stored if not a.key.startswith(PAGES_PREFIX)) == [0, 1, 2]
    assert hydrate(out, repo) == {"status": "ok", "shards": elements}


def test_fan_out_option_stores_the_named_lists_element_by_element() -> None:
    """GIVEN fan_out=["batches", "report.rows", "absent"] and a result where the first two
    are lists (the third is missing)
    WHEN the handler returns
    THEN both lists become list pointers; the missing path is ignored."""
    repo = memory_repo()
    result = {"batches": [[1, 2], [3]], "report": {"rows": ["a", "b", "c", "d"], "n": 4}}

    @state_offload(repository=repo, fan_out=["batches", "report.rows", "absent"])
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return result

    out = handler({}, FakeLambdaContext())

    assert (out["batches"]["count"], out["report"]["rows"]["count"]) == (2, 4)
    assert out["report"]["n"] == 4
    assert hydrate(out, repo) == result


def test_a_list_both_marked_with_fan_out_and_named_by_the_option_is_stored_once() -> None:
    """GIVEN fan_out=["shards"] and a handler that also returns shards through fan_out()
    THEN the list is stored once, as one list pointer."""
    repo = memory_repo()

    @state_offload(repository=repo, fan_out=["shards"])
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"shards": fan_out(["a", "b"])}

    out = handler({}, FakeLambdaContext())

    assert out["shards"]["count"] == 2
    stored = repo.dynamodb.data  # type: ignore[attr-defined]
    assert sorted(a.index for a in stored if not a.key.startswith(PAGES_PREFIX)) == [0, 1]
    assert repo.dynamodb.requests["put_many"] == 2  # type: ignore[attr-defined]  # page, elements


def test_fan_out_named_path_that_is_not_a_list_is_left_alone() -> None:
    """GIVEN fan_out=["status"] where status is a string
    THEN the result passes through unchanged (and is the same object)."""
    repo = memory_repo()
    result = {"status": "ok"}

    @state_offload(repository=repo, fan_out=["status"])
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return result

    assert handler({}, FakeLambdaContext()) is result
    assert requests(repo) == {}


def test_fan_out_needs_a_table() -> None:
    """GIVEN a bucket-only configuration
    WHEN a handler fans out a list
    THEN ConfigurationError says fan-out needs a table."""
    repo = memory_repo(table=None)

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return {"items": fan_out([1, 2])}

    with pytest.raises(ConfigurationError, match="fan-out"):
        handler({}, FakeLambdaContext())


def test_the_handlers_returned_object_is_not_mutated() -> None:
    """GIVEN a handler whose result has a fanned-out list and large nested parts
    WHEN the result is offloaded
    THEN the object the handler returned still equals a deep copy taken before."""
    repo = memory_repo()
    result = {
        "status": "ok",
        "shards": fan_out([{"i": i} for i in range(3)]),
        "report": {"rows": ["r" * 2_000 for _ in range(50)], "meta": {"blob": "m" * 30_000}},
    }
    before = copy.deepcopy(result)

    @state_offload(repository=repo, max_inline_bytes=5_000)
    def handler(event: Any, context: Any) -> Any:
        return result

    out = handler({}, FakeLambdaContext())

    assert result == before
    assert _pointers(out)
    assert payload_size(out) <= 5_000


# --------------------------------------------------------------------------------------------
# bad results, determinism
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"meta": {"when": dt.datetime(2026, 1, 1)}}, r"\$\.meta\.when is of type datetime"),
        ({"tags": {"a", "b"}}, r"\$\.tags is of type set"),
        ({"score": [1.0, float("nan")]}, r"\$\.score\[1\] is NaN"),
        ({"big": "x" * 300_000, "bad": float("inf")}, r"\$\.bad is Infinity"),
    ],
)
def test_non_json_results_raise_payload_encoding_error_naming_the_path(
    result: Any, message: str
) -> None:
    """GIVEN a result holding something Step Functions cannot carry (small or large)
    WHEN the handler returns it
    THEN PayloadEncodingError names the JSONPath of the offending value; nothing is written."""
    repo = memory_repo()

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return result

    with pytest.raises(PayloadEncodingError, match=message):
        handler({}, FakeLambdaContext())
    assert _stored_count(repo) == 0


def test_non_json_element_of_a_fan_out_list_names_the_element() -> None:
    """GIVEN fan_out([1, {2}])
    THEN PayloadEncodingError names the element index."""

    @state_offload(repository=memory_repo())
    def handler(event: Any, context: Any) -> Any:
        return {"l": fan_out([1, {2}])}

    with pytest.raises(PayloadEncodingError, match="element 1"):
        handler({}, FakeLambdaContext())


def test_running_the_same_handler_twice_writes_the_same_keys(moto_resources: AwsResources) -> None:
    """GIVEN a handler producing large parts and a fan-out list, on DynamoDB and S3
    WHEN it runs twice on the same input (a Step Functions retry)
    THEN both outputs are identical and no new item or object appears the second time."""
    repo = PayloadRepository(
        OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket)
    )
    event = {"sfn_execution_arn": EXECUTION_ARN, "day": "2026-01-01"}

    @state_offload(repository=repo)
    def handler(event: Any, context: Any) -> Any:
        return {
            "day": event["day"],
            "orders": [{"id": i, "name": f"order {i}"} for i in range(20_000)],
            "scan": "s" * 450_000,
            "shards": fan_out([{"shard": i} for i in range(5)]),
        }

    def stored() -> tuple[int, int]:
        items = moto_resources.dynamodb().scan(TableName=moto_resources.table)["Count"]
        objects = moto_resources.s3().list_objects_v2(Bucket=moto_resources.bucket)["KeyCount"]
        return items, objects

    first = handler(event, FakeLambdaContext())
    after_first = stored()
    second = handler(event, FakeLambdaContext())

    assert first == second
    # 5 fan-out items and their list's proof page; orders and scan in S3
    assert stored() == after_first == (6, 2)
    assert first["orders"]["key"].startswith("sfn-offload/run-42.")
    assert first["shards"]["key"].startswith("run-42.")


# --------------------------------------------------------------------------------------------
# producer -> consumer on moto
# --------------------------------------------------------------------------------------------


def test_a_consumer_sees_the_producers_original_multi_megabyte_data(
    moto_resources: AwsResources,
) -> None:
    """GIVEN a producer returning ~3.5 MB (parts for DynamoDB and for S3, and small fields)
    WHEN its output, merged into the next state's input by a ResultPath, reaches a consumer
    THEN the producer's output fits the state limit with mixed DynamoDB/S3 pointers, and the
    consumer sees exactly the original data."""
    config = OffloadConfig(table=moto_resources.table, bucket=moto_resources.bucket)
    original = {
        "status": "ok",
        "orders": [{"id": i, "sku": f"SKU-{i:06}", "qty": i % 7} for i in range(40_000)],
        "summary": {"lines": [f"line {i}" for i in range(25_000)], "total": 40_000},
        "images": ["Ω" * 600_000, "b" * 900_000],
        "note": "small",
    }

    @state_offload(config=config)
    def producer(event: Any, context: Any) -> Any:
        return copy.deepcopy(original)

    seen: list[Any] = []

    @state_offload(config=config)
    def consumer(event: Any, context: Any) -> Any:
        seen.append(event)
        return {"orders": len(event["produced"]["orders"])}

    start = {"sfn_execution_arn": EXECUTION_ARN, "request": {"day": "2026-01-01"}}
    produced = producer(start, FakeLambdaContext())
    backends = {p["backend"] for p in _pointers(produced).values()}

    assert payload_size({**start, "produced": produced}) <= STATE_LIMIT_BYTES
    assert backends == {"dynamodb", "s3"}
    assert produced["status"] == "ok"
    assert produced["note"] == "small"
    assert consumer({**start, "produced": produced}, FakeLambdaContext()) == {"orders": 40_000}
    assert seen[0] == {**start, "produced": original}


# --------------------------------------------------------------------------------------------
# property: offload then hydrate is the identity, and the remainder fits
# --------------------------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50)
    | st.builds(lambda n, c: c * n, st.integers(0, 3_000), st.sampled_from(["a", "é", "😀"])),
    lambda children: (
        st.lists(children, max_size=8)
        # Keys JSON writes alike ({"3": ..., 3: ...}) are refused, not carried (test_codec).
        | st.dictionaries(st.text(max_size=8) | st.integers(0, 99), children, max_size=8).filter(
            lambda d: len({str(k) for k in d}) == len(d)
        )
    ),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_json, budget=st.integers(1_024, 40_000))
def test_offload_then_hydrate_gives_back_the_value_and_the_remainder_fits(
    value: Any, budget: int
) -> None:
    """GIVEN any JSON value (including non-string keys, multi-byte text) and any budget
    WHEN it is offloaded and the output hydrated
    THEN the output fits the budget (or is one whole-result pointer) and hydrates to the value
    as JSON would carry it."""
    repo = memory_repo()

    out = offload(value, repo, namespace="ns", budget=budget)

    assert payload_size(out) <= budget or is_pointer(out)
    assert json.loads(json.dumps(hydrate(out, repo))) == json.loads(json.dumps(value))
