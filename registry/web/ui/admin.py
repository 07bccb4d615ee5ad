"""Admin pages: the overview, users, groups and project permissions.

Every change is a POST with the CSRF token, goes through ``core.accounts.Accounts`` (which
checks the caller is an admin signed in with a password) and answers 303 back to the list
with a message; a refused change shows the reason with its 4xx status. Removing a user asks
for confirmation first.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

from . import errors, session
from .chart import bar_chart
from .render import form_page, web
from .session import caller, check_csrf

bp = Blueprint("ui_admin", __name__, url_prefix="/admin", template_folder="templates")
bp.before_request(check_csrf)
errors.register(bp)


def _back(path: str, message: str) -> Response:
    session.flash(message)
    return redirect(f"{request.script_root}/admin/{path}", code=303)


def _names(text: str) -> list[str]:
    return text.replace(",", " ").split()


@bp.get("/")
def overview() -> Response:
    """Counts, bytes stored, uploaded vs cached, and files added per month (an SVG chart)."""
    data = web().browse.overview(caller())
    overview = data.load()
    return form_page("Overview", "admin/overview.html", overview=overview, chart=bar_chart(overview.months))


@bp.get("/users/")
def users() -> Response:
    """Every user, and forms to add, change and remove them."""
    return form_page("Users", "admin/users.html", users=web().accounts.users(caller()), me=caller().username)


@bp.post("/users/")
def add_user() -> Response:
    form = request.form
    user = web().accounts.add_user(
        caller(), form.get("name", ""), form.get("password", ""), admin=form.get("admin") == "on"
    )
    return _back("users/", f"User {user.name} added")


@bp.post("/users/<name>/admin")
def set_admin(name: str) -> Response:
    admin = request.form.get("admin") == "yes"
    user = web().accounts.set_admin(caller(), name, admin)
    return _back("users/", f"{user.name} is {'now' if admin else 'no longer'} an admin")


@bp.post("/users/<name>/password")
def set_password(name: str) -> Response:
    user = web().accounts.set_password(caller(), name, request.form.get("password", ""))
    return _back("users/", f"Password of {user.name} changed")


@bp.get("/users/<name>/delete")
def confirm_delete_user(name: str) -> Response:
    """Ask before removing a user."""
    user = web().accounts.user(caller(), name)
    return form_page("Remove user", "admin/confirm_user.html", name=user.name)


@bp.post("/users/<name>/delete")
def delete_user(name: str) -> Response:
    revoked = web().accounts.remove_user(caller(), name)
    return _back("users/", f"User {name} removed ({revoked} API tokens revoked)")


@bp.get("/groups/")
def groups() -> Response:
    """Every group with its members, and forms to change them."""
    return form_page("Groups", "admin/groups.html", groups=web().accounts.groups(caller()))


@bp.post("/groups/")
def add_members() -> Response:
    form = request.form
    group = web().accounts.add_members(caller(), form.get("group", ""), _names(form.get("members", "")))
    return _back("groups/", f"Group {group.name} updated")


@bp.post("/groups/<name>/remove")
def remove_members(name: str) -> Response:
    """Remove the named members, or the whole group when none is named."""
    members = _names(request.form.get("members", ""))
    web().accounts.remove_members(caller(), name, members)
    return _back("groups/", f"Group {name} {'updated' if members else 'removed'}")


@bp.get("/permissions/")
def permissions() -> Response:
    """Every project permission, and forms to grant and remove them."""
    return form_page("Permissions", "admin/permissions.html", rules=web().accounts.rules(caller()))


@bp.post("/permissions/")
def set_rule() -> Response:
    form = request.form
    rule = web().accounts.set_rule(
        caller(), form.get("project", ""), form.get("principal", ""), form.get("permission", "")
    )
    return _back("permissions/", f"{rule.kind}:{rule.name} may now {rule.permission} {rule.project}")


@bp.post("/permissions/remove")
def remove_rule() -> Response:
    form = request.form
    project, principal = form.get("project", ""), form.get("principal", "")
    web().accounts.remove_rule(caller(), project, principal)
    return _back("permissions/", f"Permission of {principal} on {project} removed")
