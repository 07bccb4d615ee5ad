"""The release cooldown over HTTP (JSON, admins): see which early releases a project has,
release a version or one file early, and undo that."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from ..core.cooldown import Release, describe_duration
from ..models import format_time
from .caching import apply_cache_policy
from .common import canonical, core, identity

bp = Blueprint("cooldown", __name__, url_prefix="/manage/projects/<project>/cooldown")


def _shown(release: Release) -> dict[str, str]:
    return {
        "version": release.version,
        "filename": release.filename,
        "released_by": release.by,
        "released_at": format_time(release.at) if release.at else "",
    }


def _json(body: Mapping[str, object], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return apply_cache_policy(response, "never")


@bp.get("")
def show(project: str) -> Response:
    """The cooldown's settings for a project and its early releases."""
    cooldown, name = core().cooldown, canonical(project)
    releases = cooldown.releases(identity(), name)
    return _json(
        {
            "project": name,
            "min_age": describe_duration(cooldown.settings.min_age),
            "applies": cooldown.applies(name),
            "releases": [_shown(release) for release in releases],
        }
    )


@bp.post("/releases/<version>")
def release_version(project: str, version: str) -> Response:
    """Release every file of a version now."""
    return _json(_shown(core().cooldown.release(identity(), canonical(project), version=version)), 201)


@bp.post("/files/<filename>")
def release_file(project: str, filename: str) -> Response:
    """Release one file now."""
    return _json(_shown(core().cooldown.release(identity(), canonical(project), filename=filename)), 201)


@bp.delete("/releases/<version>")
def revoke_version(project: str, version: str) -> Response:
    """Undo the early release of a version (files cached meanwhile stay)."""
    return _json({"revoked": core().cooldown.revoke(identity(), canonical(project), version=version)})


@bp.delete("/files/<filename>")
def revoke_file(project: str, filename: str) -> Response:
    """Undo the early release of one file (a cached copy stays)."""
    return _json({"revoked": core().cooldown.revoke(identity(), canonical(project), filename=filename)})
