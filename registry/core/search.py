"""Ranking catalog entries for a search: names first, then keywords, then summaries.

Names are compared normalized (``Foo_Bar`` and ``foo.bar`` find ``foo-bar``), by equality, prefix
and substring; every other word must appear in the name, the keywords or the summary. An empty
query lists every project by name. Pure functions over the catalog: no backend is read here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from ..errors import InvalidRequest
from .catalog import CatalogEntry

MAX_QUERY = 200
PAGE_SIZE = 20
MAX_PAGE = 1000


def check_query(text: str) -> str:
    """The query as searched: trimmed, whitespace collapsed.

    :raises InvalidRequest: longer than ``MAX_QUERY`` characters, or control characters.
    """
    query = " ".join(text.split())
    if len(query) > MAX_QUERY:
        raise InvalidRequest(f"The search is too long: {MAX_QUERY} characters at most")
    if any(ord(char) < 32 or ord(char) == 127 for char in query):
        raise InvalidRequest("The search contains control characters")
    return query


def check_page(text: str) -> int:
    """A result page number from a query string (``1`` when empty).

    :raises InvalidRequest: not a whole number from 1 to ``MAX_PAGE``.
    """
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise InvalidRequest(f"Invalid page number {text[:20]!r}: use a whole number from 1 to {MAX_PAGE}")
    return int(text)


def score(entry: CatalogEntry, name_query: str, terms: list[str]) -> int:
    """How well ``entry`` matches (0: not at all).

    >>> from registry.core.catalog import CatalogEntry
    >>> entry = CatalogEntry("foo-bar", "Foo_Bar", 1, summary="Parses things")
    >>> score(entry, "foo-bar", ["foo_bar"]) > score(entry, "foo", ["foo"]) > score(entry, "", ["parses"]) > 0
    True
    """
    name = entry.name
    found = 0
    if name_query and name == name_query:
        found += 1000
    elif name_query and name.startswith(name_query):
        found += 400
    elif name_query and name_query in name:
        found += 200
    summary, keywords = entry.summary.lower(), entry.keywords.lower()
    every_term = True
    for term in terms:
        hit = 30 * (canonicalize_name(term) in name) + 20 * (term in keywords) + 10 * (term in summary)
        every_term = every_term and hit > 0
        found += hit
    return found if found >= 200 or (terms and every_term) else 0


def rank(entries: Iterable[CatalogEntry], query: str) -> list[CatalogEntry]:
    """The entries that match ``query``, best first (every entry by name for an empty query)."""
    if not query:
        return sorted(entries, key=lambda entry: entry.name)
    terms = query.lower().split()
    name_query = canonicalize_name("-".join(terms))
    scored = [(score(entry, name_query, terms), entry) for entry in entries]
    return [entry for points, entry in sorted(scored, key=lambda item: (-item[0], item[1].name)) if points]


@dataclass(frozen=True)
class SearchResults:
    """One page of ranked results."""

    query: str
    page: int
    total: int
    results: tuple[CatalogEntry, ...]
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def paginate(query: str, ranked: list[CatalogEntry], page: int) -> SearchResults:
    start = (page - 1) * PAGE_SIZE
    return SearchResults(query, page, len(ranked), tuple(ranked[start : start + PAGE_SIZE]))
