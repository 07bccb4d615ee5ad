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
  access serial. ``doc#<kind>`` / ``<key>``: access documents. ``claim#<key>`` / ``claim``: the
  upload rules' claims (``dynamo_claims.py``).

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
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from packaging.utils import NormalizedName

from ..config import Config, Setting, parse_text
from ..errors import AlreadyExists, ConfigError, NotFound
from ..models import FileRecord, ProjectSummary
from .base import Cache
from .claims import Claim
from .documents import DocumentStore
from .dynamo_claims import DynamoClaims
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
    head_key,
    number,
    parse_endpoint,
    parse_namespace,
    project_partition,
    records_of,
    shard_key,
    update,
)
from .dynamo_table import DynamoTable, Failures
from .records import decode_record, encode_record

PIP_REQUIREMENT = "boto3==1.44.8"  # as pinned in requirements-aws.txt
#: Files per transaction when many are updated at once: 32 files, their chunks and heads and
#: the index stay under TransactWriteItems' 100 items. Fewer files are updated atomically.
UPDATE_GROUP = 32


class _Missing(Exception):
    """The item a conditional delete expected was not there."""


class DynamoCache(DynamoClaims, Cache, DocumentStore):
    """Metadata in DynamoDB (``pypi.db = dynamo``), or any endpoint speaking its API.

    ``reads`` and ``writes`` count read requests and items written since start;
    ``reset_usage`` splits them per operation (for ``python -m registry backend-usage``).
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
        self.table = DynamoTable(f"{namespace}registry", region_name, endpoint_url, credentials)
        self.chunk_bytes = chunk_bytes

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

    # -- files --------------------------------------------------------------------------

    def add_file(self, record: FileRecord, claims: Sequence[Claim] = ()) -> None:
        encoded = encode_record(record)
        self.table.retry("add_file", lambda: self._add_once(record, encoded, claims))

    def _add_once(self, record: FileRecord, encoded: str, claims: Sequence[Claim]) -> None:
        project, filename, table = record.project, record.filename, self.table.name
        head = self.table.get("add_file", head_key(project))
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
        claimed, failures = self._claim_items(claims, len(items))
        failures[0] = lambda: AlreadyExists(f"{filename} is already recorded")
        self.table.commit("add_file", items + claimed, failures)

    def get_file(self, project: NormalizedName, filename: str) -> FileRecord | None:
        found = self.table.get("get_file", file_key(project, filename))
        return decode_record(project, found["record"]["S"]) if found else None

    def list_files(self, project: NormalizedName) -> list[FileRecord]:
        items = self.table.query("list_files", project_partition(project))
        head = next((item for item in items if item["sk"]["S"] == HEAD), None)
        if not number(head, "count"):
            return []
        return [decode_record(project, text) for text in records_of(items)]

    def update_files(self, records: Iterable[FileRecord]) -> None:
        changed = {(record.project, record.filename): record for record in records}
        found: dict[tuple[NormalizedName, str], Item] = {}
        for project, filename in changed:
            item = self.table.get("update_files", file_key(project, filename))
            if item is None:
                raise NotFound(f"{filename} is not recorded")
            found[(project, filename)] = item
        pending = list(changed.items())
        for start in range(0, len(pending), UPDATE_GROUP):
            group = pending[start : start + UPDATE_GROUP]
            self.table.retry("update_files", partial(self._update_group, group, found))

    def _update_group(
        self, group: list[tuple[tuple[NormalizedName, str], FileRecord]], found: dict[Any, Item]
    ) -> None:
        table, items = self.table.name, []
        deltas: dict[NormalizedName, dict[int, int]] = {}
        chunks: dict[tuple[NormalizedName, int], dict[str, str]] = {}
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
        self.table.commit("update_files", items, missing)

    def remove_file(
        self,
        project: NormalizedName,
        filename: str,
        release: Sequence[Claim] = (),
        mark: Sequence[Claim] = (),
    ) -> None:
        self.table.retry("remove_file", lambda: self._remove_once(project, filename, release, mark))

    def _remove_once(
        self, project: str, filename: str, release: Sequence[Claim], mark: Sequence[Claim]
    ) -> None:
        found = self.table.get("remove_file", file_key(project, filename))
        if found is None:
            raise NotFound(f"{filename} is not recorded")
        head = self.table.get("remove_file", head_key(project))
        count, chunk = number(head, "count"), number(found, "chunk")
        delete = {"TableName": self.table.name, "Key": file_key(project, filename)}
        items = [
            {"Delete": {**delete, "ConditionExpression": "attribute_exists(pk)"}},
            bump_index(self.table.name, -1),
        ]
        if count > 1:
            size = entry_bytes(filename, found["record"]["S"])
            items.append(update(self.table.name, chunk_key(project, chunk), "REMOVE #f",
                                names={"#f": FILE_ATTR + filename}))  # fmt: skip
            names = {"#c": "count", "#b": f"b{chunk}"}
            values = {":minus": N(-1), ":one": N(1), ":shrink": N(-size), ":seen": N(count)}
            expression = "ADD #c :minus, serial :one, #b :shrink"
            items.append(update(self.table.name, head_key(project), expression, names=names, values=values,
                                condition="#c = :seen"))  # fmt: skip
        else:
            items += self._last_file_items(project, chunk, head)
        items += self._release_items(release, mark)
        self.table.commit("remove_file", items, {0: lambda: NotFound(f"{filename} is not recorded")})

    def _last_file_items(self, project: str, chunk: int, head: Item | None) -> list[Item]:
        """Removing a project's last file: empty its chunks, zero its head, unlist it."""
        sizes = chunk_sizes(head)
        items = [
            {"Delete": {"TableName": self.table.name, "Key": chunk_key(project, n)}} for n in {*sizes, chunk}
        ]
        names = {"#c": "count", **{f"#b{n}": f"b{n}" for n in sizes}}
        values = {":zero": N(0), ":one": N(1)}
        expression = "SET #c = :zero ADD serial :one"
        if sizes:
            expression += " REMOVE " + ", ".join(f"#b{n}" for n in sizes)
        if number(head, "count"):
            condition, values[":seen"] = "#c = :seen", N(number(head, "count"))
        else:  # a record without a counted head: heal rather than fail
            condition = "attribute_not_exists(#c) OR #c = :zero"
        items.append(update(self.table.name, head_key(project), expression, names=names, values=values,
                            condition=condition))  # fmt: skip
        items.append(
            update(self.table.name, shard_key(project), "REMOVE #p", names={"#p": PROJECT_ATTR + project})
        )
        return items

    def list_projects(self) -> list[ProjectSummary]:
        """Every project; ``serial`` is 0 here (the shards are written only when the list changes)."""
        items = self.table.query("list_projects", "index")
        return [
            ProjectSummary(name=NormalizedName(name[len(PROJECT_ATTR) :]), display_name=value["S"], serial=0)
            for item in items
            for name, value in item.items()
            if name.startswith(PROJECT_ATTR)
        ]

    def project_serial(self, project: NormalizedName) -> int | None:
        head = self.table.get("project_serial", head_key(project), ("serial", "count"))
        return number(head, "serial") if number(head, "count") else None

    def index_serial(self) -> int:
        return number(self.table.get("index_serial", INDEX_META, ("serial",)), "serial")

    def is_empty(self) -> bool:
        return number(self.table.get("is_empty", INDEX_META, ("files",)), "files") <= 0

    # -- access documents (DocumentStore) ---------------------------------------------------

    def list_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        items = self.table.query("list_docs", f"doc#{kind}")
        return {item["sk"]["S"]: json.loads(item["data"]["S"]) for item in items}

    def get_doc(self, kind: str, key: str) -> dict[str, Any] | None:
        found = self.table.get("get_doc", doc_key(kind, key))
        return json.loads(found["data"]["S"]) if found else None

    def put_doc(self, kind: str, key: str, data: dict[str, Any], *, create_only: bool = False) -> None:
        put: Item = {
            "TableName": self.table.name,
            "Item": {**doc_key(kind, key), "data": S(json.dumps(data))},
        }
        if create_only:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        items = [{"Put": put}, update(self.table.name, DOCS_META, "ADD serial :one", values={":one": N(1)})]
        exists: Failures = {0: lambda: AlreadyExists(f"{kind} {key!r} already exists")}
        self.table.retry("put_doc", lambda: self.table.commit("put_doc", items, exists))

    def delete_doc(self, kind: str, key: str) -> bool:
        delete = {
            "TableName": self.table.name,
            "Key": doc_key(kind, key),
            "ConditionExpression": "attribute_exists(pk)",
        }
        items = [
            {"Delete": delete},
            update(self.table.name, DOCS_META, "ADD serial :one", values={":one": N(1)}),
        ]
        try:
            self.table.retry("delete_doc", lambda: self.table.commit("delete_doc", items, {0: _Missing}))
        except _Missing:
            return False
        return True

    def docs_serial(self) -> int:
        return number(self.table.get("docs_serial", DOCS_META, ("serial",)), "serial")

    # -- operations ----------------------------------------------------------------------

    @property
    def reads(self) -> int:
        return self.table.reads

    @property
    def writes(self) -> int:
        return self.table.writes

    def reset_usage(self) -> dict[str, list[int]]:
        """Zero the counters; return the per-operation ``[reads, writes]`` counted until now."""
        return self.table.reset_usage()

    def close(self) -> None:
        self.table.close()
