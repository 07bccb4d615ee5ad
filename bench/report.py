"""One markdown table: rows are metrics, columns are servers, then our ratio to the best peer.

The ratio always reads "times better than the best peer": for throughput ours / best, for
latency, memory and start-up best / ours. Below the table, the issue's targets with pass/fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .measure import Results

PAGES = (
    ("index", "`/simple/`"),
    ("project", "`/simple/<project>/`"),
    ("big", "`/simple/<500-version project>/`"),
)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    higher_is_better: bool
    digits: int
    compare: bool = True  # False: context only, no ratio


def rows(big_versions: int) -> list[Row]:
    found = [
        Row("upload", "upload (one twine call), files/s", True, 1),
        Row("upload-cpu", "upload, server CPU ms/file", False, 1),
    ]
    for page, label in PAGES:
        label = label.replace("500", str(big_versions))
        for fmt in ("html", "json"):
            name = f"{label} {fmt.upper()}"
            found.append(Row(f"{page}-{fmt}:rps", f"{name}, req/s", True, 0))
            found.append(Row(f"{page}-{fmt}:p50", f"{name}, p50 ms", False, 2))
            found.append(Row(f"{page}-{fmt}:p99", f"{name}, p99 ms", False, 2))
            found.append(Row(f"{page}-{fmt}:cpu", f"{name}, server CPU µs/request", False, 0))
    for page, label in (
        ("ui-project", "web UI `/project/<project>/`"),
        ("ui-big", "web UI `/project/<big>/`"),
    ):
        label = label.replace("<big>", f"<{big_versions}-version project>")
        found.append(Row(f"{page}-html:rps", f"{label}, req/s", True, 0, False))
        found.append(Row(f"{page}-html:p50", f"{label}, p50 ms", False, 2, False))
        found.append(Row(f"{page}-html:p99", f"{label}, p99 ms", False, 2, False))
        found.append(Row(f"{page}-html:cpu", f"{label}, server CPU µs/request", False, 0, False))
    for name, label in (
        ("rps", "req/s"),
        ("p50", "p50 ms"),
        ("p99", "p99 ms"),
        ("cpu", "server CPU µs/request"),
    ):
        digits = 2 if name.startswith("p") else 0
        found.append(Row(f"download:{name}", f"file download, {label}", name == "rps", digits))
    found += [
        Row("rss", "RSS after the load (process tree), MiB", False, 0),
        Row("pss", "PSS after the load (process tree), MiB", False, 0),
        Row("startup-empty", "start-up, nothing stored, s", False, 2),
        Row("startup-full", "start-up with the corpus stored, s", False, 2),
        Row("share-min", "server's lowest share of its core during a load (1 = all of it)", True, 2, False),
    ]
    return found


def _cell(result: Results, row: Row) -> str:
    value = result.values.get(row.key)
    note = result.notes.get(row.key.split(":")[0])
    if value is None:
        return "n/a" if note and "not supported" in note else "—"
    text = f"{value:,.{row.digits}f}"
    return f"{text} (!)" if note else text


def ratio(ours: Results, peers: Sequence[Results], row: Row) -> float | None:
    """How many times better ours is than the best peer on this row (None if not comparable)."""
    if not row.compare:
        return None
    mine = ours.values.get(row.key)
    theirs = [peer.values[row.key] for peer in peers if row.key in peer.values]
    if mine is None or not theirs or mine <= 0:
        return None
    best = max(theirs) if row.higher_is_better else min(theirs)
    if best <= 0:
        return None
    return mine / best if row.higher_is_better else best / mine


def table(ours: Sequence[Results], peers: Sequence[Results], big_versions: int) -> str:
    """The comparison table. With several of our configurations, the ratio is for the first."""
    columns = [*ours, *peers]
    header = "| metric | " + " | ".join(result.label for result in columns) + " | ours vs best peer |"
    lines = [header, "|---" * (len(columns) + 2) + "|"]
    for row in rows(big_versions):
        cells = [_cell(result, row) for result in columns]
        if all(cell in ("—", "n/a") for cell in cells):
            continue
        factor = ratio(ours[0], peers, row) if ours else None
        lines.append(f"| {row.label} | " + " | ".join(cells) + f" | {f'{factor:.1f}x' if factor else '—'} |")
    return "\n".join(lines) + "\n"


def targets(ours: Results, peers: Sequence[Results], big_versions: int) -> str:
    """The issue's targets, each with the measured figure and pass/fail."""
    by_key = {row.key: row for row in rows(big_versions)}
    lines = []

    def check(name: str, passed: bool | None, detail: str) -> None:
        mark = "—" if passed is None else ("PASS" if passed else "MISS")
        lines.append(f"- {mark}: {name}: {detail}")

    for key, name, goal in (
        ("project-html:rps", "`/simple/<project>/` HTML >= 3x best peer req/s", 3.0),
        ("project-json:rps", "`/simple/<project>/` JSON >= 3x best peer req/s", 3.0),
        ("big-html:rps", f"{big_versions}-version page HTML >= 20x best peer", 20.0),
        ("big-json:rps", f"{big_versions}-version page JSON >= 20x best peer", 20.0),
        ("upload", "upload >= 2x best peer files/s", 2.0),
    ):
        factor = ratio(ours, peers, by_key[key])
        detail = f"{factor:.1f}x" if factor else "not measured"
        cpu_key = key.replace(":rps", ":cpu") if key.endswith(":rps") else "upload-cpu"
        by_cpu = ratio(ours, peers, by_key[cpu_key])
        if by_cpu:
            detail += f" (by server CPU per request or file: {by_cpu:.1f}x)"
        check(name, None if factor is None else factor >= goal, detail)
    empty, full = ours.values.get("startup-empty"), ours.values.get("startup-full")
    if empty is not None and full is not None:
        independent = full <= empty * 1.25 + 0.05
        check("start-up < 0.5 s with the corpus stored", full < 0.5, f"{full:.2f} s")
        check("start-up independent of stored files", independent, f"{empty:.2f} s empty, {full:.2f} s full")
    pypicloud = next((peer for peer in peers if peer.label == "pypicloud"), None)
    if pypicloud and "rss" in pypicloud.values and "rss" in ours.values:
        mine, theirs = ours.values["rss"], pypicloud.values["rss"]
        check("RSS no higher than pypicloud's", mine <= theirs, f"{mine:.0f} MiB vs {theirs:.0f} MiB")
    return "\n".join(lines) + "\n"


def ui_targets(ours: Results) -> str:
    """The web UI's target: its project page within 25% of the simple page (req/s and CPU)."""
    lines = []
    for ui, simple, name in (
        ("ui-project-html", "project-html", "`/project/<project>/`"),
        ("ui-big-html", "big-html", "`/project/<big project>/`"),
    ):
        page, plain = ours.values.get(f"{ui}:rps"), ours.values.get(f"{simple}:rps")
        if not page or not plain:
            lines.append(f"- —: web UI {name} within 25% of its simple page: not measured")
            continue
        cpu, plain_cpu = ours.values.get(f"{ui}:cpu", 0.0), ours.values.get(f"{simple}:cpu", 0.0)
        share = page / plain
        detail = (
            f"{page:,.0f} vs {plain:,.0f} req/s ({share:.0%}); CPU {cpu:,.0f} vs {plain_cpu:,.0f} µs/request"
        )
        lines.append(
            f"- {'PASS' if share >= 0.75 else 'MISS'}: web UI {name} within 25% of its simple page: {detail}"
        )
    return "\n".join(lines) + "\n"
