"""Core metadata (a wheel's METADATA, an sdist's PKG-INFO): read it, and validate it for uploads.

Both go through ``packaging.metadata``, the reference implementation of the core metadata
specification, so the registry agrees with pip, uv and twine on what a field means and on what
is malformed. Reading is lenient (files cached from an upstream index or found by ``rebuild``
were accepted once and are indexed as they are); validation is strict and is for uploads only:
an invalid ``Requires-Python`` would be served to every installer, so it is refused at the door.
"""

from __future__ import annotations

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.version import InvalidVersion, Version

from ..errors import InvalidUpload

#: How many problems a refusal lists; the rest are counted.
MAX_PROBLEMS = 5

# The JSON API's list fields, and where ``packaging`` keeps each of them.
_LIST_FIELDS = {
    "requires_dist": "requires_dist",
    "classifiers": "classifiers",
    "platform": "platforms",
    "provides_extra": "provides_extra",
}
_TEXT_FIELDS = (
    "name",
    "version",
    "summary",
    "requires_python",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "license",
    "license_expression",
    "home_page",
    "download_url",
    "description_content_type",
    "metadata_version",
)


def read_fields(raw: bytes) -> dict[str, object]:
    """The fields the JSON API shows (``models.INFO_FIELDS``), read without validation.

    Values are kept as the file has them; "UNKNOWN" (what old setuptools wrote for an absent
    value) counts as absent. ``project_urls`` stays a list of "Label, URL" lines.
    """
    return _info(parse_email(raw)[0])


def read_description(raw: bytes) -> tuple[str, str]:
    """The description (the body, or else a ``Description`` field) and its declared
    ``Description-Content-Type``, read without validation; empty strings when absent."""
    fields, unparsed = parse_email(raw)
    text = fields.get("description") or (unparsed.get("description") or [""])[-1]
    return str(text), str(fields.get("description_content_type") or "")


def _info(fields: RawMetadata) -> dict[str, object]:
    info: dict[str, object] = {}
    for name in _TEXT_FIELDS:
        value = fields.get(name)
        info[name] = value if isinstance(value, str) and value != "UNKNOWN" else None
    for name, key in _LIST_FIELDS.items():
        items = [str(item) for item in fields.get(key) or () if item != "UNKNOWN"]  # type: ignore[attr-defined]
        info[name] = items or None  # the JSON API shows null, not []
    keywords = fields.get("keywords")
    info["keywords"] = ", ".join(keywords) if keywords else None
    urls = fields.get("project_urls") or {}
    info["project_urls"] = [f"{label}, {url}" for label, url in urls.items()] or None
    return info


def _declared_version(fields: RawMetadata) -> Version | None:
    try:
        return Version(fields.get("metadata_version", ""))
    except InvalidVersion:
        return None


def _newest_field_version(fields: RawMetadata) -> Version | None:
    """The newest Metadata-Version that introduced one of these fields (``packaging`` records
    it on each field of ``Metadata``)."""
    found = [getattr(Metadata.__dict__.get(key), "added", None) for key in fields]
    versions = [Version(added) for added in found if isinstance(added, str)]
    return max(versions, default=None)


def _problems(group: BaseExceptionGroup) -> list[str]:
    found: list[str] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found += _problems(exc)
        else:
            found.append(str(exc))
    return sorted(set(found))


def validate(raw: bytes, where: str) -> dict[str, object]:
    """Refuse core metadata that ``packaging`` finds invalid, naming every problem found;
    return ``read_fields(raw)`` (from the same parse).

    A field newer than the declared Metadata-Version is validated under the version that
    introduced it instead of refused: build backends wrote such files for years (setuptools
    before 77 ``License-File``, hatchling before 1.22 ``License-Expression``, both under 2.1),
    the public index accepted them and installers read them, so people who re-upload those
    wheels here must not be turned away. ``License-File`` lines under 2.1 are ignored, as twine
    ignores them.

    :raises InvalidUpload: an unknown Metadata-Version, an invalid or repeated field, a field
        not in the specification, or a missing Name or Version.
    """
    fields, unparsed = parse_email(raw)
    info = _info(fields)
    declared = _declared_version(fields)
    if declared is not None and declared < Version("2.4"):
        fields.pop("license_files", None)
        unparsed.pop("license-file", None)
    newest = _newest_field_version(fields)
    if declared is not None and newest is not None and newest > declared:
        fields["metadata_version"] = str(newest)
    problems = [
        f"the field {key!r} is repeated, is not UTF-8, or is not a core metadata field"
        for key in sorted(unparsed)
    ]
    try:
        Metadata.from_raw(fields, validate=True)
    except InvalidMetadata as exc:
        problems.append(str(exc))
    except BaseExceptionGroup as group:
        problems += _problems(group)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS])
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise InvalidUpload(f"Invalid core metadata in {where}: {shown}{more}")
    return info
