"""Metadata in Amazon DynamoDB, laid out like the Firestore backend: a page view is one small read.

One table, ``<db.namespace>registry`` (keys ``pk``/``sk``, on-demand billing), created on first
use when missing. Its items (``dynamo_layout.py`` builds the keys; ``docs/backends.md`` has costs):

- ``file#<project>`` / ``<filename>``: one file's record and the chunk holding its copy; the
  source of truth for that file. Creating it is what makes ``add_file`` create-only.
- ``project#<project>`` / ``head``: display name, file count, serial, estimated bytes per chunk.
  A few dozen bytes, so ``project_serial`` (every page view) reads one small item.
- ``project#<project>`` / ``chunk#<n>``: every record of the project again, one ``f:<filename>``
  attribute each, so ``list_files`` is one query of the partition; past ``CHUNK_BYTES`` records
  go to the next chunk, keeping each item under DynamoDB's 400 KB limit.
- ``index`` / ``shard#<k>``: every project's display name, over 16 items, for ``/simple/`` in one
  query. ``meta`` / ``index``: the index serial and the file count; ``meta`` / ``docs``: the
  access serial. ``doc#<kind>`` / ``<key>``: access documents.

Every change is one ``TransactWriteItems`` (all or nothing). Adds write blindly (``SET``/``ADD``)
after one read of the head to pick a chunk; the conditional create of the file item is the race
guard. Removals compare-and-set the head's count and retry. Serials are counters moved with
``ADD``: a head is kept (with count 0) when its project's last file goes, so a project created
again never repeats a serial. DynamoDB cancels a transaction that touches an item another one
in flight holds (``TransactionConflict``); every write then retries with a jittered backoff.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from packaging.utils import NormalizedName

from ..config import Config, Setting, parse_text
from ..errors import AlreadyExists, BackendUnavailable, ConfigError, NotFound
from ..models import FileRecord, ProjectSummary
from .base import Cache
from .dynamo_layout import (
    CHUNK_BYTES,
    DOCS_META,
    FILE_ATTR,
    HEAD,
    INDEX_META,
    PROJECT_ATTR,
    Item,
    N,
    S,
    bump_index,
    choose_chunk,
    chunk_key,
    chunk_sizes,
    doc_key,
    entry_bytes,
    file_key,
    fits,
    head_key,
    number,
    parse_endpoint,
    parse_namespace,
    project_partition,
    records_of,
    shard_key,
    update,
)
from .records import decode_record, encode_record

try:
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # an optional install: from_config names the pip command
    pass

T = TypeVar("T")
PIP_REQUIREMENT = "boto3==1.44.8"  # as pinned in requirements-aws.txt
ATTEMPTS = 25
#: Files per transaction when many are updated at once: 32 files, their chunks and heads and
#: the index stay under TransactWriteItems' 100 items. Fewer files are updated atomically.
UPDATE_GROUP = 32
RETRYABLE = {
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
}
Failures = Mapping[int, Callable[[], Exception]]


class _Retry(Exception):
    """A transaction lost to a concurrent one: read again and try again."""


class _Missing(Exception):
    """The item a conditional delete expected was not there."""


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class DynamoCache(Cache):
    """Metadata in DynamoDB (``pypi.db = dynamo``), or any endpoint speaking its API.

    ``reads`` and ``writes`` count read requests and items written since start; ``usage``
    splits them per operation (``reset_usage`` for ``python -m registry backend-usage``).
    """

    settings = (
        Setting("db.region_name", "", parse_text, "`dynamo` cache: the AWS region (empty: `AWS_REGION`)."),
        Setting(
            "db.namespace",
            "",
            parse_namespace,
            "`dynamo` cache: prefix of the table name, `<namespace>registry`, so registries can share "
            "an account.",
        ),
        Setting(
            "db.endpoint_url",
            "",
            parse_endpoint,
            "`dynamo` cache: a DynamoDB-compatible endpoint (DynamoDB Local, moto); empty: AWS.",
        ),
        Setting(
            "db.aws_access_key_id",
            "",
            parse_text,
            "`dynamo` cache: an access key; empty: boto3's usual sources (environment, instance role).",
        ),
        Setting("db.aws_secret_access_key", "", parse_text, "`dynamo` cache: its secret key.", secret=True),
        Setting(
            "db.aws_session_token", "", parse_text, "`dynamo` cache: a session token, if any.", secret=True
        ),
    )

    def __init__(
        self,
        region_name: str = "",
        namespace: str = "",
        endpoint_url: str = "",
        credentials: dict[str, str] | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.region_name = region_name
        self.chunk_bytes = chunk_bytes
        self.table = f"{namespace}registry"
        self.endpoint_url = endpoint_url
        self.credentials = credentials or {}
        self.reads = 0
        self.writes = 0
        self.usage: dict[str, list[int]] = {}
        self._current: tuple[Any, int] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> DynamoCache:
        if importlib.util.find_spec("boto3") is None:
            raise ConfigError(
                f"pypi.db = dynamo needs boto3, which is not installed: pip install '{PIP_REQUIREMENT}'"
            )
        region, namespace, endpoint, key_id, secret, token = (config.get_setting(s) for s in cls.settings)
        if bool(key_id) != bool(secret):
            raise ConfigError(
                "db.aws_access_key_id and db.aws_secret_access_key go together: set both or neither"
            )
        credentials = {"aws_access_key_id": key_id, "aws_secret_access_key": secret} if key_id else {}
        if token:
            credentials["aws_session_token"] = token
        return cls(region, namespace, endpoint, credentials)

    # -- plumbing ------------------------------------------------------------------------

    def _db(self) -> Any:
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
            client.describe_table(TableName=self.table)
            return
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
        keys = [("pk", "HASH"), ("sk", "RANGE")]
        try:
            client.create_table(
                TableName=self.table,
                KeySchema=[{"AttributeName": name, "KeyType": kind} for name, kind in keys],
                AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":  # another process created it meanwhile
                raise
        client.get_waiter("table_exists").wait(
            TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
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

    def _get(self, operation: str, item_key: Item, fields: tuple[str, ...] = ()) -> Item | None:
        """One strongly consistent read of an item (only ``fields``, if given), or None."""
        if not fits(item_key):
            return None
        request: dict[str, Any] = {"TableName": self.table, "Key": item_key, "ConsistentRead": True}
        if fields:
            request["ProjectionExpression"] = ", ".join(f"#a{n}" for n in range(len(fields)))
            request["ExpressionAttributeNames"] = {f"#a{n}": name for n, name in enumerate(fields)}
        client = self._db()
        with self._errors(operation):
            answer = client.get_item(**request)
        self._count(operation, reads=1)
        found: Item | None = answer.get("Item")
        return found

    def _query(self, operation: str, partition: str) -> list[Item]:
        """Every item of a partition, in key order (one request per 1 MB page)."""
        if not fits({"pk": S(partition), "sk": S("-")}):
            return []
        request: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        request.update(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": S(partition)})
        client, items = self._db(), []
        while True:
            with self._errors(operation):
                answer = client.query(**request)
            self._count(operation, reads=1)
            items += answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return items
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _commit(self, operation: str, items: list[Item], failures: Failures) -> None:
        """One transaction. A failed condition on item ``i`` raises ``failures[i]()`` (a retry
        when it has none); a lost race raises ``_Retry``."""
        client = self._db()
        try:
            client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _code(exc) not in ("TransactionCanceledException", "TransactionInProgressException"):
                raise BackendUnavailable(f"DynamoDB {operation} failed: {_code(exc)}: {exc}") from exc
            reasons = [reason.get("Code", "") for reason in exc.response.get("CancellationReasons", [])]
            for index, reason in enumerate(reasons):
                if reason == "ConditionalCheckFailed":
                    raise (failures[index]() if index in failures else _Retry()) from exc
            if not reasons or RETRYABLE.intersection(reasons):
                raise _Retry() from exc
            raise BackendUnavailable(f"DynamoDB {operation} was cancelled: {', '.join(reasons)}") from exc
        except BotoCoreError as exc:
            raise BackendUnavailable(f"DynamoDB {operation} failed: {exc}") from exc
        self._count(operation, writes=len(items))

    def _retry(self, operation: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until no concurrent transaction beats it."""
        for tries in range(ATTEMPTS):
            try:
                return attempt()
            except _Retry:
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**tries)))
        raise BackendUnavailable(f"DynamoDB {operation}: too much contention, gave up after {ATTEMPTS} tries")

    # -- files --------------------------------------------------------------------------

    def add_file(self, record: FileRecord) -> None:
        encoded = encode_record(record)
        self._retry("add_file", lambda: self._add_once(record, encoded))

    def _add_once(self, record: FileRecord, encoded: str) -> None:
        project, filename, table = record.project, record.filename, self.table
        head = self._get("add_file", head_key(project))
        size = entry_bytes(filename, encoded)
        chunk = choose_chunk(chunk_sizes(head), size, self.chunk_bytes)
        stored = {**file_key(project, filename), "record": S(encoded), "chunk": N(chunk)}
        items = [
            {"Put": {"TableName": table, "Item": stored, "ConditionExpression": "attribute_not_exists(pk)"}},
            update(table, chunk_key(project, chunk), "SET #f = :r", names={"#f": FILE_ATTR + filename},
                   values={":r": S(encoded)}),
            bump_index(table, 1),
        ]  # fmt: skip
        names, values = {"#c": "count", "#b": f"b{chunk}"}, {":one": N(1), ":size": N(size)}
        if number(head, "count"):  # the project exists: it must still when this commits
            values[":zero"] = N(0)
            add = "ADD #c :one, serial :one, #b :size"
            items.append(
                update(table, head_key(project), add, names=names, values=values, condition="#c > :zero")
            )
        else:  # a new project (or one whose files were all removed): name it and list it
            names["#n"], values[":name"] = "name", S(record.display_name)
            add = "SET #n = :name ADD #c :one, serial :one, #b :size"
            items.append(update(table, head_key(project), add, names=names, values=values))
            listed = {"#p": PROJECT_ATTR + project}
            items.append(update(table, shard_key(project), "SET #p = :name", names=listed,
                                values={":name": values[":name"]}))  # fmt: skip
        self._commit("add_file", items, {0: lambda: AlreadyExists(f"{filename} is already recorded")})

    def get_file(self, project: NormalizedName, filename: str) -> FileRecord | None:
        found = self._get("get_file", file_key(project, filename))
        return decode_record(project, found["record"]["S"]) if found else None

    def list_files(self, project: NormalizedName) -> list[FileRecord]:
        items = self._query("list_files", project_partition(project))
        head = next((item for item in items if item["sk"]["S"] == HEAD), None)
        if not number(head, "count"):
            return []
        return [decode_record(project, text) for text in records_of(items)]

    def update_files(self, records: Iterable[FileRecord]) -> None:
        changed = {(record.project, record.filename): record for record in records}
        found: dict[tuple[str, str], Item] = {}
        for project, filename in changed:
            item = self._get("update_files", file_key(project, filename))
            if item is None:
                raise NotFound(f"{filename} is not recorded")
            found[(project, filename)] = item
        pending = list(changed.items())
        for start in range(0, len(pending), UPDATE_GROUP):
            group = pending[start : start + UPDATE_GROUP]
            self._retry("update_files", partial(self._update_group, group, found))

    def _update_group(self, group: list[tuple[tuple[str, str], FileRecord]], found: dict[Any, Item]) -> None:
        table, items = self.table, []
        deltas: dict[str, dict[int, int]] = {}
        chunks: dict[tuple[str, int], dict[str, str]] = {}
        for (project, filename), record in group:
            old, encoded = found[(project, filename)], encode_record(record)
            chunk = number(old, "chunk")
            items.append(update(table, file_key(project, filename), "SET #r = :r", names={"#r": "record"},
                                values={":r": S(encoded)}, condition="attribute_exists(pk)"))  # fmt: skip
            delta = entry_bytes(filename, encoded) - entry_bytes(filename, old["record"]["S"])
            sizes = deltas.setdefault(project, {})
            sizes[chunk] = sizes.get(chunk, 0) + delta
            chunks.setdefault((project, chunk), {})[filename] = encoded
        for (project, chunk), files in chunks.items():
            names = {f"#f{n}": FILE_ATTR + filename for n, filename in enumerate(files)}
            values = {f":f{n}": S(encoded) for n, encoded in enumerate(files.values())}
            expression = "SET " + ", ".join(f"#f{n} = :f{n}" for n in range(len(files)))
            items.append(update(table, chunk_key(project, chunk), expression, names=names, values=values))
        for project, sizes in deltas.items():
            names = {f"#b{chunk}": f"b{chunk}" for chunk in sizes}
            values = {":one": N(1), **{f":b{chunk}": N(delta) for chunk, delta in sizes.items()}}
            expression = "ADD serial :one, " + ", ".join(f"#b{chunk} :b{chunk}" for chunk in sizes)
            items.append(update(table, head_key(project), expression, names=names, values=values))
        items.append(bump_index(table, 0))
        missing = {n: lambda: NotFound("a file to update is no longer recorded") for n in range(len(group))}
        self._commit("update_files", items, missing)

    def remove_file(self, project: NormalizedName, filename: str) -> None:
        self._retry("remove_file", lambda: self._remove_once(project, filename))

    def _remove_once(self, project: str, filename: str) -> None:
        found = self._get("remove_file", file_key(project, filename))
        if found is None:
            raise NotFound(f"{filename} is not recorded")
        head = self._get("remove_file", head_key(project))
        count, chunk = number(head, "count"), number(found, "chunk")
        delete = {"TableName": self.table, "Key": file_key(project, filename)}
        items = [
            {"Delete": {**delete, "ConditionExpression": "attribute_exists(pk)"}},
            bump_index(self.table, -1),
        ]
        if count > 1:
            size = entry_bytes(filename, found["record"]["S"])
            items.append(update(self.table, chunk_key(project, chunk), "REMOVE #f",
                                names={"#f": FILE_ATTR + filename}))  # fmt: skip
            names = {"#c": "count", "#b": f"b{chunk}"}
            values = {":minus": N(-1), ":one": N(1), ":shrink": N(-size), ":seen": N(count)}
            expression = "ADD #c :minus, serial :one, #b :shrink"
            items.append(update(self.table, head_key(project), expression, names=names, values=values,
                                condition="#c = :seen"))  # fmt: skip
        else:
            items += self._last_file_items(project, chunk, head)
        self._commit("remove_file", items, {0: lambda: NotFound(f"{filename} is not recorded")})

    def _last_file_items(self, project: str, chunk: int, head: Item | None) -> list[Item]:
        """Removing a project's last file: empty its chunks, zero its head, unlist it."""
        sizes = chunk_sizes(head)
        items = [{"Delete": {"TableName": self.table, "Key": chunk_key(project, n)}} for n in {*sizes, chunk}]
        names = {"#c": "count", **{f"#b{n}": f"b{n}" for n in sizes}}
        values = {":zero": N(0), ":one": N(1)}
        expression = "SET #c = :zero ADD serial :one"
        if sizes:
            expression += " REMOVE " + ", ".join(f"#b{n}" for n in sizes)
        if number(head, "count"):
            condition, values[":seen"] = "#c = :seen", N(number(head, "count"))
        else:  # a record without a counted head: heal rather than fail
            condition = "attribute_not_exists(#c) OR #c = :zero"
        items.append(update(self.table, head_key(project), expression, names=names, values=values,
                            condition=condition))  # fmt: skip
        items.append(
            update(self.table, shard_key(project), "REMOVE #p", names={"#p": PROJECT_ATTR + project})
        )
        return items

    def list_projects(self) -> list[ProjectSummary]:
        """Every project; ``serial`` is 0 here (the shards are written only when the list changes)."""
        items = self._query("list_projects", "index")
        return [
            ProjectSummary(name=name[len(PROJECT_ATTR) :], display_name=value["S"], serial=0)
            for item in items
            for name, value in item.items()
            if name.startswith(PROJECT_ATTR)
        ]

    def project_serial(self, project: NormalizedName) -> int | None:
        head = self._get("project_serial", head_key(project), ("serial", "count"))
        return number(head, "serial") if number(head, "count") else None

    def index_serial(self) -> int:
        return number(self._get("index_serial", INDEX_META, ("serial",)), "serial")

    def is_empty(self) -> bool:
        return number(self._get("is_empty", INDEX_META, ("files",)), "files") <= 0

    # -- access documents (the DocumentStore interface) -----------------------------------

    def list_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        items = self._query("list_docs", f"doc#{kind}")
        return {item["sk"]["S"]: json.loads(item["data"]["S"]) for item in items}

    def get_doc(self, kind: str, key: str) -> dict[str, Any] | None:
        found = self._get("get_doc", doc_key(kind, key))
        return json.loads(found["data"]["S"]) if found else None

    def put_doc(self, kind: str, key: str, data: dict[str, Any], *, create_only: bool = False) -> None:
        put: Item = {"TableName": self.table, "Item": {**doc_key(kind, key), "data": S(json.dumps(data))}}
        if create_only:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        items = [{"Put": put}, update(self.table, DOCS_META, "ADD serial :one", values={":one": N(1)})]
        exists: Failures = {0: lambda: AlreadyExists(f"{kind} {key!r} already exists")}
        self._retry("put_doc", lambda: self._commit("put_doc", items, exists))

    def delete_doc(self, kind: str, key: str) -> bool:
        delete = {
            "TableName": self.table,
            "Key": doc_key(kind, key),
            "ConditionExpression": "attribute_exists(pk)",
        }
        items = [{"Delete": delete}, update(self.table, DOCS_META, "ADD serial :one", values={":one": N(1)})]
        try:
            self._retry("delete_doc", lambda: self._commit("delete_doc", items, {0: _Missing}))
        except _Missing:
            return False
        return True

    def docs_serial(self) -> int:
        return number(self._get("docs_serial", DOCS_META, ("serial",)), "serial")

    # -- operations ----------------------------------------------------------------------

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
