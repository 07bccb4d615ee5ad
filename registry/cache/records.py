"""Compact JSON for a ``FileRecord`` where every byte of a stored item counts.

Backends that pack many records into one item (DynamoDB's 400 KB items) store the project
once, where the records live, and leave out fields at their default value: a typical wheel's
record is then about 1 KB. Pure functions, no client library.
"""

from __future__ import annotations

import dataclasses
import json

from ..models import FileRecord

_DROPPABLE = {
    f.name: f.default
    for f in dataclasses.fields(FileRecord)
    if f.default is not dataclasses.MISSING and f.name != "upload_time"
}


def encode_record(record: FileRecord) -> str:
    """Compact JSON: the project (implied by where it is stored) and default values left out.

    >>> from datetime import datetime, UTC
    >>> plain = FileRecord("demo", "1.0", "demo-1.0.tar.gz", "sdist", 3, "ab", upload_time=datetime.now(UTC))
    >>> encode_record(plain)[:60]
    '{"filename":"demo-1.0.tar.gz","packagetype":"sdist","sha256"'
    >>> decode_record("demo", encode_record(plain)) == plain
    True
    """
    data = record.to_dict()
    del data["project"]
    for name, default in _DROPPABLE.items():
        if data.get(name) == default:
            del data[name]
    if not data["info"]:
        del data["info"]
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def decode_record(project: str, text: str) -> FileRecord:
    """The record ``encode_record`` wrote for a file of ``project``."""
    data = json.loads(text)
    data["project"] = project
    return FileRecord.from_dict(data)
