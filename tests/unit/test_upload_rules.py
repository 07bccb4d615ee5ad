"""Form-level and filename upload rules, without HTTP."""

from __future__ import annotations

import pytest

from registry.core.distribution import parse_filename
from registry.core.upload_rules import check_form_fields, check_upload_filename
from registry.errors import InvalidUpload

TWINE = {
    ":action": ["file_upload"],
    "protocol_version": ["1"],
    "name": ["demo"],
    "version": ["1.0"],
    "filetype": ["bdist_wheel"],
    "sha256_digest": ["0" * 64],
    "classifiers": ["A :: B", "C :: D"],
    "requires_dist": ["x", "y"],
    "project_urls": ["Home, https://h.invalid", "Source, https://s.invalid"],
}
FILES: dict[str, list[object]] = {"content": [object()]}


def test_a_form_as_twine_sends_it() -> None:
    check_form_fields(TWINE, FILES)
    check_form_fields({key: value for key, value in TWINE.items() if key != "protocol_version"}, FILES)
    check_form_fields({**TWINE, "sha256_digest": [""], "md5_digest": ["0" * 32]}, FILES)
    check_form_fields({**TWINE, "x-unknown": ["1", "2"]}, FILES)  # unknown fields are ignored


@pytest.mark.parametrize(
    ("changes", "files", "phrase"),
    [
        ({"sha256_digest": None}, FILES, "no digest"),
        ({"sha256_digest": ["  "]}, FILES, "no digest"),
        ({"protocol_version": ["2"]}, FILES, "Unknown protocol_version '2'"),
        ({"name": ["a", "b"]}, FILES, "'name' appears more than once"),
        ({"summary": ["a", "b"]}, FILES, "'summary' appears more than once"),
        ({"content": ["not a file"]}, FILES, "'content' part is not a file"),
        ({}, {}, "no 'content' file part"),
        ({}, {"content": [object(), object()]}, "'content' appears more than once"),
        ({}, {**FILES, "gpg_signature": [object(), object()]}, "'gpg_signature' appears more than once"),
    ],
)
def test_form_refused(
    changes: dict[str, list[str] | None], files: dict[str, list[object]], phrase: str
) -> None:
    fields = {key: value for key, value in {**TWINE, **changes}.items() if value is not None}
    with pytest.raises(InvalidUpload, match=phrase):
        check_form_fields(fields, files)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "filename",
    [
        "demo-1.0-py3-none-any.whl",
        "foo_bar-1.0-1-py2.py3-none-any.whl",
        "foo-1!2.0rc1.post3.dev4+local.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "Foo.Bar-1.00.tar.gz",  # sdist filenames are not required to be normalized
    ],
)
def test_normalized_filenames_pass(filename: str) -> None:
    check_upload_filename(parse_filename(filename))


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("Demo-1.0-py3-none-any.whl", "demo-1.0-py3-none-any.whl"),
        ("foo.bar-1.0-py3-none-any.whl", "foo_bar-1.0-py3-none-any.whl"),
        ("foo-01.0-py3-none-any.whl", "foo-1.0-py3-none-any.whl"),
        ("foo-1.0.post-py3-none-any.whl", "foo-1.0.post0-py3-none-any.whl"),
        ("foo-1.0+Local-py3-none-any.whl", "foo-1.0+local-py3-none-any.whl"),
    ],
)
def test_non_normalized_wheel_filenames_are_refused(filename: str, expected: str) -> None:
    with pytest.raises(InvalidUpload, match=f"rename the file to '{expected.replace('+', '[+]')}'"):
        check_upload_filename(parse_filename(filename))
