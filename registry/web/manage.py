"""Management over HTTP (JSON): yank/unyank a release or file (admins), delete a file (admins,
and members of ``pypi.allow_delete`` who may upload to the project)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from packaging.utils import canonicalize_name
from werkzeug.wrappers import Response

from ..access import Access
from ..errors import InvalidRequest, NotFound
from ..models import FileRecord
from ..services import manage
from .caching import apply_cache_policy
from .common import identity, services

bp = Blueprint("manage", __name__, url_prefix="/manage/projects/<project>")


def _admin() -> None:
    Access.require_admin(identity(), "manage projects")


def _reason() -> str:
    if not request.content_length:
        return ""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest('Expected a JSON object body, such as {"reason": "..."}')
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise InvalidRequest("'reason' must be a string")
    return reason


def _answer(records: list[FileRecord]) -> Response:
    response = jsonify(
        {
            "files": [
                {
                    "filename": r.filename,
                    "version": r.version,
                    "yanked": r.yanked,
                    "yanked_reason": r.yanked_reason,
                }
                for r in records
            ]
        }
    )
    return apply_cache_policy(response, "never")


def _yank(project: str, yanked: bool, version: str | None = None, filename: str | None = None) -> Response:
    _admin()
    reason = _reason() if yanked else ""
    records = manage.set_yanked(
        services(), project, yanked=yanked, version=version, filename=filename, reason=reason
    )
    return _answer(records)


@bp.post("/releases/<version>/yank")
def yank_release(project: str, version: str) -> Response:
    """Yank every file of a release (PEP 592), with an optional reason."""
    return _yank(project, True, version=version)


@bp.post("/releases/<version>/unyank")
def unyank_release(project: str, version: str) -> Response:
    """Unyank every file of a release."""
    return _yank(project, False, version=version)


@bp.post("/files/<filename>/yank")
def yank_file(project: str, filename: str) -> Response:
    """Yank one file."""
    return _yank(project, True, filename=filename)


@bp.post("/files/<filename>/unyank")
def unyank_file(project: str, filename: str) -> Response:
    """Unyank one file."""
    return _yank(project, False, filename=filename)


@bp.delete("/files/<filename>")
def delete_file(project: str, filename: str) -> Response:
    """Delete one file, its metadata file and its record."""
    caller = identity()
    access = services().access
    name = canonicalize_name(project)
    access.require_read(caller, name, NotFound(f"Project {project!r} not found"))
    Access.require_password(caller, "delete files")
    access.require(caller, access.can_delete(caller, name), f"delete files of {project!r}")
    record = manage.delete_file(services(), project, filename)
    return _answer([record])
