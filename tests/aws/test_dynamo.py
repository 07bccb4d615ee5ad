"""The ``dynamo`` cache beyond the Cache contract, on moto: chunks, retries, reads per request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from registry.cache import cache_from_config
from registry.cache.dynamo import DynamoCache
from registry.cache.dynamo_table import ATTEMPTS
from registry.config import load_config
from registry.errors import BackendUnavailable
from tests.contract.test_cache import record
from tests.distributions import Dist
from tests.recovery.conftest import build
from tests.server import base_settings


@pytest.fixture
def cache(dynamo_settings: dict[str, str]) -> Iterator[DynamoCache]:
    built = cache_from_config(load_config(environ={}, overrides=dynamo_settings))
    assert isinstance(built, DynamoCache)
    yield built
    built.close()


def stored_items(cache: DynamoCache, partition: str) -> list[dict[str, Any]]:
    """The raw items of a partition, read with the backend's own client."""
    answer = cache.table.client().query(
        TableName=cache.table.name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": partition}},
    )
    items: list[dict[str, Any]] = answer["Items"]
    return items


def test_records_overflow_into_chunks_and_back(cache: DynamoCache) -> None:
    cache.chunk_bytes = 2_000  # 2 records (~700 bytes each) a chunk instead of ~400
    records = [record(version=f"1.{n}") for n in range(10)]
    for item in records:
        cache.add_file(item)
    chunks = [item for item in stored_items(cache, "project#demo") if item["sk"]["S"].startswith("chunk#")]
    assert len(chunks) >= 3
    assert all(len(str(chunk)) < 3_000 for chunk in chunks)
    assert sorted(cache.list_files("demo"), key=lambda r: r.filename) == records
    yanked = [records[0].with_changes(yanked=True), records[-1].with_changes(yanked=True, yanked_reason="x")]
    cache.update_files(yanked)  # two chunks in one transaction
    assert sorted(cache.list_files("demo"), key=lambda r: r.filename) == [
        yanked[0],
        *records[1:-1],
        yanked[1],
    ]
    for item in records:
        cache.remove_file("demo", item.filename)
    assert cache.list_files("demo") == [] and cache.is_empty()
    assert [item["sk"]["S"] for item in stored_items(cache, "project#demo")] == ["head"]  # chunks gone
    cache.add_file(records[3])
    assert cache.list_files("demo") == [records[3]]


def conflict() -> ClientError:
    """What DynamoDB answers when another transaction holds one of the items."""
    reasons = [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "Transaction is ongoing"}]
    response: Any = {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}}
    response["CancellationReasons"] = reasons
    return ClientError(response, "TransactWriteItems")


def test_a_transaction_that_loses_a_race_is_retried(
    cache: DynamoCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto serializes requests, so it never answers TransactionConflict; DynamoDB does under load.
    client, calls = cache.table.client(), []
    real = client.transact_write_items

    def busy_twice(**request: Any) -> Any:
        calls.append(request)
        if len(calls) <= 2:
            raise conflict()
        return real(**request)

    monkeypatch.setattr(client, "transact_write_items", busy_twice)
    cache.add_file(record())
    cache.put_doc("user", "alice", {"n": 1})
    assert len(calls) == 4
    assert cache.list_files("demo") == [record()]
    assert cache.get_doc("user", "alice") == {"n": 1}


def test_endless_contention_is_a_backend_error(cache: DynamoCache, monkeypatch: pytest.MonkeyPatch) -> None:
    client, calls = cache.table.client(), []

    def always_busy(**request: Any) -> Any:
        calls.append(request)
        raise conflict()

    monkeypatch.setattr(client, "transact_write_items", always_busy)
    monkeypatch.setattr("registry.cache.dynamo_table.time.sleep", lambda seconds: None)
    with pytest.raises(BackendUnavailable, match="too much contention"):
        cache.add_file(record())
    assert len(calls) == ATTEMPTS
    assert cache.get_file("demo", record().filename) is None


def test_names_longer_than_a_key_are_simply_not_found(cache: DynamoCache) -> None:
    long = "x" * 3000
    assert cache.project_serial(long) is None
    assert cache.list_files(long) == []
    assert cache.get_file("demo", long) is None


def test_an_unreachable_endpoint_is_a_backend_error() -> None:
    from tests.emulators import free_port

    overrides = {
        "pypi.db": "dynamo",
        "db.endpoint_url": f"http://127.0.0.1:{free_port()}",
        "db.region_name": "us-east-1",
    }
    cache = cache_from_config(load_config(environ={}, overrides=overrides))
    with pytest.raises(BackendUnavailable, match="DynamoDB connect failed"):
        cache.project_serial("demo")


def test_reads_per_request(dynamo_settings: dict[str, str], tmp_path: Path) -> None:
    registry = build({**base_settings(tmp_path), **dynamo_settings, "auth.refresh_seconds": "3600"})
    cache = registry.services.cache
    assert isinstance(cache, DynamoCache)
    assert registry.upload_wheel(Dist("reads-demo", "1.0")).status_code == 200
    for path in ("/simple/reads-demo/", "/simple/"):
        assert registry.client.get(path).status_code == 200  # renders and keeps the page
    cache.reset_usage()
    assert registry.client.get("/simple/reads-demo/").status_code == 200
    assert cache.reset_usage() == {"project_serial": [1, 0]}
    assert registry.client.get("/simple/").status_code == 200
    assert cache.reset_usage() == {"index_serial": [1, 0]}
    cache.close()
