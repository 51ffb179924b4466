"""The bad-input corpus (``tests/corpus/bad_inputs.json``): each case gets its own library error.

Every case runs a decorated handler on moto (``"via": "hydrate"``: the plain ``hydrate``
function): the bad input is hydrated (or the bad result offloaded) and must raise exactly the
error class the corpus names, with a message naming the problem and where. Nothing else may
escape (no ``KeyError``, ``TypeError``, ``AttributeError``, ``UnicodeEncodeError``...), nothing
may be left in the table or bucket by the failed invocation, and cases marked ``"requests": 0``
must be refused before any request reaches AWS.
"""

from __future__ import annotations

import datetime
import decimal
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import AwsResources
from fakes import EXECUTION_ARN, FakeLambdaContext
from sfn_offload import (
    OffloadConfig,
    SfnOffloadError,
    StateDataClient,
    fan_out,
    hydrate,
    state_offload,
)
from sfn_offload._identity import resolve_identity
from sfn_offload.storage import Address, AwsClients, PayloadRepository, Record
from sfn_offload.wire import Pointer
from sfn_offload.wire.codec import digest

CORPUS = json.loads((Path(__file__).parent / "corpus" / "bad_inputs.json").read_text("utf-8"))
CASES: list[dict[str, Any]] = CORPUS["cases"]
WRITES = {"PutItem", "BatchWriteItem", "PutObject", "DeleteObjects", "DeleteObject"}
GOOD_DDB = {"good": "dynamodb", "n": 1}
GOOD_S3 = {"good": "s3", "text": "s" * 1_500}
GOOD_LIST = [{"e": 0}, {"e": 1}, {"e": 2}]
#: A list of the execution the cases run in (EXECUTION_ARN): lists without a digest can only be
#: read by their own execution.
LIST_PK = f"{resolve_identity({'sfn_execution_arn': EXECUTION_ARN}, None).namespace}:list"


class Opaque:
    """An object JSON knows nothing about."""


def test_the_corpus_has_at_least_40_cases_with_unique_ids() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)
    assert all(case["expect"] is None or case["message"] for case in CASES)


class Wire:
    """Counts the requests that reach AWS (``before-send``), per operation."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-send", self._count)
        return client

    def _count(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".")
        self.sent[f"{service}.{operation}"] += 1


class Setup:
    """Good data written for real, from which each case's bad input is made."""

    def __init__(self, res: AwsResources) -> None:
        self.res = res
        self.wire = Wire()
        self.dynamodb = self.wire.attach(res.dynamodb())
        self.s3 = self.wire.attach(res.s3())
        self.repo = PayloadRepository(
            OffloadConfig(table=res.table, bucket=res.bucket, item_budget_bytes=1_000),
            clients=AwsClients(dynamodb_client=self.dynamodb, s3_client=self.s3),
        )
        repo = self.repo
        self.pointers: dict[str, dict[str, Any]] = {
            "ddb": repo.write_value("good:ddb", 0, repo.encode(GOOD_DDB)).to_dict(),
            "s3": repo.write_value("good:s3", 0, repo.encode(GOOD_S3)).to_dict(),
        }
        assert self.pointers["s3"]["backend"] == "s3"
        StateDataClient(repository=repo).put_global_items(res.table, LIST_PK, GOOD_LIST)
        # Cases edit the list pointer's fields; its "ref" (a copy of them) would then be refused
        # first, so the corpus uses the form without it (as older writers produced).
        listed = Pointer("dynamodb", res.table, LIST_PK, count=3).to_dict(with_items=True)
        self.pointers["list"] = {k: v for k, v in listed.items() if k != "ref"}
        self.inner = {**self.pointers["ddb"], "table": "other-table"}
        self.pointers["inner"] = repo.write_value(
            "good:inner", 0, repo.encode(self.inner)
        ).to_dict()
        # An item whose payload is said to be in a bucket off the allow-list.
        body = json.dumps({"secret": 1}).encode()
        self.dynamodb.put_item(
            TableName=res.table,
            Item={
                "partition_key": {"S": "good:foreign"},
                "sort_key": {"N": "0"},
                "s3_key": {"S": "stolen/0"},
                "s3_bucket": {"S": "other-bucket"},
                "sha256": {"S": digest(body)},
                "size": {"N": str(len(body))},
                "encoding": {"S": "json"},
            },
        )
        self.pointers["foreign-redirect"] = Pointer(
            "dynamodb", res.table, "good:foreign", 0, len(body), digest(body), "json"
        ).to_dict()

    # -- building a case's input -------------------------------------------------------------

    def text(self, value: str) -> Any:
        good = self.pointers["ddb"]
        replacements: dict[str, Any] = {
            "$TABLE": self.res.table,
            "$BUCKET": self.res.bucket,
            "$LIST_PK": LIST_PK,
            "$UPPER_SHA": good["sha256"].upper(),
            "$SIZE_PLUS_ONE": good["size"] + 1,
        }
        return replacements.get(value, value)

    def build(self, spec: Any) -> Any:
        if isinstance(spec, str):
            return self.text(spec)
        if isinstance(spec, list):
            return [self.build(v) for v in spec]
        if not isinstance(spec, dict):
            return spec
        if "$pointer" in spec:
            pointer = dict(self.pointer(spec["$pointer"]))
            pointer.update({k: self.build(v) for k, v in spec.get("set", {}).items()})
            for name in spec.get("unset", []):
                del pointer[name]
            return pointer
        if "$repeat" in spec:
            text, times = spec["$repeat"]
            return text * times
        if "$nonjson" in spec:
            return nonjson(spec["$nonjson"])
        if "$fan_out" in spec:
            return fan_out(self.build(spec["$fan_out"]))
        return {self.build(k): self.build(v) for k, v in spec.items()}

    def pointer(self, name: str) -> dict[str, Any]:
        if name.startswith("raw:"):
            return self.raw(name)
        return self.pointers[name]

    def raw(self, name: str) -> dict[str, Any]:
        """``raw:<backend>:<encoding>:<body>``: bytes stored as they are, with a true digest."""
        _, backend, encoding, text = name.split(":", 3)
        special = {
            "$TRUNCATED_GZIP": gzip.compress(b'{"a":' + b"1" * 500 + b"}", mtime=0)[:-12],
            "$NOT_UTF8": b'"\xff\xfe"',
        }
        body = special.get(text, text.encode())
        record = Record(body, encoding, digest(body), len(body))
        if backend == "s3":
            address = Address(self.res.bucket, f"sfn-offload/raw/{len(body)}", 0)
            self.repo.s3.put(address, record)
        else:
            address = Address(self.res.table, f"raw:{digest(body)[:8]}", 0)
            self.repo.dynamodb.put(address, record)
        return Pointer(
            backend,  # type: ignore[arg-type]
            address.container,
            address.key,
            0,
            len(body),
            digest(body),
            encoding,
        ).to_dict()

    # -- tampering with what was stored ------------------------------------------------------

    def tamper(self, spec: dict[str, Any]) -> None:
        if "item" in spec:
            good = self.pointers[spec["item"]]
            key = {"partition_key": {"S": good["key"]}, "sort_key": {"N": str(good["index"])}}
            item = self.dynamodb.get_item(TableName=self.res.table, Key=key)["Item"]
            item.update(spec.get("set", {}))
            for name in spec.get("unset", []):
                del item[name]
            if spec.get("data") == "same-size":
                item["data"] = {"S": item["data"]["S"].replace('"n":1', '"n":2')}
            self.dynamodb.put_item(TableName=self.res.table, Item=item)
        if "object" in spec:
            good = self.pointers[spec["object"]]
            got = self.s3.get_object(Bucket=self.res.bucket, Key=good["key"])
            body = got["Body"].read()
            edit = spec.get("body")
            if edit == "flip":
                body = body.replace(b"s", b"t", 1)
            elif edit == "truncate":
                body = body[: len(body) // 2]
            elif edit == "append":
                body += b" "
            self.s3.put_object(
                Bucket=self.res.bucket,
                Key=good["key"],
                Body=body,
                Metadata={**got["Metadata"], **spec.get("metadata", {})},
            )

    def inventory(self) -> tuple[set[tuple[str, int]], set[str]]:
        items = {
            (i["partition_key"]["S"], int(i["sort_key"]["N"]))
            for i in self.res.dynamodb().scan(TableName=self.res.table)["Items"]
        }
        listed = self.res.s3().list_objects_v2(Bucket=self.res.bucket).get("Contents", [])
        return items, {o["Key"] for o in listed}


def nonjson(kind: str) -> Any:
    if kind == "deep":
        value: Any = 0
        for _ in range(2_000):
            value = [value]
        return value
    return {
        "datetime": datetime.datetime(2026, 1, 2, 3, 4, 5),
        "date": datetime.date(2026, 1, 2),
        "set": {1, 2},
        "frozenset": frozenset({"a"}),
        "bytes": b"\xff\x01",  # not UTF-8 (the runtime writes UTF-8 bytes as a string)
        "bytearray": bytearray(b"ab"),
        "nan": float("nan"),
        "inf": float("inf"),
        "-inf": float("-inf"),
        "decimal-nan": decimal.Decimal("NaN"),  # a finite Decimal is a JSON number
        "object": Opaque(),
        "huge-int": 10**5_000,
        "tuple-key": {("a", "b"): 1},
        "nan-key": {float("nan"): 1},
    }[kind]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_bad_input_gets_a_specific_library_error(
    case: dict[str, Any], moto_resources: AwsResources
) -> None:
    setup = Setup(moto_resources)
    if "event" in case:
        event = {"sfn_execution_arn": EXECUTION_ARN, **setup.build(case["event"])}
    else:
        event = {"sfn_execution_arn": EXECUTION_ARN}
        if "input" in case:
            event["data"] = setup.build(case["input"])
    result = setup.build(case["result"]) if "result" in case else {"ok": True}
    if "tamper" in case:
        setup.tamper(case["tamper"])
    received: list[Any] = []

    @state_offload(repository=setup.repo, **case.get("options", {}))
    def handler(event: dict[str, Any], context: Any) -> Any:
        received.append(event)
        return result

    before = setup.inventory()
    setup.wire.sent.clear()
    if case.get("via") == "hydrate":
        handler = lambda event, context: hydrate(event, setup.repo)  # noqa: E731

    if case["expect"] is None:
        assert handler(event, FakeLambdaContext()) == result
        assert received[0]["data"] == setup.inner  # loaded data is never followed again
        return

    with pytest.raises(SfnOffloadError) as caught:
        handler(event, FakeLambdaContext())

    error = caught.value
    assert type(error).__name__ == case["expect"], f"{type(error).__name__}: {error}"
    for fragment in case["message"]:
        assert fragment in str(error), str(error)
    sent = dict(setup.wire.sent)
    if case.get("requests") == 0:
        assert sent == {}, "refused only after sending requests"
    if case.get("s3_requests") == 0:
        assert not [op for op in sent if op.startswith("s3.")]
    if case.get("writes") == 0:
        assert not [op for op in sent if op.split(".")[1] in WRITES]
    if "result" in case:
        assert len(received) == 1  # the handler ran; its result was refused
    assert setup.inventory() == before  # a failed invocation leaves nothing behind
