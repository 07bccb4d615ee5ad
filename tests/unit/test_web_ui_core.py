"""The web UI's pure parts: search ranking, latest versions, catalog entries, README rendering,
the chart, and where sign-in may send a browser back to."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from packaging.utils import NormalizedName

from registry.core.browse import MonthCount, last_months, monthly
from registry.core.catalog import CatalogEntry, decode, encode, summarize
from registry.core.listing import Link
from registry.core.readme import Description, parse_description
from registry.core.releases import latest_version, releases
from registry.core.search import check_page, check_query, paginate, rank
from registry.errors import InvalidRequest
from registry.models import FileRecord, ProjectSummary
from registry.web.ui.chart import bar_chart
from registry.web.ui.errors import safe_next
from registry.web.ui.readme import project_links, python_tag, render_readme, safe_url


def entry(name: str, summary: str = "", keywords: str = "") -> CatalogEntry:
    return CatalogEntry(NormalizedName(name), name, 1, summary=summary, keywords=keywords)


ENTRIES = [
    entry("foo-bar", "Parses foo"),
    entry("foo", "The original"),
    entry("barfoo-tools"),
    entry("unrelated", "Talks to foo servers", "network"),
    entry("other", "Nothing here", "widgets"),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Foo_Bar", ["foo-bar"]),  # the exact name (any spelling) first; nothing else has "foo-bar"
        ("foo", ["foo", "foo-bar", "barfoo-tools", "unrelated"]),  # exact, prefix, substring, summary
        ("FOO.bar", ["foo-bar"]),
        ("widgets", ["other"]),
        ("foo servers", ["unrelated"]),  # every word must match somewhere
        ("nothing-like-this", []),
        ("", ["barfoo-tools", "foo", "foo-bar", "other", "unrelated"]),  # everything, by name
    ],
)
def test_rank(query: str, expected: list[str]) -> None:
    assert [found.name for found in rank(ENTRIES, check_query(query))] == expected


def test_query_and_page_checks() -> None:
    assert check_query("  two   words ") == "two words"
    assert check_page("") == 1 and check_page("3") == 3
    for bad in ("0", "-1", "x", "1001", "1e3"):
        with pytest.raises(InvalidRequest):
            check_page(bad)
    with pytest.raises(InvalidRequest, match="too long"):
        check_query("x" * 201)
    with pytest.raises(InvalidRequest, match="control"):
        check_query("a\x00b")


def test_pagination() -> None:
    ranked = [entry(f"p{n:02d}") for n in range(45)]
    last = paginate("", ranked, 3)
    assert (last.total, last.pages, [e.name for e in last.results]) == (
        45,
        3,
        ["p40", "p41", "p42", "p43", "p44"],
    )
    assert paginate("", ranked, 9).results == ()


def link(version: str, yanked: bool = False) -> Link:
    return Link(f"a-{version}.tar.gz", version, "/x", yanked=yanked)


@pytest.mark.parametrize(
    ("links", "latest"),
    [
        ([link("1.0"), link("2.0")], "2.0"),
        ([link("1.0"), link("2.0b1")], "1.0"),  # a pre-release is not the latest when a final exists
        ([link("1.0"), link("2.0", yanked=True)], "1.0"),  # nor is a yanked release
        ([link("1.0b1"), link("1.0b2", yanked=True)], "1.0b1"),
        ([link("1.0", yanked=True)], "1.0"),  # everything yanked: the highest still shows
        ([], ""),
    ],
)
def test_latest_version(links: list[Link], latest: str) -> None:
    assert latest_version(links) == latest


def test_release_history_is_newest_first_with_yank_state() -> None:
    found = releases([link("1.0"), link("10.0", yanked=True), link("2.0")])
    assert [(r.version, r.yanked) for r in found] == [("10.0", True), ("2.0", False), ("1.0", False)]


def record(version: str, origin: str = "", month: int = 1, **info: object) -> FileRecord:
    filename = f"demo-{version}-py3-none-any.whl"
    return FileRecord(
        project=NormalizedName("demo"),
        version=version,
        filename=filename,
        packagetype="bdist_wheel",
        size=100,
        sha256=hashlib.sha256(filename.encode()).hexdigest(),
        upload_time=datetime(2024, month, 2, tzinfo=UTC),
        origin=origin,
        info={"name": "Demo", **info},
    )


def test_a_catalog_entry_summarizes_the_latest_release() -> None:
    records = [
        record("1.0", summary="Old"),
        record("2.0", month=3, summary="New\nsummary " + "x" * 400, keywords=["a", "b"]),
        record("0.9", origin="https://upstream.invalid/simple/"),
    ]
    found = summarize(ProjectSummary(NormalizedName("demo"), "Demo", 7), records)
    assert (found.version, found.files, found.uploaded, found.cached, found.size) == ("2.0", 3, 2, 1, 300)
    assert found.summary.startswith("New summary x") and len(found.summary) == 300
    assert found.keywords == "a, b"
    assert found.months == {"2024-01": (1, 1), "2024-03": (1, 0)}
    assert found.updated == datetime(2024, 3, 2, tzinfo=UTC)
    assert decode(encode({found.name: found})) == {found.name: found}


def test_an_unreadable_saved_catalog_is_rebuilt_not_trusted() -> None:
    assert decode(None) == {} and decode(b"not zlib") == {}


def test_months_and_monthly_counts() -> None:
    months = last_months(datetime(2024, 1, 15), 3)
    assert months == ["2023-11", "2023-12", "2024-01"]
    found = summarize(ProjectSummary(NormalizedName("demo"), "Demo", 1), [record("1.0")])
    assert monthly([found], months) == (
        MonthCount("2023-11", 0, 0),
        MonthCount("2023-12", 0, 0),
        MonthCount("2024-01", 1, 0),
    )


def test_the_chart_scales_to_a_round_top() -> None:
    chart = bar_chart([MonthCount("2024-01", 3, 4), MonthCount("2024-02", 0, 0)])
    assert [bar.kind for bar in chart.bars] == ["uploaded", "cached"]
    assert [value for _, value in chart.ticks] == [0, 5, 10]
    uploaded, cached = chart.bars
    assert uploaded.y + uploaded.height == chart.baseline and cached.y + cached.height == uploaded.y
    assert [text for _, text in chart.labels] == ["Jan", "Feb"]


def test_readme_rendering_is_sanitized() -> None:
    markdown = render_readme(
        Description("# Title\n\n<script>x()</script>\n[a](javascript:x())", "text/markdown")
    )
    assert "<h1" in markdown and "<script>" not in markdown and "javascript:" not in markdown
    rst = render_readme(
        Description("Title\n=====\n\n.. raw:: html\n\n   <script>x()</script>\n", "text/x-rst")
    )
    assert "<script>" not in rst
    broken_rst = render_readme(Description("Title\n===\n\n`unclosed", "text/x-rst"))
    assert "unclosed" in broken_rst  # shown as plain text, like the public index does
    assert render_readme(Description("a <b>", "text/plain")) == "a &lt;b&gt;"
    assert render_readme(None) == ""


def test_description_from_core_metadata() -> None:
    raw = b"Metadata-Version: 2.1\nName: x\nVersion: 1\nDescription-Content-Type: text/markdown\n\n# Hi\n"
    assert parse_description(raw) == Description("# Hi", "text/markdown")
    assert parse_description(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n\n") is None


def test_links_and_tags() -> None:
    assert safe_url("https://a.invalid/") == "https://a.invalid/" and safe_url("javascript:x") == ""
    info = {
        "project_urls": ["Source, https://s.invalid/", "Bad, javascript:x"],
        "home_page": "https://h.invalid/",
    }
    assert project_links(info) == [
        ("Source", "https://s.invalid/"),
        ("Bad", "javascript:x"),
        ("Homepage", "https://h.invalid/"),
    ]
    assert python_tag("a-1-cp311-cp311-manylinux_2_28_x86_64.whl") == "cp311"
    assert python_tag("a-1.tar.gz") == "source"


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/project/x/", "/project/x/"), ("//evil.invalid/", "/"), ("https://evil.invalid/", "/"),
     ("/\\evil", "/"), (None, "/"), ("/a\nb", "/")],
)  # fmt: skip
def test_sign_in_only_returns_to_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
