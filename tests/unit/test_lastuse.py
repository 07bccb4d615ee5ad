"""Last use of cached files: noted in memory, written per project at most once per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from packaging.utils import NormalizedName

from registry.cache.sqlite import SQLiteCache
from registry.core.lastuse import USAGE_KIND, LastUse

P, Q = NormalizedName("demo"), NormalizedName("other")


def test_downloads_cost_no_write_until_a_flush_writes_one_per_project(tmp_path: Path) -> None:
    documents = SQLiteCache(tmp_path / "db.sqlite3")
    now = [datetime(2030, 1, 1, 12, tzinfo=UTC)]
    uses = LastUse(documents, flush_seconds=3600, clock=lambda: now[0])
    serial = documents.docs_serial()
    for _ in range(100):
        uses.touch(P, "demo-1.0.tar.gz")
    uses.touch(P, "demo-2.0.tar.gz")
    uses.touch(Q, "other-1.0.tar.gz")
    assert documents.docs_serial() == serial  # nothing written yet
    assert uses.flush() == 2  # one write per project
    assert documents.get_doc(USAGE_KIND, P) == {
        "demo-1.0.tar.gz": "2030-01-01",
        "demo-2.0.tar.gz": "2030-01-01",
    }
    uses.touch(P, "demo-1.0.tar.gz")
    assert uses.flush() == 0  # already noted today
    now[0] += timedelta(days=1)
    uses.touch(P, "demo-1.0.tar.gz")
    assert uses.flush() == 1
    assert uses.recorded()[P]["demo-1.0.tar.gz"] == "2030-01-02"
    older = LastUse(documents, flush_seconds=3600, clock=lambda: datetime(2029, 1, 1, tzinfo=UTC))
    older.touch(P, "demo-1.0.tar.gz")  # another process, behind: the later day stays
    older.flush()
    assert uses.recorded()[P]["demo-1.0.tar.gz"] == "2030-01-02"
    uses.set_days(P, {}, forget=["demo-1.0.tar.gz", "demo-2.0.tar.gz"])
    assert documents.get_doc(USAGE_KIND, P) is None
