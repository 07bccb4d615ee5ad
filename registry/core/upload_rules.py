"""Upload rules decided from the form and the filename alone, before any byte is stored.

These are where the registry used to be looser than the public index: an upload without any
digest, an unknown protocol version, a form field given twice (which value counts would then
depend on the parser), a wheel filename that is not in its normalized form. docs/uploads.md
lists every upload rule with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import InvalidUpload
from .distribution import WHEEL, ParsedFilename

PROTOCOL_VERSION = "1"
DIGEST_FIELDS = ("sha256_digest", "blake2_256_digest", "md5_digest")

#: Form fields that may appear once at most: the ones the registry reads, and every core
#: metadata field that the specification allows once (twine and uv send those as form fields).
SINGLE_FIELDS = frozenset(
    {
        ":action",
        "protocol_version",
        "name",
        "version",
        "filetype",
        "pyversion",
        "comment",
        "metadata_version",
        "summary",
        "description",
        "description_content_type",
        "keywords",
        "home_page",
        "download_url",
        "author",
        "author_email",
        "maintainer",
        "maintainer_email",
        "license",
        "license_expression",
        "requires_python",
        "attestations",
        *DIGEST_FIELDS,
    }
)


def check_form_fields(fields: Mapping[str, Sequence[str]], files: Mapping[str, Sequence[object]]) -> None:
    """Check the multipart form's shape: one file part ``content``, no repeated single field,
    protocol version 1, at least one digest of the file.

    ``fields`` are the text parts and ``files`` the file parts, each name with all its values
    (werkzeug's ``form.to_dict(flat=False)``).

    :raises InvalidUpload: the first rule broken, with what to send instead.
    """
    if "content" in fields:
        raise InvalidUpload("The 'content' part is not a file: send the distribution as a file part")
    if "content" not in files:
        raise InvalidUpload("The upload has no 'content' file part")
    repeated = sorted(
        name for name, values in fields.items() if len(values) > 1 and name in SINGLE_FIELDS
    ) + sorted(name for name, values in files.items() if len(values) > 1)
    if repeated:
        raise InvalidUpload(
            f"The form field {repeated[0]!r} appears more than once; it may be given once only"
        )
    protocol = fields.get("protocol_version", [PROTOCOL_VERSION])[0]
    if protocol != PROTOCOL_VERSION:
        raise InvalidUpload(f"Unknown protocol_version {protocol!r}: only version 1 is supported")
    if not any(fields.get(name, [""])[0].strip() for name in DIGEST_FIELDS):
        raise InvalidUpload(
            "The upload has no digest of the file: send sha256_digest (or blake2_256_digest), "
            "as twine and uv publish do"
        )


def normalized_wheel_filename(parsed: ParsedFilename) -> str:
    """The filename a wheel must have: its name and version in normalized form, tags as given.

    >>> from registry.core.distribution import parse_filename
    >>> normalized_wheel_filename(parse_filename("Foo.Bar-1.0.0-py3-none-any.whl"))
    'foo_bar-1.0.0-py3-none-any.whl'
    >>> normalized_wheel_filename(parse_filename("foo-1.0.RC1-2-py3-none-any.whl"))
    'foo-1.0rc1-2-py3-none-any.whl'
    """
    _name, _version, tags = parsed.filename.split("-", 2)
    return f"{parsed.project.replace('-', '_')}-{parsed.version}-{tags}"


def check_upload_filename(parsed: ParsedFilename) -> None:
    """Refuse a wheel filename that is not normalized (``Foo.Bar-1.0-...``), as the public index does.

    Two spellings of one wheel would be two files for the same release and tags, and storage
    or a client cache on a case-insensitive disk would hold them in one place.

    :raises InvalidUpload: the name or version part is not in normalized form; the message
        gives the filename to use.
    """
    if parsed.packagetype != WHEEL:
        return
    expected = normalized_wheel_filename(parsed)
    if parsed.filename != expected:
        raise InvalidUpload(
            f"Invalid wheel filename {parsed.filename!r}: the project name and version must be in "
            f"normalized form; rename the file to {expected!r}"
        )
