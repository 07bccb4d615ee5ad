"""One DynamoDB table through boto3: the client, the table created if missing, consistent reads,
transactions with their cancellations sorted out, retries, and a count of what was used.

The ``dynamo`` cache (``registry/cache/dynamo.py``) decides what to read and write; this module
is where boto3's errors become the registry's (``BackendUnavailable``) and where a transaction
that lost a race to a concurrent one is told apart from one whose condition failed.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from ..errors import BackendUnavailable
from .dynamo_layout import Item, S, fits

try:
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # an optional install: DynamoCache.from_config names the pip command
    pass

T = TypeVar("T")
ATTEMPTS = 25
#: Cancellation reasons that a later attempt may not meet.
RETRYABLE = {
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
}
#: Item index in a transaction -> the error its failed condition means.
Failures = Mapping[int, Callable[[], Exception]]


class Retry(Exception):
    """A transaction lost to a concurrent one: read again and try again."""


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class DynamoTable:
    """The table ``name`` (keys ``pk``/``sk``), reached with one client per process.

    ``reads`` and ``writes`` count read requests and items written since start; ``usage``
    splits them per operation.
    """

    def __init__(
        self,
        name: str,
        region_name: str = "",
        endpoint_url: str = "",
        credentials: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.credentials = credentials or {}
        self.reads = 0
        self.writes = 0
        self.usage: dict[str, list[int]] = {}
        self._current: tuple[Any, int] | None = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        """This process's client, the table created if missing (a forked child makes its own)."""
        current = self._current
        if current is not None and current[1] == os.getpid():
            return current[0]
        with self._lock:
            if self._current is None or self._current[1] != os.getpid():
                with self._errors("connect"):
                    session = boto3.session.Session(region_name=self.region_name or None, **self.credentials)
                    config = BotoConfig(
                        retries={"mode": "standard", "max_attempts": 4},
                        connect_timeout=5,
                        read_timeout=20,
                        max_pool_connections=32,
                    )
                    client = session.client("dynamodb", endpoint_url=self.endpoint_url or None, config=config)
                    self._ensure_table(client)
                self._current = (client, os.getpid())
            return self._current[0]

    def _ensure_table(self, client: Any) -> None:
        try:
            client.describe_table(TableName=self.name)
            return
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
        keys = [("pk", "HASH"), ("sk", "RANGE")]
        try:
            client.create_table(
                TableName=self.name,
                KeySchema=[{"AttributeName": name, "KeyType": kind} for name, kind in keys],
                AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":  # another process created it meanwhile
                raise
        client.get_waiter("table_exists").wait(
            TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate boto3's errors into ``BackendUnavailable`` at the edge."""
        try:
            yield
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "")
            raise BackendUnavailable(f"DynamoDB {action} failed: {_code(exc)}: {message}") from exc
        except BotoCoreError as exc:
            raise BackendUnavailable(f"DynamoDB {action} failed: {exc}") from exc

    def _count(self, operation: str, reads: int = 0, writes: int = 0) -> None:
        with self._lock:
            self.reads += reads
            self.writes += writes
            totals = self.usage.setdefault(operation, [0, 0])
            totals[0] += reads
            totals[1] += writes

    def get(self, operation: str, item_key: Item, fields: tuple[str, ...] = ()) -> Item | None:
        """One strongly consistent read of an item (only ``fields``, if given), or None."""
        if not fits(item_key):
            return None
        request: dict[str, Any] = {"TableName": self.name, "Key": item_key, "ConsistentRead": True}
        if fields:
            request["ProjectionExpression"] = ", ".join(f"#a{n}" for n in range(len(fields)))
            request["ExpressionAttributeNames"] = {f"#a{n}": name for n, name in enumerate(fields)}
        client = self.client()
        with self._errors(operation):
            answer = client.get_item(**request)
        self._count(operation, reads=1)
        found: Item | None = answer.get("Item")
        return found

    def query(self, operation: str, partition: str) -> list[Item]:
        """Every item of a partition, in key order (one request per 1 MB page)."""
        if not fits({"pk": S(partition), "sk": S("-")}):
            return []
        request: dict[str, Any] = {"TableName": self.name, "ConsistentRead": True}
        request.update(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": S(partition)})
        client, items = self.client(), []
        while True:
            with self._errors(operation):
                answer = client.query(**request)
            self._count(operation, reads=1)
            items += answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return items
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def commit(self, operation: str, items: list[Item], failures: Failures) -> None:
        """One transaction. A failed condition on item ``i`` raises ``failures[i]()`` (a retry
        when it has none); a lost race raises ``Retry``."""
        client = self.client()
        try:
            client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _code(exc) not in ("TransactionCanceledException", "TransactionInProgressException"):
                raise BackendUnavailable(f"DynamoDB {operation} failed: {_code(exc)}: {exc}") from exc
            reasons = [reason.get("Code", "") for reason in exc.response.get("CancellationReasons", [])]
            for index, reason in enumerate(reasons):
                if reason == "ConditionalCheckFailed":
                    raise (failures[index]() if index in failures else Retry()) from exc
            if not reasons or RETRYABLE.intersection(reasons):
                raise Retry() from exc
            raise BackendUnavailable(f"DynamoDB {operation} was cancelled: {', '.join(reasons)}") from exc
        except BotoCoreError as exc:
            raise BackendUnavailable(f"DynamoDB {operation} failed: {exc}") from exc
        self._count(operation, writes=len(items))

    def retry(self, operation: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until no concurrent transaction beats it."""
        for tries in range(ATTEMPTS):
            try:
                return attempt()
            except Retry:
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**tries)))
        raise BackendUnavailable(f"DynamoDB {operation}: too much contention, gave up after {ATTEMPTS} tries")

    def reset_usage(self) -> dict[str, list[int]]:
        """Zero the counters; return the per-operation ``[reads, writes]`` counted until now."""
        with self._lock:
            usage, self.usage = self.usage, {}
            self.reads = self.writes = 0
        return usage

    def close(self) -> None:
        with self._lock:
            current, self._current = self._current, None
        if current is not None and current[1] == os.getpid():
            current[0].close()
