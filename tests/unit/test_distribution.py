"""Filename parsing and archive inspection, without HTTP."""

from __future__ import annotations

import doctest
import io

import pytest

from registry import config
from registry.core import distribution
from registry.core.distribution import inspect_distribution, inspect_upload, parse_filename
from registry.errors import InvalidUpload
from tests.distributions import Dist, sdist_bytes, wheel_bytes


def test_doctests() -> None:
    for module in (distribution, config):
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(
    ("filename", "project", "version", "packagetype", "python"),
    [
        ("Foo_Bar-1.0-py3-none-any.whl", "foo-bar", "1.0", "bdist_wheel", "py3"),
        ("foo-2.0rc1-cp311-cp311-manylinux_2_17_x86_64.whl", "foo", "2.0rc1", "bdist_wheel", "cp311"),
        ("foo-1.0-py2.py3-none-any.whl", "foo", "1.0", "bdist_wheel", "py2.py3"),
        ("foo.bar-1.0.post1.tar.gz", "foo-bar", "1.0.post1", "sdist", "source"),
        ("foo-1.0.zip", "foo", "1.0", "sdist", "source"),
    ],
)
def test_parse_filename(filename: str, project: str, version: str, packagetype: str, python: str) -> None:
    parsed = parse_filename(filename)
    assert (parsed.project, str(parsed.version), parsed.packagetype, parsed.python_version) == (
        project,
        version,
        packagetype,
        python,
    )


@pytest.mark.parametrize("filename", ["", "x" * 300 + ".whl", "foo.whl", "foo-1.0-py3.whl", "foo.tar.gz"])
def test_parse_filename_refuses(filename: str) -> None:
    with pytest.raises(InvalidUpload):
        parse_filename(filename)


@pytest.mark.parametrize(
    "filename",
    [
        "foo-1.0 .tar.gz",  # Version() would strip the space
        "foo-1.0-py3-none-a ny.whl",
        "foo-1.0-py3-none-any#sha256=0.whl",
        "foo-1.0-py3-none-any?x.whl",
        'foo-1.0-py3-none-an"y.whl',
        "foo-1.0-py3-none-any<script>.whl",
        "foo-1.0-py3-none-\u00e1ny.whl",
        "foo-1.0-py3-none-any%20.whl",
        "foo-1.0-py3-none-any~.whl",
    ],
)
def test_parse_filename_refuses_unsafe_characters(filename: str) -> None:
    with pytest.raises(InvalidUpload, match="is not allowed in a distribution filename"):
        parse_filename(filename)


@pytest.mark.parametrize("filename", ["foo-1.0-py3-none-an+y.whl", "foo-1.0-1!-py3-none-any.whl"])
def test_parse_filename_refuses_version_punctuation_in_tags(filename: str) -> None:
    with pytest.raises(InvalidUpload, match="may hold only ASCII letters, digits"):
        parse_filename(filename)


def test_parse_filename_keeps_every_version_form() -> None:
    parsed = parse_filename("foo-1!2.0rc1.post3.dev4+local.7-py3-none-any.whl")
    assert str(parsed.version) == "1!2.0rc1.post3.dev4+local.7"


def test_inspect_wheel_and_sdist() -> None:
    dist = Dist("Insp_Ect", "1.0", requires=["a>=1"], requires_python=">=3.9")
    wheel = inspect_distribution(io.BytesIO(wheel_bytes(dist)), parse_filename(dist.wheel_name), 10**6, 10**9)
    assert wheel.info["requires_dist"] == ["a>=1"]
    assert wheel.requires_python == ">=3.9"
    assert wheel.raw.startswith(b"Metadata-Version: 2.1")
    sdist = inspect_distribution(io.BytesIO(sdist_bytes(dist)), parse_filename(dist.sdist_name), 10**6, 10**9)
    assert sdist.name == "Insp_Ect"


def test_unpacked_size_limit() -> None:
    dist = Dist("small", "1.0")
    content = wheel_bytes(dist)
    with pytest.raises(InvalidUpload, match="zip bomb"):
        inspect_distribution(io.BytesIO(content), parse_filename(dist.wheel_name), len(content), 10)
    content = sdist_bytes(dist)
    with pytest.raises(InvalidUpload, match="zip bomb"):
        inspect_distribution(io.BytesIO(content), parse_filename(dist.sdist_name), len(content), 10)


def test_uploads_are_strict_and_cached_files_lenient() -> None:
    """A file an upstream index accepted long ago is indexed as it is; an upload is refused."""
    dist = Dist("lenient", "1.0", requires_python="python>=3")
    for content, filename in ((wheel_bytes(dist), dist.wheel_name), (sdist_bytes(dist), dist.sdist_name)):
        parsed = parse_filename(filename)
        lenient = inspect_distribution(io.BytesIO(content), parsed, len(content), 10**9)
        assert lenient.requires_python == "python>=3"
        with pytest.raises(InvalidUpload, match="'python>=3' is invalid for 'requires-python'"):
            inspect_upload(io.BytesIO(content), parsed, len(content), 10**9)


def test_upload_of_another_projects_sdist_names_the_metadata() -> None:
    """Renamed to another project's filename, the message says what the metadata says."""
    content = sdist_bytes(Dist("other-project", "1.0"))
    parsed = parse_filename("mine-1.0.tar.gz")
    with pytest.raises(InvalidUpload, match="its metadata says the project is 'other-project'"):
        inspect_upload(io.BytesIO(content), parsed, len(content), 10**9)
