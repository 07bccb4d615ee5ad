"""The pure parts of the stored-state upload rules: skeletons, which claims a file takes and
gives back, and what each refusal says (registry/core/upload_state.py)."""

from __future__ import annotations

import json

import pytest
from packaging.utils import NormalizedName

from registry.cache.claims import Claim, first_conflict, releasable
from registry.core.upload_state import (
    DELETED,
    claims_for,
    refusal,
    released_by,
    skeleton,
    tombstone,
)
from registry.errors import Claimed
from registry.models import FileRecord


def record(filename: str = "demo-1.0.tar.gz", packagetype: str = "sdist", **changes: object) -> FileRecord:
    base = FileRecord(project=NormalizedName("demo"), version="1.0", filename=filename,
                      packagetype=packagetype, size=10, sha256="ab" * 32)  # fmt: skip
    return base.with_changes(**changes)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("pillow", "pi11ow"),
        ("pillow", "piiiow"),
        ("requests", "req-uests"),
        ("foo-bar", "f00bar"),
        ("a-b-c", "abc"),
    ],
)
def test_confusable_names_share_a_skeleton(one: str, other: str) -> None:
    assert skeleton(NormalizedName(one)) == skeleton(NormalizedName(other))


@pytest.mark.parametrize(("one", "other"), [("pillow", "pillows"), ("requests", "request"), ("foo", "bar")])
def test_different_names_have_different_skeletons(one: str, other: str) -> None:
    assert skeleton(NormalizedName(one)) != skeleton(NormalizedName(other))


def test_an_sdist_of_a_new_project_takes_four_claims() -> None:
    keys = {claim.key: claim.owner for claim in claims_for(record())}
    assert keys == {
        "file:demo/demo-1.0.tar.gz": "demo/demo-1.0.tar.gz",
        "sha256:" + "ab" * 32: "demo/demo-1.0.tar.gz",
        "name:demo": "demo",
        "sdist:demo/1.0": "demo/demo-1.0.tar.gz",
    }


def test_a_wheel_of_an_existing_project_takes_two() -> None:
    wheel = record("demo-1.0-py3-none-any.whl", "bdist_wheel")
    assert [claim.key.split(":")[0] for claim in claims_for(wheel, new_project=False)] == ["file", "sha256"]


def test_the_sdist_claim_uses_the_normalized_version() -> None:
    keys = [claim.key for claim in claims_for(record("demo-1.0.0.tar.gz", version="1.0.0"))]
    assert "sdist:demo/1.0.0" in keys and "sdist:demo/1.0" not in keys
    assert [c.key for c in claims_for(record("demo-1.0RC1.tar.gz", version="1.0RC1"))][
        -1
    ] == "sdist:demo/1.0rc1"


def test_a_file_cached_from_the_upstream_takes_no_claim() -> None:
    cached = record(origin="http://127.0.0.1:9/demo-1.0.tar.gz")
    assert claims_for(cached) == [] and released_by(cached) == []


def test_a_delete_releases_the_bytes_and_the_sdist_and_marks_the_filename() -> None:
    assert [claim.key.split(":")[0] for claim in released_by(record())] == ["sha256", "sdist"]
    mark = tombstone(record())
    assert mark.key == "file:demo/demo-1.0.tar.gz" and mark.owner.startswith(DELETED)
    assert json.loads(mark.owner[len(DELETED) :])["sha256"] == "ab" * 32


@pytest.mark.parametrize(
    ("key", "owner", "message"),
    [
        (
            "file:demo/demo-1.0.tar.gz",
            DELETED + "{}",
            "previously used by a file that has since been deleted",
        ),
        ("sdist:demo/1.0", "demo/Demo-1.0.tar.gz", "Only one sdist may be uploaded per release"),
        (
            "sha256:ab",
            "other/other-2.0.tar.gz",
            "The same file was already uploaded as 'other-2.0.tar.gz' (project 'other')",
        ),
        ("name:demo", "dem0", "too similar to the existing project 'dem0'"),
    ],
)
def test_each_refusal_names_the_rule_and_what_holds_it(key: str, owner: str, message: str) -> None:
    assert message in refusal(Claimed(key, owner), record()).message


def test_conflicts_and_releases_go_by_owner() -> None:
    claims = [Claim("a", "me"), Claim("b", "me")]
    assert first_conflict(claims, {"a": "me"}) is None
    conflict = first_conflict(claims, {"a": "me", "b": "you"})
    assert conflict is not None and (conflict.key, conflict.owner) == ("b", "you")
    assert releasable(claims, {"a": "me", "b": "you"}) == ["a"]
