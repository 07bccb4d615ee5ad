"""Hostile files and forms: each is refused with a 400 that says why, and leaves nothing behind.

Every crafted archive starts from a valid one (tests/hostile_archives.py) and breaks one thing,
as the public index's upload checks would see it. Real files built by real build backends
(setuptools through ``python -m build``, uv's own backend) must still be accepted.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests

from tests import hostile_archives as hostile
from tests.conftest import post_upload
from tests.distributions import Dist, sdist_bytes, wheel_bytes
from tests.functional.test_upload_checks import assert_nothing_stored, assert_refused
from tests.server import ADMIN, RegistryServer


@pytest.fixture
def dist(unique_name: str) -> Dist:
    return Dist(unique_name, "1.0")


def project(dist: Dist) -> str:
    return dist.module.replace("_", "-")


def refused(server: RegistryServer, dist: Dist, content: bytes, filename: str, *phrases: str) -> None:
    """Upload ``content`` as ``filename``; it must be refused with a 400 naming ``phrases``."""
    response = post_upload(server, content, filename, dist.name, dist.version)
    assert_refused(response, 400, *phrases)
    assert_nothing_stored(server, project(dist))


def multipart(parts: list[tuple[str, bytes, bytes | None]]) -> tuple[bytes, dict[str, str]]:
    """A multipart body written byte for byte: (field name, value, filename or None) per part."""
    body = b""
    for name, value, filename in parts:
        disposition = b'Content-Disposition: form-data; name="' + name.encode() + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"\r\nContent-Type: application/octet-stream'
        body += b"--B\r\n" + disposition + b"\r\n\r\n" + value + b"\r\n"
    return body + b"--B--\r\n", {"Content-Type": "multipart/form-data; boundary=B"}


def form_parts(
    dist: Dist, content: bytes, filename: bytes | None = None
) -> list[tuple[str, bytes, bytes | None]]:
    """What twine sends for ``dist``'s wheel: the form fields, then the file."""
    return [
        (":action", b"file_upload", None),
        ("protocol_version", b"1", None),
        ("name", dist.name.encode(), None),
        ("version", dist.version.encode(), None),
        ("filetype", b"bdist_wheel", None),
        ("sha256_digest", hashlib.sha256(content).hexdigest().encode(), None),
        ("content", content, filename or dist.wheel_name.encode()),
    ]


def post_parts(server: RegistryServer, parts: list[tuple[str, bytes, bytes | None]]) -> requests.Response:
    body, headers = multipart(parts)
    return server.post("/", auth=ADMIN, data=body, headers=headers)


# --- The form -------------------------------------------------------------------------------


def test_upload_without_any_digest(server: RegistryServer, dist: Dist) -> None:
    parts = [part for part in form_parts(dist, wheel_bytes(dist)) if not part[0].endswith("_digest")]
    assert_refused(post_parts(server, parts), 400, "no digest of the file")
    assert_nothing_stored(server, project(dist))


def test_upload_with_only_an_empty_digest(server: RegistryServer, dist: Dist) -> None:
    response = post_upload(server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", sha256_digest=" ")
    assert_refused(response, 400, "no digest of the file")
    assert_nothing_stored(server, project(dist))


@pytest.mark.parametrize("protocol", ["2", "0", ""])
def test_unknown_protocol_version(server: RegistryServer, dist: Dist, protocol: str) -> None:
    response = post_upload(
        server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", protocol_version=protocol
    )
    assert_refused(response, 400, f"Unknown protocol_version {protocol!r}")
    assert_nothing_stored(server, project(dist))


@pytest.mark.parametrize(
    "field", ["name", "version", "sha256_digest", ":action", "filetype", "requires_python"]
)
def test_repeated_single_form_field(server: RegistryServer, dist: Dist, field: str) -> None:
    parts = form_parts(dist, wheel_bytes(dist))
    value = next((part[1] for part in parts if part[0] == field), None)
    parts[1:1] = [(field, value, None)] if value is not None else [(field, b">=3", None)] * 2
    assert_refused(post_parts(server, parts), 400, f"'{field}' appears more than once")
    assert_nothing_stored(server, project(dist))


def test_two_content_files(server: RegistryServer, dist: Dist) -> None:
    parts = form_parts(dist, wheel_bytes(dist))
    parts.append(("content", sdist_bytes(dist), dist.sdist_name.encode()))
    assert_refused(post_parts(server, parts), 400, "'content' appears more than once")
    assert_nothing_stored(server, project(dist))


def test_content_part_that_is_not_a_file(server: RegistryServer, dist: Dist) -> None:
    parts = [(name, value, None) for name, value, _filename in form_parts(dist, wheel_bytes(dist))]
    assert_refused(post_parts(server, parts), 400, "'content' part is not a file")
    assert_nothing_stored(server, project(dist))


def test_repeatable_metadata_fields_may_repeat(server: RegistryServer, dist: Dist) -> None:
    parts = form_parts(dist, wheel_bytes(dist))
    for name, value in [("classifiers", b"A :: B"), ("classifiers", b"C :: D"), ("requires_dist", b"x")] * 2:
        parts.insert(1, (name, value, None))
    response = post_parts(server, parts)
    assert response.status_code == 200, response.text
    assert [record.filename for record in server.services().cache.list_files(project(dist))] == [
        dist.wheel_name
    ]


# --- The filename ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("{Name}-1.0-py3-none-any.whl", "{module}-1.0-py3-none-any.whl"),
        ("{dotted}-1.0-py3-none-any.whl", "{module}-1.0-py3-none-any.whl"),
        ("{module}-1.0.0-py3-none-any.whl", None),
        ("{module}-1.00-py3-none-any.whl", "{module}-1.0-py3-none-any.whl"),
        ("{module}-1.0.RC1-py3-none-any.whl", "{module}-1.0rc1-py3-none-any.whl"),
    ],
    ids=["uppercase", "dots", "same-version-longer", "zero-padded", "uppercase-pre-release"],
)
def test_non_normalized_wheel_filename(
    server: RegistryServer, dist: Dist, spelling: str, expected: str | None
) -> None:
    names = {"Name": dist.module.capitalize(), "dotted": dist.module.replace("_", "."), "module": dist.module}
    filename = spelling.format(**names)
    version = filename.split("-")[1]
    release = Dist(dist.name, version)
    response = post_upload(server, wheel_bytes(release), filename, dist.name, version)
    if expected is None:  # 1.0.0 is a normalized version of its own, not a spelling of 1.0
        assert response.status_code == 200, response.text
        return
    assert_refused(
        response, 400, "must be in normalized form", f"rename the file to '{expected.format(**names)}'"
    )
    assert_nothing_stored(server, project(dist))


@pytest.mark.parametrize(
    "tag",
    ["a ny", 'an"y', "an'y", "any<x", "any?x", "any#x", "ány", "any\u2024x"],
    ids=[
        "space",
        "double-quote",
        "quote",
        "less-than",
        "question-mark",
        "hash",
        "non-ascii",
        "one-dot-leader",
    ],
)
def test_wheel_tag_with_unsafe_characters(server: RegistryServer, dist: Dist, tag: str) -> None:
    filename = f"{dist.module}-1.0-py3-none-{tag}.whl".encode().replace(b'"', b'\\"')
    response = post_parts(server, form_parts(dist, wheel_bytes(dist), filename))
    assert_refused(response, 400, "Invalid filename", "is not allowed in a distribution filename")
    assert_nothing_stored(server, project(dist))


@pytest.mark.parametrize(
    "tag", ["py3-none-an+y", "py3-none-any!", "1+2-py3-none-any"], ids=["plus", "bang", "build"]
)
def test_wheel_tag_with_version_punctuation(server: RegistryServer, dist: Dist, tag: str) -> None:
    refused(server, dist, wheel_bytes(dist), f"{dist.module}-1.0-{tag}.whl", "may hold only ASCII letters")


def test_local_version_is_accepted(server: RegistryServer, dist: Dist) -> None:
    """A private index is where local versions belong (PEP 440): see docs/uploads.md."""
    local = Dist(dist.name, "1.0+corp.2")
    response = post_upload(server, wheel_bytes(local), local.wheel_name, dist.name, local.version)
    assert response.status_code == 200, response.text
    assert server.services().cache.list_files(project(dist))[0].version == "1.0+corp.2"


# --- Core metadata --------------------------------------------------------------------------


def metadata_with(dist: Dist, old: str, new: str) -> str:
    text = dist.metadata()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        ("Summary:", "Requires-Python: python>=3\nSummary:", "'python>=3' is invalid for 'requires-python'"),
        ("Metadata-Version: 2.1", "Metadata-Version: 3.0", "'3.0' is not a valid metadata version"),
        ("Summary:", "Requires-Dist: foo >>= 1\nSummary:", "is invalid for 'requires-dist'"),
        (
            "Summary:",
            "X-Hidden-Dependency: evil\nSummary:",
            "'x-hidden-dependency' is repeated, is not UTF-8, or is",
        ),
        ("Summary:", "Name: other\nSummary:", "the field 'name' is repeated"),
        (
            "Metadata-Version: 2.1",
            "Metadata-Version: 2.2\nDynamic: Version",
            "not allowed as a dynamic field",
        ),
        (
            "Metadata-Version: 2.1",
            "Metadata-Version: 2.1\nLicense-Expression: MIT AND",
            "'MIT AND' is invalid for 'license-expression'",
        ),
    ],
    ids=[
        "requires-python",
        "metadata-version-3",
        "requires-dist",
        "unknown-field",
        "two-names",
        "dynamic",
        "too-new-and-invalid",
    ],
)
def test_invalid_core_metadata_in_wheel(
    server: RegistryServer, dist: Dist, old: str, new: str, phrase: str
) -> None:
    content = hostile.wheel_with_metadata(dist, metadata_with(dist, old, new))
    refused(server, dist, content, dist.wheel_name, "Invalid core metadata in", "METADATA", phrase)


def test_invalid_core_metadata_in_sdist(server: RegistryServer, dist: Dist) -> None:
    pkg_info = metadata_with(dist, "Summary:", "Requires-Python: python>=3\nSummary:")
    content = hostile.tar_gz(hostile.sdist_members(dist, pkg_info))
    refused(server, dist, content, dist.sdist_name, "Invalid core metadata in PKG-INFO", "'python>=3'")


def test_license_file_under_metadata_2_1_is_accepted(server: RegistryServer, dist: Dist) -> None:
    """setuptools before 77 wrote License-File under 2.1; twine forgives it, and so do we."""
    content = hostile.wheel_with_metadata(
        dist, metadata_with(dist, "Summary:", "License-File: LICENSE\nSummary:")
    )
    response = post_upload(server, content, dist.wheel_name, dist.name, "1.0")
    assert response.status_code == 200, response.text


def test_license_expression_under_metadata_2_1_is_accepted(server: RegistryServer, dist: Dist) -> None:
    """hatchling before 1.22 wrote License-Expression under 2.1 (attrs 23.2.0, execnet 2.1.1 on
    the public index): a private registry that holds re-uploads of such wheels accepts them."""
    content = hostile.wheel_with_metadata(
        dist, metadata_with(dist, "Summary:", "License-Expression: MIT\nSummary:")
    )
    response = post_upload(server, content, dist.wheel_name, dist.name, "1.0")
    assert response.status_code == 200, response.text
    info = server.get(f"pypi/{dist.name}/json").json()["info"]
    assert info["license_expression"] == "MIT"


# --- Zip framing (wheels) -------------------------------------------------------------------


def test_wheel_with_a_second_metadata(server: RegistryServer, dist: Dist) -> None:
    """The second METADATA would hide the first's dependencies from the served .metadata file."""
    second = metadata_with(dist, "Summary:", "Requires-Dist: hidden-dependency\nSummary:").encode()
    content = hostile.wheel_adding(dist, (f"{hostile.dist_info(dist)}/METADATA", second))
    refused(server, dist, content, dist.wheel_name, f"'{hostile.dist_info(dist)}/METADATA' appears twice")


def test_wheel_with_prepended_bytes(server: RegistryServer, dist: Dist) -> None:
    refused(server, dist, b"#!/bin/sh\n" * 8 + wheel_bytes(dist), dist.wheel_name, "data before the zip")


def test_wheel_with_prepended_bytes_and_shifted_offsets(server: RegistryServer, dist: Dist) -> None:
    content = hostile.self_extractor_style(dist, b"#!/bin/sh\n" * 8)
    refused(server, dist, content, dist.wheel_name, "data before the first entry")


def test_wheel_with_appended_bytes(server: RegistryServer, dist: Dist) -> None:
    refused(server, dist, wheel_bytes(dist) + b"appended", dist.wheel_name, "data after the end of the zip")


def test_wheel_followed_by_another_zip(server: RegistryServer, dist: Dist) -> None:
    content = wheel_bytes(dist) + wheel_bytes(Dist(dist.name, "1.0", requires=["hidden"]))
    refused(server, dist, content, dist.wheel_name, "data before the zip")


def test_wheel_with_bytes_between_entries(server: RegistryServer, dist: Dist) -> None:
    refused(server, dist, hostile.with_gap_between_entries(dist), dist.wheel_name, "data between entries")


def test_wheel_whose_local_header_disagrees(server: RegistryServer, dist: Dist) -> None:
    name = f"{hostile.dist_info(dist)}/METADATA"
    content = hostile.with_local_name(wheel_bytes(dist), name, name[:-1] + "B")
    refused(server, dist, content, dist.wheel_name, "local header of", "disagrees with the central directory")


@pytest.mark.parametrize("count", [3, 5, 0])
def test_wheel_with_a_false_entry_count(server: RegistryServer, dist: Dist, count: int) -> None:
    content = hostile.with_entry_count(wheel_bytes(dist), count)
    refused(server, dist, content, dist.wheel_name, f"end record counts {count} entries")


def test_wheel_with_zip_records_in_its_comment(server: RegistryServer, dist: Dist) -> None:
    content = hostile.with_comment(wheel_bytes(dist), b"see PK\x03\x04 and PK\x01\x02")
    refused(server, dist, content, dist.wheel_name, "comment holds zip records")


def test_wheel_with_a_data_descriptor(server: RegistryServer, dist: Dist) -> None:
    refused(server, dist, hostile.streamed_wheel(dist), dist.wheel_name, "data descriptor")


def test_wheel_with_bzip2_members(server: RegistryServer, dist: Dist) -> None:
    content = hostile.zip_bytes(hostile.wheel_files(dist), zipfile.ZIP_BZIP2)
    refused(server, dist, content, dist.wheel_name, "compression method 12")


def test_wheel_that_is_also_a_tar(server: RegistryServer, dist: Dist) -> None:
    content = hostile.zip_that_is_also_tar(dist)
    assert tarfile.TarInfo.frombuf(content[:512], "utf-8", "strict")  # the crafted file really is both
    refused(server, dist, content, dist.wheel_name, "both a zip and a tar archive")


@pytest.mark.parametrize(
    ("member", "phrase"),
    [("../evil.py", "'..' part"), ("/etc/evil.py", "absolute path"), ("pkg\\..\\..\\evil.py", "backslash")],
    ids=["parent", "absolute", "backslash"],
)
def test_wheel_member_outside_the_install_directory(
    server: RegistryServer, dist: Dist, member: str, phrase: str
) -> None:
    refused(server, dist, hostile.wheel_adding(dist, (member, b"x = 1\n")), dist.wheel_name, phrase)


# --- Sdists ---------------------------------------------------------------------------------


def test_sdist_that_is_also_a_zip(server: RegistryServer, dist: Dist) -> None:
    content = sdist_bytes(dist) + wheel_bytes(dist)
    refused(server, dist, content, dist.sdist_name, "both a gzip-compressed tar and a zip")


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("other-1.0/setup.py", "outside its single top-level directory"),
        ("setup.py", "outside its single top-level directory"),
        ("{top}/../evil.py", "'..' part"),
        ("/{top}/evil.py", "absolute path"),
        ("{top}//evil.py", "empty, '.' or '..' part"),
        ("{top}/PKG-INFO", "'{top}/PKG-INFO' appears twice"),
    ],
    ids=["second-top-directory", "top-level-file", "parent", "absolute", "empty-part", "duplicate"],
)
def test_sdist_member_outside_its_directory(
    server: RegistryServer, dist: Dist, name: str, phrase: str
) -> None:
    top = hostile.top(dist)
    content = hostile.sdist_adding(dist, (hostile.member(name.format(top=top)), dist.metadata().encode()))
    refused(server, dist, content, dist.sdist_name, phrase.format(top=top))


def test_sdist_with_another_top_directory_name(server: RegistryServer, dist: Dist) -> None:
    content = hostile.tar_gz([(hostile.member("something-1.0/PKG-INFO"), dist.metadata().encode())])
    refused(server, dist, content, dist.sdist_name, "top-level directory 'something-1.0' is not")


@pytest.mark.parametrize(
    ("links", "phrase"),
    [
        (
            [("evil", tarfile.SYMTYPE, "../../etc/passwd")],
            "symlink '{top}/evil' points to '../../etc/passwd'",
        ),
        ([("evil", tarfile.SYMTYPE, "/etc/passwd")], "points to '/etc/passwd'"),
        ([("evil", tarfile.SYMTYPE, "..")], "outside the sdist's top-level directory"),
        (
            [("a/b/s", tarfile.SYMTYPE, "../../c"), ("e", tarfile.SYMTYPE, "a/b/s/../../..")],
            "symlink '{top}/e'",
        ),
        ([("l1", tarfile.SYMTYPE, "l2/x"), ("l2", tarfile.SYMTYPE, "l1/x")], "symlink '{top}/l1'"),
        ([("h", tarfile.LNKTYPE, "etc/passwd")], "hard link '{top}/h' points to 'etc/passwd'"),
        ([("h", tarfile.LNKTYPE, "{top}/../x")], "hard link"),
    ],
    ids=[
        "symlink-up",
        "symlink-absolute",
        "symlink-to-parent",
        "symlink-chain",
        "symlink-loop",
        "hardlink",
        "hardlink-up",
    ],
)
def test_sdist_link_pointing_outside(
    server: RegistryServer, dist: Dist, links: list[tuple[str, bytes, str]], phrase: str
) -> None:
    top = hostile.top(dist)
    extra = [
        (hostile.member(f"{top}/{name}", kind, target.format(top=top)), None) for name, kind, target in links
    ]
    refused(server, dist, hostile.sdist_adding(dist, *extra), dist.sdist_name, phrase.format(top=top))


@pytest.mark.parametrize(
    ("kind", "phrase"),
    [
        (tarfile.CHRTYPE, "device node"),
        (tarfile.BLKTYPE, "device node"),
        (tarfile.FIFOTYPE, "FIFO"),
        (tarfile.GNUTYPE_SPARSE, "sparse file"),
        (b"V", "unsupported tar type"),
    ],
    ids=["character-device", "block-device", "fifo", "sparse", "unknown-type"],
)
def test_sdist_special_member(server: RegistryServer, dist: Dist, kind: bytes, phrase: str) -> None:
    content = hostile.sdist_adding(dist, (hostile.member(f"{hostile.top(dist)}/special", kind), None))
    refused(server, dist, content, dist.sdist_name, phrase)


def test_sdist_with_links_inside_is_accepted(server: RegistryServer, dist: Dist) -> None:
    top = hostile.top(dist)
    links = [("README", tarfile.SYMTYPE, "PKG-INFO"), ("docs/index", tarfile.SYMTYPE, "../PKG-INFO")]
    links.append(("COPY", tarfile.LNKTYPE, f"{top}/PKG-INFO"))
    extra = [(hostile.member(f"{top}/{name}", kind, target), None) for name, kind, target in links]
    response = post_upload(server, hostile.sdist_adding(dist, *extra), dist.sdist_name, dist.name, "1.0")
    assert response.status_code == 200, response.text


def test_zip_sdist_member_outside_its_directory(server: RegistryServer, dist: Dist) -> None:
    top = hostile.top(dist)
    files = [(f"{top}/PKG-INFO", dist.metadata().encode()), ("evil.py", b"x")]
    refused(server, dist, hostile.zip_bytes(files), f"{top}.zip", "'evil.py' is outside")


def test_zip_sdist_with_a_symlink(server: RegistryServer, dist: Dist) -> None:
    top = hostile.top(dist)
    link = zipfile.ZipInfo(f"{top}/evil", date_time=(2024, 1, 1, 0, 0, 0))
    link.external_attr = 0o120777 << 16
    buffer = io.BytesIO(hostile.zip_bytes([(f"{top}/PKG-INFO", dist.metadata().encode())]))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(link, "../../etc/passwd")
    refused(server, dist, buffer.getvalue(), f"{top}.zip", "is a link")


# --- Real files from real build backends ----------------------------------------------------

PYPROJECT = """
[build-system]
requires = [{requires!r}]
build-backend = {backend!r}

[project]
name = {name!r}
version = "2.1.0"
description = "A small real project"
readme = "README.md"
requires-python = ">=3.9"
dependencies = ["packaging>=20", "requests[socks]; python_version >= '3.8'"]
classifiers = ["Programming Language :: Python :: 3"]
keywords = ["real", "tiny"]
{license}

[project.optional-dependencies]
test = ["pytest>=7"]

[project.urls]
Homepage = "https://example.invalid/home"

[project.scripts]
{name}-cli = "{module}:main"
"""


def real_project(root: Path, name: str, requires: str, backend: str, license: str) -> Path:
    module = name.replace("-", "_")
    text = PYPROJECT.format(requires=requires, backend=backend, name=name, module=module, license=license)
    (root / "pyproject.toml").write_text(text)
    (root / "README.md").write_text("# A real project\n\nWith a *readme*.\n")
    (root / "LICENSE").write_text("MIT License\n")
    package = root / "src" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('def main() -> None:\n    print("hello")\n')
    (package / "data.json").write_text('{"a": 1}\n')
    return root


def build_setuptools(root: Path) -> list[Path]:
    """sdist and wheel from setuptools (the pinned, old one: Metadata 2.1 with License-File)."""
    command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "dist"), str(root)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return sorted(path for path in (root / "dist").iterdir() if path.name.endswith((".whl", ".tar.gz")))


def build_uv(root: Path) -> list[Path]:
    """sdist and wheel from uv's own build backend (Metadata 2.4), offline."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    assert uv, "uv is in requirements-dev.txt"
    env = {**os.environ, "UV_OFFLINE": "1", "UV_NO_CONFIG": "1"}
    subprocess.run(
        [uv, "build", "--out-dir", str(root / "dist"), str(root)],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    return sorted(path for path in (root / "dist").iterdir() if path.name.endswith((".whl", ".tar.gz")))


@pytest.mark.parametrize("backend", ["setuptools", "uv"])
def test_real_builds_are_accepted(
    server: RegistryServer, unique_name: str, tmp_path: Path, backend: str
) -> None:
    name = unique_name.replace(".", "-")
    if backend == "setuptools":
        root = real_project(tmp_path, name, "setuptools", "setuptools.build_meta", 'license = {text = "MIT"}')
        built = build_setuptools(root)
    else:
        root = real_project(
            tmp_path, name, "uv_build>=0.9,<0.14", "uv_build", 'license = "MIT"\nlicense-files = ["LICENSE"]'
        )
        built = build_uv(root)
    assert sorted(path.suffix for path in built) == [".gz", ".whl"], built
    for path in built:
        response = post_upload(server, path.read_bytes(), path.name, name, "2.1.0")
        assert response.status_code == 200, f"{backend} {path.name}: {response.text}"
    records = server.services().cache.list_files(name)
    assert sorted(record.filename for record in records) == sorted(path.name for path in built)
    wheel = next(record for record in records if record.packagetype == "bdist_wheel")
    assert wheel.requires_python == ">=3.9"
    assert wheel.info["provides_extra"] == ["test"]


def test_real_wheel_with_a_non_normalized_name(
    server: RegistryServer, unique_name: str, tmp_path: Path
) -> None:
    """Old setuptools keeps the project's spelling in the wheel name; renaming it is the fix."""
    name = unique_name.title()
    root = real_project(tmp_path, name, "setuptools", "setuptools.build_meta", 'license = {text = "MIT"}')
    wheel = next(path for path in build_setuptools(root) if path.suffix == ".whl")
    expected = f"{unique_name.replace('-', '_')}-2.1.0-py3-none-any.whl"
    assert wheel.name != expected and wheel.name.lower() == expected, wheel.name
    response = post_upload(server, wheel.read_bytes(), wheel.name, name, "2.1.0")
    assert_refused(response, 400, f"rename the file to '{expected}'")
    response = post_upload(server, wheel.read_bytes(), expected, name, "2.1.0")
    assert response.status_code == 200, response.text
