"""Project names, typed once at the edge.

A name arrives raw (a URL segment, a form field, a command-line argument) and is turned into
its canonical form (PEP 503) exactly once, where the request is parsed. From then on it travels
as ``packaging.utils.NormalizedName``, the type every core and backend signature takes, so
mypy rejects a raw string and no other spelling can reach a backend or the upstream index.
"""

from __future__ import annotations

from packaging.utils import InvalidName, NormalizedName, canonicalize_name

from .errors import NotFound

__all__ = ["NormalizedName", "project_name"]


def project_name(raw: str) -> NormalizedName:
    """The canonical name of a project a request names.

    >>> project_name("Foo_Bar")
    'foo-bar'

    :raises NotFound: ``raw`` is not a valid project name (so no such project exists).
    """
    try:
        return canonicalize_name(raw, validate=True)
    except InvalidName:
        raise NotFound(f"Project {raw!r} not found: it is not a valid project name") from None
