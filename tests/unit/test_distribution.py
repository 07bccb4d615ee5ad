"""Filename parsing and archive inspection, without HTTP."""

from __future__ import annotations

import doctest
import io

import pytest

from registry import config
from registry.core import distribution
from registry.core.distribution import inspect_distribution, parse_filename
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
