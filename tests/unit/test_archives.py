"""Archive checks without HTTP: member paths, sdist trees and links, zip framing, polyglots."""

from __future__ import annotations

import doctest
import io
import tarfile
import zipfile

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from registry.core import archives, upload_rules
from registry.core.archives import (
    DIRECTORY,
    FILE,
    HARDLINK,
    SYMLINK,
    SdistTree,
    member_parts,
    refuse_tar_polyglot,
    refuse_zip_polyglot,
    tar_member_kind,
)
from registry.core.zip_layout import check_zip_layout
from registry.errors import InvalidUpload
from tests import hostile_archives as hostile
from tests.distributions import Dist, sdist_bytes, wheel_bytes

DIST = Dist("unit-archive", "1.0")


def test_doctests() -> None:
    for module in (archives, upload_rules):
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("/etc/passwd", "absolute path"),
        ("a/../../b", "'..' part"),
        ("a/./b", "'..' part"),
        ("a//b", "empty"),
        ("a\\b", "backslash"),
        ("a/b\x00c", "control character"),
        ("a/\x1b[31mred", "control character"),
    ],
)
def test_member_parts_refuses(name: str, phrase: str) -> None:
    with pytest.raises(InvalidUpload, match=phrase.replace(".", r"\.")):
        member_parts(name, "sdist")


def test_member_parts_accepts_plain_paths() -> None:
    assert member_parts("pkg-1.0/src/pkg/ü.py", "sdist") == ["pkg-1.0", "src", "pkg", "ü.py"]


def tree() -> SdistTree:
    return SdistTree(canonicalize_name("unit-archive"), Version("1.0"))


def test_tree_accepts_a_normal_sdist_with_links_inside() -> None:
    sdist = tree()
    sdist.add("unit_archive-1.0/", DIRECTORY)
    sdist.add("unit_archive-1.0/PKG-INFO", FILE)
    sdist.add("unit_archive-1.0/docs/README", SYMLINK, "../PKG-INFO")
    sdist.add("unit_archive-1.0/same", SYMLINK, "./PKG-INFO")
    sdist.add("unit_archive-1.0/copy", HARDLINK, "unit_archive-1.0/PKG-INFO")
    sdist.add("unit_archive-1.0/docs", DIRECTORY)  # a directory may be listed again
    sdist.finish()
    sdist.check_top_name()


@pytest.mark.parametrize("top", ["Unit.Archive-1.0", "unit_archive-1.0.0", "UNIT-ARCHIVE-1.0"])
def test_tree_top_name_is_compared_normalized(top: str) -> None:
    sdist = tree()
    sdist.add(f"{top}/PKG-INFO", FILE)
    sdist.check_top_name()


@pytest.mark.parametrize("top", ["unit-archive-2.0", "other-1.0", "unit-archive", "1.0"])
def test_tree_top_name_must_be_this_release(top: str) -> None:
    sdist = tree()
    sdist.add(f"{top}/PKG-INFO", FILE)
    with pytest.raises(InvalidUpload, match="top-level directory"):
        sdist.check_top_name()


@pytest.mark.parametrize(
    "links",
    [
        [("s", SYMLINK, "..")],
        [("s", SYMLINK, "../x")],
        [("d/s", SYMLINK, "../..")],
        [("s", SYMLINK, "/x")],
        [("s", SYMLINK, "")],
        [("a/b/s", SYMLINK, "../../c"), ("e", SYMLINK, "a/b/s/../../..")],
        [("up", SYMLINK, "sub"), ("sub", SYMLINK, ".."), ("e", SYMLINK, "up/x")],
        [("l1", SYMLINK, "l2/x"), ("l2", SYMLINK, "l1/x")],
        [("h", HARDLINK, "x")],
        [("h", HARDLINK, "unit_archive-1.0/../x")],
        [("s", SYMLINK, "d"), ("h", HARDLINK, "unit_archive-1.0/s/../../x")],
    ],
    ids=[
        "to-top",
        "up",
        "up-two",
        "absolute",
        "empty",
        "chain",
        "through-link",
        "loop",
        "hard-root",
        "hard-up",
        "hard-through-symlink",
    ],
)
def test_tree_refuses_links_leading_out(links: list[tuple[str, str, str]]) -> None:
    sdist = tree()
    sdist.add("unit_archive-1.0/PKG-INFO", FILE)
    with pytest.raises(InvalidUpload, match="points to"):
        for name, kind, target in links:
            sdist.add(f"unit_archive-1.0/{name}", kind, target)
        sdist.finish()


@pytest.mark.parametrize(
    ("members", "phrase"),
    [
        ([("setup.py", FILE)], "outside any directory"),
        (
            [("a-1.0/PKG-INFO", FILE), ("b-1.0/PKG-INFO", FILE)],
            "outside its single top-level directory 'a-1.0/'",
        ),
        ([("a-1.0/x", FILE), ("a-1.0/x", FILE)], "appears twice"),
        ([("a-1.0/x", DIRECTORY), ("a-1.0/x", FILE)], "appears twice"),
        ([("a-1.0", DIRECTORY), ("a-1.0", FILE)], "outside"),
    ],
)
def test_tree_refuses_members_outside(members: list[tuple[str, str]], phrase: str) -> None:
    sdist = tree()
    with pytest.raises(InvalidUpload, match=phrase):
        for name, kind in members:
            sdist.add(name, kind)


def test_tree_refuses_an_empty_archive() -> None:
    with pytest.raises(InvalidUpload, match="empty"):
        tree().finish()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (tarfile.REGTYPE, FILE),
        (tarfile.AREGTYPE, FILE),
        (tarfile.CONTTYPE, FILE),
        (tarfile.DIRTYPE, DIRECTORY),
        (tarfile.SYMTYPE, SYMLINK),
        (tarfile.LNKTYPE, HARDLINK),
        (tarfile.CHRTYPE, "device node"),
        (tarfile.BLKTYPE, "device node"),
        (tarfile.FIFOTYPE, "FIFO"),
        (b"V", "unsupported tar type"),
    ],
)
def test_tar_member_kind(kind: bytes, expected: str) -> None:
    member = tarfile.TarInfo("x-1.0/member")
    member.type = kind
    if expected in (FILE, DIRECTORY, SYMLINK, HARDLINK):
        assert tar_member_kind(member) == expected
    else:
        with pytest.raises(InvalidUpload, match=expected):
            tar_member_kind(member)


def test_tar_member_kind_refuses_sparse_files() -> None:
    content = hostile.tar_gz([(hostile.member("x-1.0/sparse", tarfile.GNUTYPE_SPARSE), None)])
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
        member = archive.getmembers()[0]
    assert member.issparse()
    with pytest.raises(InvalidUpload, match="sparse"):
        tar_member_kind(member)


def test_refuse_zip_polyglot() -> None:
    refuse_zip_polyglot(io.BytesIO(sdist_bytes(DIST)))
    with pytest.raises(InvalidUpload, match="both a gzip-compressed tar and a zip"):
        refuse_zip_polyglot(io.BytesIO(sdist_bytes(DIST) + wheel_bytes(DIST)))


def test_refuse_tar_polyglot() -> None:
    refuse_tar_polyglot(io.BytesIO(wheel_bytes(DIST)), "wheel")
    refuse_tar_polyglot(io.BytesIO(b"PK"), "wheel")
    with pytest.raises(InvalidUpload, match="both a zip and a tar"):
        refuse_tar_polyglot(io.BytesIO(hostile.zip_that_is_also_tar(DIST)), "wheel")


def layout(data: bytes) -> None:
    stream = io.BytesIO(data)
    with zipfile.ZipFile(stream) as archive:
        check_zip_layout(stream, archive, len(data), "wheel")


def test_zip_layout_accepts_wheels_from_zipfile() -> None:
    layout(wheel_bytes(DIST))
    layout(hostile.zip_bytes([("a/", b""), ("a/b", b"x" * 10_000)], zipfile.ZIP_STORED))
    layout(hostile.with_comment(wheel_bytes(DIST), b"a harmless archive comment"))
    layout(hostile.zip_bytes([]))


def test_zip_layout_accepts_a_zip64_end_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)  # zipfile then writes the ZIP64 records
    data = hostile.zip_bytes([(f"m{index}", b"x") for index in range(5)])
    assert data[-42:-38] == b"PK\x06\x07"  # the ZIP64 locator, right before the end record
    layout(data)
    with pytest.raises(InvalidUpload, match="counts 4 entries"):
        at = data.rindex(b"PK\x06\x06")
        layout(data[: at + 24] + (4).to_bytes(8, "little") * 2 + data[at + 40 :])


def test_zip_layout_accepts_zip64() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        with archive.open("big", "w", force_zip64=True) as member:
            member.write(b"x" * 1000)
        archive.writestr("small", b"y")
    layout(buffer.getvalue())


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"junk" + wheel_bytes(DIST), "data before the zip"),
        (hostile.self_extractor_style(DIST, b"junk"), "data before the first entry"),
        (wheel_bytes(DIST) + b"junk", "data after the end"),
        (wheel_bytes(DIST) + b"\0" * 22, "data after the end"),
        (hostile.with_entry_count(wheel_bytes(DIST), 1), "counts 1 entries"),
        (hostile.with_gap_between_entries(DIST), "between entries"),
        (hostile.with_comment(wheel_bytes(DIST), b"PK\x01\x02"), "comment holds zip records"),
        (hostile.streamed_wheel(DIST), "data descriptor"),
        (hostile.zip_bytes([("a", b"x"), ("a", b"y")]), "appears twice"),
        (hostile.zip_bytes([("a", b"x")], zipfile.ZIP_LZMA), "compression method 14"),
    ],
    ids=[
        "prepended",
        "shifted",
        "appended",
        "appended-zeros",
        "count",
        "gap",
        "comment",
        "descriptor",
        "duplicate",
        "lzma",
    ],
)
def test_zip_layout_refuses(data: bytes, phrase: str) -> None:
    with pytest.raises(InvalidUpload, match=phrase):
        layout(data)


def test_zip_layout_refuses_a_local_header_that_disagrees() -> None:
    data = wheel_bytes(DIST)
    with pytest.raises(InvalidUpload, match="disagrees with the central directory"):
        layout(hostile.with_local_name(data, "unit_archive/__init__.py", "unit_archive/__init__.pz"))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        first = archive.infolist()[0]
    sizes = 18  # the local header's compressed size field
    patched = bytearray(data)
    patched[first.header_offset + sizes] ^= 1
    with pytest.raises(InvalidUpload, match="disagrees"):
        layout(bytes(patched))


def test_zip_layout_refuses_a_second_unicode_name() -> None:
    info = zipfile.ZipInfo("plain.py")
    name = b"other.py"
    info.extra = b"\x75\x70" + (5 + len(name)).to_bytes(2, "little") + b"\x01\0\0\0\0" + name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, b"x")
    with pytest.raises(InvalidUpload, match="second, different name"):
        layout(buffer.getvalue())


def test_zip_layout_refuses_entry_comments_and_encryption() -> None:
    info = zipfile.ZipInfo("a")
    info.comment = b"hello"
    with pytest.raises(InvalidUpload, match="comment in the central directory"):
        layout(_zip_with(info))
    encrypted = bytearray(_zip_with(zipfile.ZipInfo("a")))
    encrypted[6] |= 0x1  # the flags of the local header, and of the central directory entry
    encrypted[encrypted.index(b"PK\x01\x02") + 8] |= 0x1
    with pytest.raises(InvalidUpload, match="encrypted"):
        layout(bytes(encrypted))


def _zip_with(info: zipfile.ZipInfo) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, b"data")
    return buffer.getvalue()
