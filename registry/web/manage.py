"""Management over HTTP (JSON): yank/unyank a release or file (admins), delete a file (admins,
and members of ``pypi.allow_delete`` who may upload to the project)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from ..errors import InvalidRequest
from ..models import FileRecord
from .caching import apply_cache_policy
from .common import canonical, core, identity

bp = Blueprint("manage", __name__, url_prefix="/manage/projects/<project>")


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
    caller, name = identity(), canonical(project)
    records = core().manager.set_yanked(
        caller, name, yanked=yanked, version=version, filename=filename, read_reason=_reason
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
    return _answer([core().manager.delete_file(identity(), canonical(project), filename)])
