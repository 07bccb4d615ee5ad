"""Rendering the JSON API (``/pypi/<project>/json`` and ``/pypi/<project>/<version>/json``).

Shaped like the public index's JSON API, which poetry, Renovate and dependabot read: ``info``
from the release's core metadata, ``urls`` for that release's files, ``releases`` for every
version, digests md5/sha256/blake2b_256. URLs here are absolute (built from the request's base
URL) because these documents are read outside any page context.
"""

from __future__ import annotations

from typing import Any

from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from .. import jsonbytes
from ..core.listing import sorted_files
from ..core.manage import find_version
from ..errors import NotFound
from ..models import FileRecord, format_time, version_sort_key
from .pages import Page

JSON = "application/json"


def _file_entry(record: FileRecord, base_url: str) -> dict[str, Any]:
    return {
        "comment_text": "",
        "digests": {"md5": record.md5, "sha256": record.sha256, "blake2b_256": record.blake2b_256},
        "downloads": -1,
        "filename": record.filename,
        "has_sig": False,
        "md5_digest": record.md5,
        "packagetype": record.packagetype,
        "python_version": record.python_version,
        "requires_python": record.requires_python or None,
        "size": record.size,
        "upload_time": record.upload_time.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": format_time(record.upload_time),
        "url": base_url + record.url_path.lstrip("/"),
        "yanked": record.yanked,
        "yanked_reason": record.yanked_reason or None,
        "_upstream": record.upstream or None,  # the upstream a cached file came from (private key)
    }


def latest_version(versions: list[str], yanked: set[str]) -> str:
    """The newest final, unyanked version; failing that the newest unyanked; then the newest."""

    def is_final(version: str) -> bool:
        try:
            return not Version(version).is_prerelease
        except InvalidVersion:
            return False

    for candidates in (
        [v for v in versions if v not in yanked and is_final(v)],
        [v for v in versions if v not in yanked],
        versions,
    ):
        if candidates:
            return max(candidates, key=version_sort_key)
    raise NotFound("Project has no releases")


def _info(project: str, version: str, files: list[FileRecord], base_url: str) -> dict[str, Any]:
    release_files = [record for record in files if record.version == version]
    source = next((r for r in release_files if r.packagetype == "bdist_wheel"), release_files[0])
    info: dict[str, Any] = {key: value for key, value in source.info.items()}
    info.update(
        {
            "name": source.display_name,
            "version": version,
            "description": "",
            "docs_url": None,
            "bugtrack_url": None,
            "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
            "package_url": f"{base_url}simple/{project}/",
            "project_url": f"{base_url}simple/{project}/",
            "release_url": f"{base_url}pypi/{project}/{version}/json",
            "requires_python": source.requires_python or None,
            "yanked": all(record.yanked for record in release_files),
            "yanked_reason": next((r.yanked_reason for r in release_files if r.yanked_reason), None),
        }
    )
    for list_field in ("requires_dist", "classifiers", "provides_extra", "platform"):
        info.setdefault(list_field, None)
    info["project_urls"] = _project_urls(info.get("project_urls"))
    return info


def _project_urls(value: object) -> dict[str, str] | None:
    """Core metadata's ``Project-URL: Label, URL`` lines as the mapping the JSON API shows."""
    if not value:
        return None
    urls: dict[str, str] = {}
    for line in value if isinstance(value, list) else [str(value)]:
        label, _, url = str(line).partition(",")
        if url.strip():
            urls[label.strip()] = url.strip()
    return urls or None


def render_document(
    project: NormalizedName, records: list[FileRecord], serial: int, version: str | None, base_url: str
) -> Page:
    """The JSON API document of a project, or of one of its versions.

    :raises NotFound: no such version.
    """
    files = sorted_files(records)
    versions = sorted({record.version for record in files}, key=version_sort_key)
    yanked = {v for v in versions if all(r.yanked for r in files if r.version == v)}
    chosen = find_version(versions, version) if version else latest_version(versions, yanked)
    document: dict[str, Any] = {
        "info": _info(project, chosen, files, base_url),
        "last_serial": serial,
        "urls": [_file_entry(r, base_url) for r in files if r.version == chosen],
        "vulnerabilities": [],
    }
    if version is None:
        document["releases"] = {
            v: [_file_entry(r, base_url) for r in files if r.version == v] for v in versions
        }
    return Page.build(jsonbytes.dumps(document), JSON)
