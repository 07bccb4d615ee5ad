"""How the Firestore backend encodes what it stores: ids, records, sizes and serials.

Pure functions, no client: the layout they serve is described in ``registry/cache/firestore.py``
and ``docs/firestore.md``.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from urllib.parse import quote

from google.cloud.firestore_v1.field_path import FieldPath

_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def parse_namespace(value: str) -> str:
    """``db.namespace``: empty, or a name that is safe inside a collection id."""
    text = value.strip()
    if text and not _NAMESPACE.fullmatch(text):
        raise ValueError("expected up to 64 letters, digits, '_' or '-', starting with a letter or digit")
    return text


def doc_id(text: str) -> str:
    """A Firestore document id for any text: ``/`` and ``%`` escaped, reserved ids avoided.

    >>> doc_id("demo:demo-1.0.tar.gz"), doc_id("a/b"), doc_id("..")
    ('demo:demo-1.0.tar.gz', 'a%2Fb', '%2E%2E')
    """
    encoded = quote(text, safe=":@+!~$&'()*,;=")
    if encoded in (".", ".."):
        return encoded.replace(".", "%2E")
    if encoded.startswith("__") and encoded.endswith("__"):
        return "%5F" + encoded[1:]
    return encoded


def serial_of(moment: datetime | None) -> int:
    """A timestamp as integer nanoseconds (a serial); 0 for None."""
    if moment is None:
        return 0
    # A timestamp read from a field has no ``nanosecond`` (it is 0): its microseconds count.
    nanos = getattr(moment, "nanosecond", 0) or moment.microsecond * 1000
    return calendar.timegm(moment.utctimetuple()) * 1_000_000_000 + int(nanos)


def field_path(*parts: str) -> str:
    """A field path string with each part quoted as needed (file names contain dots)."""
    path: str = FieldPath(*parts).to_api_repr()
    return path


def entry_bytes(filename: str, encoded: str) -> int:
    """Firestore's size of one ``files`` map entry: key and string value, each plus one."""
    return len(filename.encode()) + len(encoded.encode()) + 2
