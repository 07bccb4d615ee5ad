"""Where the ``dynamo`` cache keeps what, in its one table: keys, sizes and write items.

Pure functions, no client: the design is described in ``registry/cache/dynamo.py`` and
``docs/backends.md``. Values use DynamoDB's typed form (``{"S": ...}``, ``{"N": ...}``).
Files and projects are top-level attributes (``f:<filename>``, ``p:<project>``) rather than
entries of a map, because ``SET``/``ADD``/``REMOVE`` on top-level attributes need no
read-modify-write and also create the item when it is missing.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

Item = dict[str, Any]

#: Estimated bytes of records one chunk item holds before the next chunk starts. Leaves room
#: under DynamoDB's 400 KB item limit for records added by writers that read a stale size.
CHUNK_BYTES = 300_000
#: The project list is spread over this many items (``/simple/`` reads them in one query);
#: each holds ~10,000 projects. Never change it for an existing table.
INDEX_SHARDS = 16
FILE_ATTR = "f:"
PROJECT_ATTR = "p:"
HEAD = "head"
CHUNK = "chunk#"
_MAX_PARTITION_KEY, _MAX_SORT_KEY = 2048, 1024
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{0,200}")


def parse_namespace(value: str) -> str:
    """``db.namespace``: the table name's prefix, in the characters DynamoDB allows."""
    text = value.strip()
    if not _NAMESPACE.fullmatch(text):
        raise ValueError("expected up to 200 letters, digits, '_', '-' or '.'")
    return text


def parse_endpoint(value: str) -> str:
    """``db.endpoint_url``: empty, or an http(s) URL."""
    text = value.strip().rstrip("/")
    if text and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", text):
        raise ValueError("expected an http:// or https:// URL")
    return text


def S(text: str) -> Item:
    return {"S": text}


def N(number: int) -> Item:
    return {"N": str(number)}


def key(partition: str, sort: str) -> Item:
    return {"pk": S(partition), "sk": S(sort)}


def fits(item_key: Item) -> bool:
    """Whether DynamoDB accepts the key (a longer URL segment just names nothing)."""
    partition, sort = item_key["pk"]["S"].encode(), item_key["sk"]["S"].encode()
    return 0 < len(partition) <= _MAX_PARTITION_KEY and 0 < len(sort) <= _MAX_SORT_KEY


def file_key(project: str, filename: str) -> Item:
    return key(f"file#{project}", filename)


def project_partition(project: str) -> str:
    return f"project#{project}"


def head_key(project: str) -> Item:
    return key(project_partition(project), HEAD)


def chunk_key(project: str, chunk: int) -> Item:
    return key(project_partition(project), f"{CHUNK}{chunk}")


def shard_key(project: str) -> Item:
    return key("index", f"shard#{zlib.crc32(project.encode()) % INDEX_SHARDS}")


INDEX_META = key("meta", "index")
DOCS_META = key("meta", "docs")


def doc_key(kind: str, name: str) -> Item:
    return key(f"doc#{kind}", name)


def number(item: Item | None, name: str) -> int:
    """A number attribute, 0 when the item or attribute is missing."""
    value = (item or {}).get(name)
    return int(value["N"]) if value else 0


def chunk_sizes(head: Item | None) -> dict[int, int]:
    """The head's ``b<n>`` attributes: estimated bytes of records in each chunk."""
    return {int(name[1:]): int(value["N"]) for name, value in (head or {}).items() if _is_size(name)}


def _is_size(name: str) -> bool:
    return name.startswith("b") and name[1:].isdigit()


def choose_chunk(sizes: dict[int, int], size: int, budget: int = CHUNK_BYTES) -> int:
    """The last chunk if ``size`` more bytes fit in its ``budget``, else a new one after it.

    >>> choose_chunk({}, 900), choose_chunk({0: 100}, 900, 1000), choose_chunk({0: 200}, 900, 1000)
    (0, 0, 1)
    """
    if not sizes:
        return 0
    last = max(sizes)
    return last if sizes[last] + size <= budget else last + 1


def entry_bytes(filename: str, encoded: str) -> int:
    """DynamoDB's size of one record attribute: its name plus its value, in UTF-8."""
    return len((FILE_ATTR + filename).encode()) + len(encoded.encode())


def records_of(items: list[Item]) -> list[str]:
    """The encoded records held by a project's chunk items."""
    return [
        value["S"]
        for item in items
        if item["sk"]["S"].startswith(CHUNK)
        for name, value in item.items()
        if name.startswith(FILE_ATTR)
    ]


def update(table: str, item_key: Item, expression: str, **options: Any) -> Item:
    """A TransactWriteItems ``Update``; ``names``/``values`` become the expression maps."""
    body: Item = {"TableName": table, "Key": item_key, "UpdateExpression": expression}
    if options.get("names"):
        body["ExpressionAttributeNames"] = options["names"]
    if options.get("values"):
        body["ExpressionAttributeValues"] = options["values"]
    if options.get("condition"):
        body["ConditionExpression"] = options["condition"]
    return {"Update": body}


def bump_index(table: str, files: int) -> Item:
    """Move the index serial; count ``files`` more (or fewer) files in the registry."""
    return update(
        table, INDEX_META, "ADD serial :one, files :files", values={":one": N(1), ":files": N(files)}
    )
