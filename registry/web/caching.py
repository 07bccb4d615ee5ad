"""Cache-Control rules, in one table, applied in one place.

| policy   | used for                                   | Cache-Control                                  |
| -------- | ------------------------------------------ | ---------------------------------------------- |
| file     | a package or metadata file, public reads   | public, max-age=31536000, immutable            |
| index    | index pages and JSON API, public reads     | public, max-age=<pypi.index_max_age>           |
| private  | any read answer when reads need a login    | private, no-cache (+ Vary: Authorization)      |
| never    | errors, uploads, management, health        | no-store                                       |

A file's URL contains the start of its sha256, so "immutable" stays true even if a file were
ever replaced. Index pages are revalidated cheaply with their ETag.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

FILE_MAX_AGE = 365 * 24 * 3600


def apply_cache_policy(response: Response, policy: str, max_age: int = 0) -> Response:
    """Set Cache-Control (and Vary) on ``response`` for one of the policies above."""
    if policy == "file":
        response.headers["Cache-Control"] = f"public, max-age={FILE_MAX_AGE}, immutable"
    elif policy == "index":
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
    elif policy == "private":
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.add("Authorization")
    elif policy == "never":
        response.headers["Cache-Control"] = "no-store"
    else:
        raise ValueError(f"unknown cache policy {policy!r}")
    return response


# -- Who asked (access control) ------------------------------------------------------------
# Only an answer that is the same for every caller is ``public``; every other answer (private
# reads, errors, uploads, management) depends on who asked, so it also says
# ``Vary: Authorization``. docs/access.md has the full table.


def vary_unless_public(response: Response) -> Response:
    """Add ``Vary: Authorization`` to every answer that is not ``public`` (runs after every view)."""
    if not response.headers.get("Cache-Control", "").startswith("public"):
        response.vary.add("Authorization")
    return response
