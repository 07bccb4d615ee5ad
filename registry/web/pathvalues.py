"""Names, versions and filenames from the URL, checked once before any view runs.

A project name has a grammar (PEP 508, checked by ``packaging``): a URL naming something else
(``/simple/Foo.Bar%0d%0aX:1/``) can name no project, so it is answered 404 here, and no view
builds a redirect or a lookup from it. Versions and filenames are kept as given (upstream
projects may carry old, non-PEP 440 versions), but none of them contains a control character,
a space or a slash: those are 404 too. A redirect's ``Location`` therefore never carries a line
break, which is what made such URLs crash with a 500.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..errors import NotFound
from ..names import project_name

#: URL values that name a version or a file: printable, without spaces or slashes.
_PLAIN_VALUES = {"version": "Release", "filename": "File"}


def _plain(value: str) -> bool:
    """True for a value without control characters, spaces or slashes.

    >>> _plain("1.0rc1"), _plain("1.0\\r\\nX: 1"), _plain("a b")
    (True, False, False)
    """
    return value.isprintable() and not any(char.isspace() or char == "/" for char in value)


def check_url_values(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Refuse URL values that cannot name anything (runs before every view).

    :raises NotFound: an invalid project name, or a version or filename with control
        characters, spaces or slashes.
    """
    if not values:
        return
    project = values.get("project")
    if isinstance(project, str):
        project_name(project)  # the one name check: raises NotFound
    for key, kind in _PLAIN_VALUES.items():
        value = values.get(key)
        if isinstance(value, str) and not _plain(value):
            raise NotFound(f"{kind} {value!r} not found: it contains a space or a control character")


def init_app(app: Flask) -> None:
    app.url_value_preprocessor(check_url_values)
