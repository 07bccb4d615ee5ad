"""Managing a project's files from the browser: yank, unyank and delete, each confirmed first.

``/admin/projects/<name>/`` lists the releases with their files; every action opens a
confirmation page (GET) whose form (POST, with the CSRF token) makes the change through
``core.manage.Manager``, which decides who may do it (admins yank; admins and
``pypi.allow_delete`` members delete). The answer returns to the project page, which shows
the change at once (its cached page is keyed by the project's serial).
"""

from __future__ import annotations

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

from ...core.listing import Redirect
from ...errors import InvalidRequest
from ..common import canonical, core
from . import errors, session
from .render import form_page, web
from .session import caller, check_csrf

bp = Blueprint("ui_manage", __name__, url_prefix="/admin/projects/<project>", template_folder="templates")
bp.before_request(check_csrf)
errors.register(bp)

ACTIONS = {"yank": "Yank", "unyank": "Unyank", "delete": "Delete"}


def _target() -> tuple[str | None, str | None]:
    """The release (``version``) or file (``file``) a form or link names: exactly one."""
    version = request.values.get("version") or None
    filename = request.values.get("file") or None
    if bool(version) == bool(filename):
        raise InvalidRequest("Name either a version or a file")
    return version, filename


@bp.get("/")
def project(project: str) -> Response:
    """The releases and files of a project, each with its actions."""
    name = canonical(project)
    answer = web().project_pages.page(caller(), name)
    if isinstance(answer, Redirect):
        raise InvalidRequest(f"Project {name!r} is not stored here")
    return form_page(f"Manage {name}", "manage.html", page=answer.load())


@bp.get("/confirm")
def confirm(project: str) -> Response:
    """Ask before yanking, unyanking or deleting."""
    action = request.args.get("action", "")
    if action not in ACTIONS:
        raise InvalidRequest(f"Unknown action {action[:20]!r}: use yank, unyank or delete")
    version, filename = _target()
    if action == "delete" and not filename:
        raise InvalidRequest("Files are deleted one at a time: name a file")
    name = canonical(project)
    return form_page(
        f"{ACTIONS[action]} {name}", "confirm.html", action=action, verb=ACTIONS[action],
        project=name, version=version, file=filename,
    )  # fmt: skip


def _yank(project: str, yanked: bool) -> Response:
    name, (version, filename) = canonical(project), _target()
    reason = request.form.get("reason", "").strip()
    changed = core().manager.set_yanked(
        caller(), name, yanked=yanked, version=version, filename=filename, read_reason=lambda: reason
    )
    what = f"release {version}" if version else filename
    session.flash(f"{'Yanked' if yanked else 'Unyanked'} {what} ({len(changed)} files)")
    return redirect(f"{request.script_root}/project/{name}/{changed[0].version}/", code=303)


@bp.post("/yank")
def yank(project: str) -> Response:
    """Yank a release or a file (PEP 592), with a reason."""
    return _yank(project, True)


@bp.post("/unyank")
def unyank(project: str) -> Response:
    """Unyank a release or a file."""
    return _yank(project, False)


@bp.post("/delete")
def delete(project: str) -> Response:
    """Delete one file for good."""
    name, (_version, filename) = canonical(project), _target()
    if not filename:
        raise InvalidRequest("Files are deleted one at a time: name a file")
    record = core().manager.delete_file(caller(), name, filename)
    session.flash(f"Deleted {record.filename}")
    return redirect(f"{request.script_root}/project/{name}/", code=303)
