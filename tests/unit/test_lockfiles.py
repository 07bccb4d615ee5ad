"""Lock file pins and the platform/Python selection of ``mirror`` (files from real uv and
poetry: tests/e2e/test_mirror.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.tags import Tag

from registry.core.mirror import platform_fits, python_fits, selector
from registry.errors import InvalidRequest
from registry.lockfiles import read_lock

SHA = "a" * 64


def test_requirements_pins_hashes_includes_and_problems(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("Zope.Interface==6.0  # a comment\n")
    (tmp_path / "requirements.txt").write_text(
        "--index-url http://127.0.0.1:9/simple/\n-r base.txt\n"
        f"demo==1.0 \\\n    --hash=sha256:{SHA.upper()}\n"
        "ranged>=1\n-e ./local\nother @ https://127.0.0.1/other-1.0.tar.gz\nnot a requirement!\n"
    )
    locked = read_lock(tmp_path / "requirements.txt")
    assert [(p.project, p.version, p.hashes) for p in locked.pins] == [
        ("zope-interface", "6.0", frozenset()),
        ("demo", "1.0", frozenset({SHA})),
    ]
    assert locked.skipped == ["other (a URL: not from an index)"]
    assert len(locked.problems) == 2 and "'ranged>=1' is not pinned" in locked.problems[0]


def test_lock_entries_not_from_an_index_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text(
        'version = 1\n[[package]]\nname = "me"\nversion = "0.1"\nsource = { editable = "." }\n'
        '[[package]]\nname = "g"\nversion = "1.0"\nsource = { git = "https://127.0.0.1/g.git" }\n'
        '[[package]]\nname = "w"\nversion = "1.0"\nsource = { registry = "http://127.0.0.1/simple/" }\n'
        'wheels = [{ url = "http://127.0.0.1/w-1.0-py3-none-any.whl", hash = "md5:00" }]\n'
    )
    locked = read_lock(tmp_path / "uv.lock")
    assert locked.pins == [] and len(locked.skipped) == 2
    assert locked.problems == [
        f"{tmp_path / 'uv.lock'}: w-1.0-py3-none-any.whl has no sha256 to check it against"
    ]
    (tmp_path / "pylock.dev.toml").write_text(
        'lock-version = "1.0"\n[[packages]]\nname = "d"\ndirectory = { path = "." }\n'
        '[[packages]]\nname = "p"\nversion = "2"\n'
        f'wheels = [{{ name = "p-2-py3-none-any.whl", url = "http://127.0.0.1/x", '
        f'hashes = {{ sha256 = "{SHA}" }} }}]\n'
    )
    pylock = read_lock(tmp_path / "pylock.dev.toml")
    assert [dict(p.files) for p in pylock.pins] == [{"p-2-py3-none-any.whl": SHA}]
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "x"\nversion = "1"\n[package.source]\ntype = "git"\n'
    )
    assert read_lock(tmp_path / "poetry.lock").skipped == ["x (git: not from an index)"]
    (tmp_path / "broken" / "uv.lock").parent.mkdir()
    (tmp_path / "broken" / "uv.lock").write_text("[[package]\n")
    with pytest.raises(InvalidRequest, match="Cannot read"):
        read_lock(tmp_path / "broken" / "uv.lock")


def test_wheels_are_chosen_by_platform_and_python() -> None:
    assert platform_fits("manylinux2014_x86_64", "manylinux_2_28_x86_64")
    assert not platform_fits("manylinux_2_34_x86_64", "manylinux_2_28_x86_64")
    assert not platform_fits("manylinux_2_17_aarch64", "manylinux_2_28_x86_64")
    assert platform_fits("macosx_11_0_universal2", "macosx_14_0_arm64")
    assert not platform_fits("musllinux_1_1_x86_64", "manylinux_2_28_x86_64")
    assert python_fits(Tag("cp39", "abi3", "any"), "3.12") and not python_fits(
        Tag("cp39", "cp39", "any"), "3.12"
    )
    assert python_fits(Tag("py3", "none", "any"), "3.11") and not python_fits(
        Tag("py2", "none", "any"), "3.11"
    )
    select = selector(("win_amd64",), ("3.12",))
    assert select("demo-1.0.tar.gz") and select("demo-1.0-py3-none-any.whl")
    assert select("demo-1.0-cp312-cp312-win_amd64.whl")
    assert not select("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")
    assert not select("demo-1.0-cp311-cp311-win_amd64.whl")
    assert selector((), ())("demo-1.0-cp311-cp311-win_amd64.whl")
