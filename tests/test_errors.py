"""One error tree, and botocore errors mapped into it in one place."""

from __future__ import annotations

import inspect

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

import sfn_offload
import sfn_offload.errors
from sfn_offload import (
    ConfigurationError,
    NoItemFound,
    PayloadTooLargeError,
    PointerError,
    SfnOffloadError,
    StateDataClientError,
)
from sfn_offload.errors import (
    IntegrityError,
    PayloadEncodingError,
    PointerNotAllowedError,
    StopExecutionError,
    StoreError,
    translate_aws_errors,
)

#: Raised by user code to request an action, not errors; kept out of the tree on purpose so an
#: ``except SfnOffloadError`` cannot swallow them.
CONTROL_FLOW = {"StopExecution"}

PUBLIC_ERRORS = [
    obj
    for name, obj in vars(sfn_offload.errors).items()
    if name in sfn_offload.errors.__all__
    and name not in CONTROL_FLOW
    and inspect.isclass(obj)
    and issubclass(obj, BaseException)
]


def client_error(code: str, message: str = "", operation: str = "Op") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# --------------------------------------------------------------------------------------------
# hierarchy
# --------------------------------------------------------------------------------------------


def test_the_public_error_list_is_found() -> None:
    assert len(PUBLIC_ERRORS) >= 11
    assert SfnOffloadError in PUBLIC_ERRORS


def test_every_error_the_top_level_exports_is_in_the_tree_module() -> None:
    top = {
        obj
        for name, obj in vars(sfn_offload).items()
        if name in sfn_offload.__all__ and inspect.isclass(obj) and issubclass(obj, Exception)
    }
    assert top - {sfn_offload.StopExecution} <= set(PUBLIC_ERRORS)


@pytest.mark.parametrize("error", PUBLIC_ERRORS, ids=lambda e: e.__name__)
def test_every_public_error_subclasses_sfn_offload_error(error: type[BaseException]) -> None:
    assert issubclass(error, SfnOffloadError)


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (NoItemFound, StateDataClientError),
        (PayloadEncodingError, StateDataClientError),
        (PayloadTooLargeError, StateDataClientError),
        (PointerError, StateDataClientError),
        (PointerNotAllowedError, PointerError),
        (IntegrityError, StateDataClientError),
        (StoreError, StateDataClientError),
        (StateDataClientError, SfnOffloadError),
        (ConfigurationError, SfnOffloadError),
        (StopExecutionError, SfnOffloadError),
        (SfnOffloadError, Exception),
    ],
)
def test_given_the_documented_tree_then_each_error_has_its_parent(
    child: type[Exception], parent: type[Exception]
) -> None:
    assert issubclass(child, parent)


def test_given_code_written_for_py2sfn_then_except_state_data_client_error_catches_no_item() -> (
    None
):
    with pytest.raises(StateDataClientError):
        raise NoItemFound("partition_key=x sort_key=0")


def test_given_a_store_error_then_it_carries_the_aws_code() -> None:
    assert StoreError("boom", code="ThrottlingException").code == "ThrottlingException"
    assert StoreError("boom").code == ""


# --------------------------------------------------------------------------------------------
# translate_aws_errors
# --------------------------------------------------------------------------------------------


def test_given_no_such_key_then_no_item_found_naming_operation_and_where() -> None:
    original = client_error("NoSuchKey", "The specified key does not exist.", "GetObject")
    with (
        pytest.raises(NoItemFound) as info,
        translate_aws_errors("S3.GetObject", "bucket 'b' key 'k/0'"),
    ):
        raise original
    assert info.value.__cause__ is original
    assert "S3.GetObject" in str(info.value)
    assert "bucket 'b' key 'k/0'" in str(info.value)


@pytest.mark.parametrize(
    ("code", "message", "operation"),
    [
        ("NoSuchBucket", "The specified bucket does not exist", "S3.GetObject"),
        # real DynamoDB and moto say only this for a missing table on data-plane calls
        ("ResourceNotFoundException", "Requested resource not found", "DynamoDB.GetItem"),
        ("ResourceNotFoundException", "Requested resource not found", "DynamoDB.BatchGetItem"),
        (
            "ResourceNotFoundException",
            "Requested resource not found: Table: state not found",
            "DynamoDB.Query",
        ),
    ],
)
def test_given_a_missing_table_or_bucket_then_configuration_error(
    code: str, message: str, operation: str
) -> None:
    original = client_error(code, message)
    with (
        pytest.raises(ConfigurationError) as info,
        translate_aws_errors(operation, "table 'state' partition_key 'p' index 0"),
    ):
        raise original
    assert not isinstance(info.value, StateDataClientError)  # a setup problem, not data
    assert info.value.__cause__ is original
    assert operation in str(info.value)
    assert "table 'state' partition_key 'p' index 0" in str(info.value)
    assert code in str(info.value)


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "AccessDeniedException",
        "AccessDenied",
        "ValidationException",
        "InternalServerError",
    ],
)
def test_given_any_other_client_error_then_store_error_with_its_code(code: str) -> None:
    original = client_error(code, "Rate exceeded")
    with (
        pytest.raises(StoreError) as info,
        translate_aws_errors("DynamoDB.BatchWriteItem", "tables ['state'] (25 writes)"),
    ):
        raise original
    assert info.value.code == code
    assert info.value.__cause__ is original
    text = str(info.value)
    assert "DynamoDB.BatchWriteItem" in text
    assert "tables ['state'] (25 writes)" in text
    assert "Rate exceeded" in text


def test_given_a_client_error_without_message_then_store_error_text_has_no_dangling_colon() -> None:
    with pytest.raises(StoreError) as info, translate_aws_errors("S3.PutObject", "bucket 'b'"):
        raise client_error("InternalError", "")
    assert not str(info.value).endswith(":")
    assert "InternalError" in str(info.value)


@pytest.mark.parametrize(
    "original",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/"),
        ConnectTimeoutError(endpoint_url="https://s3.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://s3.amazonaws.com/"),
        NoCredentialsError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_given_a_botocore_transport_error_then_store_error_named_after_it(
    original: Exception,
) -> None:
    with (
        pytest.raises(StoreError) as info,
        translate_aws_errors("DynamoDB.Query", "table 't' partition_key 'p'"),
    ):
        raise original
    assert info.value.code == type(original).__name__
    assert info.value.__cause__ is original
    assert "DynamoDB.Query" in str(info.value)
    assert "table 't' partition_key 'p'" in str(info.value)


def test_given_the_endpoint_is_unreachable_then_the_message_names_the_endpoint() -> None:
    url = "http://localhost:1/"
    with pytest.raises(StoreError, match="localhost:1"), translate_aws_errors("S3.GetObject", "b"):
        raise EndpointConnectionError(endpoint_url=url)


def test_given_a_non_aws_exception_then_it_passes_through_untouched() -> None:
    original = ValueError("not ours")
    with pytest.raises(ValueError, match="not ours") as info, translate_aws_errors("op", "where"):
        raise original
    assert info.value is original


def test_given_a_library_error_inside_then_it_passes_through_untouched() -> None:
    with pytest.raises(IntegrityError), translate_aws_errors("op", "where"):
        raise IntegrityError("digest mismatch")


def test_given_no_error_then_the_block_runs_normally() -> None:
    ran = []
    with translate_aws_errors("op", "where"):
        ran.append(True)
    assert ran == [True]
