"""Core metadata read and validated with packaging.metadata, without HTTP."""

from __future__ import annotations

import pytest

from registry.core.core_metadata import MAX_PROBLEMS, read_description, read_fields, validate
from registry.errors import InvalidUpload
from registry.models import INFO_FIELDS

FULL = b"""Metadata-Version: 2.4
Name: Foo.Bar
Version: 1.0
Summary: sum
Home-page: https://h.invalid
Download-URL: https://d.invalid
Author: A
Author-email: a@example.invalid
Maintainer: M
Maintainer-email: m@example.invalid
License-Expression: MIT
License-File: LICENSE
Keywords: a,b, c
Platform: linux
Platform: UNKNOWN
Classifier: Programming Language :: Python :: 3
Requires-Dist: a>=1
Requires-Dist: b; extra == "x"
Requires-Python: >=3.9
Project-URL: Homepage, https://x.invalid
Project-URL: Source, https://y.invalid
Provides-Extra: x
Description-Content-Type: text/markdown

The long description.
"""


def test_read_fields_shapes() -> None:
    info = read_fields(FULL)
    assert set(info) == set(INFO_FIELDS)
    assert info == {
        "name": "Foo.Bar",
        "version": "1.0",
        "summary": "sum",
        "requires_dist": ["a>=1", 'b; extra == "x"'],
        "requires_python": ">=3.9",
        "author": "A",
        "author_email": "a@example.invalid",
        "maintainer": "M",
        "maintainer_email": "m@example.invalid",
        "license": None,
        "license_expression": "MIT",
        "home_page": "https://h.invalid",
        "download_url": "https://d.invalid",
        "project_urls": ["Homepage, https://x.invalid", "Source, https://y.invalid"],
        "classifiers": ["Programming Language :: Python :: 3"],
        "keywords": "a, b, c",
        "platform": ["linux"],
        "provides_extra": ["x"],
        "description_content_type": "text/markdown",
        "metadata_version": "2.4",
    }
    validate(FULL, "METADATA")


def test_read_fields_is_lenient() -> None:
    """Files accepted long ago are indexed as they are: an invalid field is read, not refused."""
    raw = b"Metadata-Version: 1.0\nName: old\nVersion: 1\nRequires-Python: python>=3\nHome-page: UNKNOWN\n"
    info = read_fields(raw)
    assert (info["name"], info["requires_python"], info["home_page"], info["requires_dist"]) == (
        "old",
        "python>=3",
        None,
        None,
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"Metadata-Version: 1.0\nName: a\nVersion: 1\nPlatform: UNKNOWN\nHome-page: UNKNOWN\n",
        b"Metadata-Version: 1.2\nName: a\nVersion: 1.0\nRequires-Python: >=2.7, !=3.0.*\n",
        b"Metadata-Version: 2.1\nName: a\nVersion: 1.0+local.7\nLicense-File: LICENSE\n",
        b"Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Requires-Dist\n",
        "Metadata-Version: 2.1\nName: a\nVersion: 1\nAuthor: Zoë Ünicode\n\nBody ✓\n".encode(),
        b"Metadata-Version: 2.1\nName: attrs\nVersion: 23.2.0\nLicense-Expression: MIT\nLicense-File: L\n",
        b"Metadata-Version: 1.0\nName: a\nVersion: 1\nRequires-Dist: b>=1\nDynamic: Requires-Python\n",
    ],
    ids=["1.0-unknowns", "1.2-specifier", "license-file-quirk", "dynamic", "utf-8", "hatchling", "newer"],
)
def test_validate_accepts(raw: bytes) -> None:
    validate(raw, "METADATA")


def test_a_newer_field_keeps_the_declared_version() -> None:
    """hatchling before 1.22 wrote License-Expression under 2.1: accepted, shown as written."""
    info = validate(b"Metadata-Version: 2.1\nName: a\nVersion: 1\nLicense-Expression: MIT\n", "METADATA")
    assert (info["metadata_version"], info["license_expression"]) == ("2.1", "MIT")


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        (
            b"Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Python: python>=3\n",
            "'python>=3' is invalid",
        ),
        (b"Metadata-Version: 3.0\nName: a\nVersion: 1\n", "'3.0' is not a valid metadata version"),
        (b"Name: a\nVersion: 1\n", "None is not a valid metadata version"),
        (b"Metadata-Version: 2.1\nVersion: 1\n", "'name' is a required field"),
        (b"Metadata-Version: 2.1\nName: a\nName: b\nVersion: 1\n", "the field 'name' is repeated"),
        (b"Metadata-Version: 2.1\nName: a b\nVersion: 1\n", "'a b' is invalid for 'name'"),
        (b"Metadata-Version: 2.1\nName: a\nVersion: one\n", "'one' is invalid for 'version'"),
        (b"Metadata-Version: 2.1\nName: a\nVersion: 1\nSummary: \xff\n", "the field 'summary' is repeated"),
        (
            b"Metadata-Version: 2.1\nName: a\nVersion: 1\nX-Extra: 1\n",
            "'x-extra' is repeated, is not UTF-8, or is",
        ),
        (b"Metadata-Version: 2.1\nName: a\nVersion: 1\nDescription: d\n\nbody\n", "the field 'description'"),
        (b"Metadata-Version: 2.1\nName: a\nVersion: 1\nLicense-Expression: MIT AND\n", "license-expression"),
        (
            b"Metadata-Version: 2.4\nName: a\nVersion: 1\nLicense-Expression: not a licence\n",
            "license-expression",
        ),
        (b"Metadata-Version: 2.1\nName: a\nVersion: 1\nProvides-Extra: a b\n", "provides-extra"),
        (
            b"Metadata-Version: 2.1\nName: a\nVersion: 1\nDescription-Content-Type: text/html\n",
            "must be one of",
        ),
    ],
)
def test_validate_refuses(raw: bytes, phrase: str) -> None:
    with pytest.raises(InvalidUpload) as refused:
        validate(raw, "x-1.dist-info/METADATA")
    assert refused.value.message.startswith("Invalid core metadata in x-1.dist-info/METADATA: ")
    assert phrase in refused.value.message


def test_validate_names_a_bounded_number_of_problems() -> None:
    raw = b"Metadata-Version: 2.1\nName: a\nVersion: 1\n" + b"".join(
        b"X-Field-%d: 1\n" % n for n in range(20)
    )
    with pytest.raises(InvalidUpload) as refused:
        validate(raw, "PKG-INFO")
    assert refused.value.message.count("x-field-") == MAX_PROBLEMS
    assert refused.value.message.endswith(f"(and {20 - MAX_PROBLEMS} more)")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (FULL, ("The long description.\n", "text/markdown")),
        (b"Metadata-Version: 1.0\nName: a\nVersion: 1\nDescription: in a field\n", ("in a field", "")),
        (b"Metadata-Version: 2.1\nName: a\nVersion: 1\nDescription: field\n\nbody\n", ("body\n", "")),
        (b"Metadata-Version: 2.1\nName: a\nVersion: 1\n", ("", "")),
    ],
    ids=["body", "field", "both", "none"],
)
def test_read_description(raw: bytes, expected: tuple[str, str]) -> None:
    assert read_description(raw) == expected
