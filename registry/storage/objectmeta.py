"""How S3 and Azure Blob carry an object's ``meta`` mapping: on the object when it fits, else
in a sidecar object.

Both services send custom metadata as HTTP headers, so their rules are a header's: S3 allows
2 KiB in all and lower-cases names; Azure allows 8 KiB and wants names that are C# identifiers;
both want values in printable ASCII and may fold runs of spaces. So a name must be a lower-case
identifier, and each value is percent-encoded (UTF-8, with ``%`` and every space or control
character escaped), which reads back exactly. A mapping that breaks a rule or does not fit the
backend's budget goes to a sidecar object ``<prefix>.meta/<key>.json`` and the object's
metadata only says so (as ``gcs.py`` does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import quote, unquote

#: Object metadata name whose value "sidecar" means: the mapping is in the sidecar object.
MARKER = "registry_meta"
SIDECAR_DIR = ".meta/"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Printable ASCII that header values keep as they are: everything but space and "%".
_KEEP = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) != "%")


def inline(meta: Mapping[str, str], budget: int) -> dict[str, str] | None:
    """``meta`` as object metadata, or None when it must go to a sidecar.

    >>> inline({"record": "démo 1"}, 100)
    {'record': 'd%C3%A9mo%201'}
    """
    if MARKER in meta or not all(_NAME.fullmatch(name) and value for name, value in meta.items()):
        return None
    try:
        encoded = {name: quote(value, safe=_KEEP) for name, value in meta.items()}
    except UnicodeEncodeError:  # a lone surrogate: only JSON in a sidecar keeps it
        return None
    if sum(len(name) + len(value) for name, value in encoded.items()) > budget:
        return None
    return encoded


def object_metadata(meta: Mapping[str, str], budget: int) -> tuple[dict[str, str], bool]:
    """(the metadata to store on the object, whether ``meta`` needs a sidecar)."""
    encoded = inline(meta, budget)
    return (encoded, False) if encoded is not None else ({MARKER: "sidecar"}, True)


def decode(metadata: Mapping[str, str]) -> dict[str, str] | None:
    """The mapping stored on an object, or None when it is in the sidecar."""
    if metadata.get(MARKER) == "sidecar":
        return None
    return {name: unquote(value) for name, value in metadata.items()}


def sidecar_name(prefix: str, key: str) -> str:
    return f"{prefix}{SIDECAR_DIR}{key}.json"


def sidecar_bytes(meta: Mapping[str, str]) -> bytes:
    return json.dumps(dict(meta), separators=(",", ":")).encode()


def parse_sidecar(data: bytes) -> dict[str, str]:
    """:raises ValueError: not a JSON object of strings."""
    found = json.loads(data)
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        raise ValueError("not a JSON object of strings")
    return found
