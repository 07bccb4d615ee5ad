"""The upstream index this registry falls back to: an HTTP client and a page reader.

Configuration only: there is no built-in upstream. ``UpstreamIndex`` speaks PEP 691 JSON when
the upstream offers it and PEP 503 HTML otherwise, keeps pages for a while, and turns every
transport failure into the registry's own ``UpstreamError``/``UpstreamTimeout``/``NotFound``.
"""

from .client import Download, UpstreamIndex, redact
from .locks import KeyedLocks
from .pages import UpstreamFile, UpstreamProject, parse_html, parse_json, parse_page

__all__ = [
    "Download",
    "KeyedLocks",
    "UpstreamFile",
    "UpstreamIndex",
    "UpstreamProject",
    "parse_html",
    "parse_json",
    "parse_page",
    "redact",
]
