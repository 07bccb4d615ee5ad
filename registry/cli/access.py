"""Access control from the command line: ``user``, ``group``, ``perm``, ``token`` and ``access``.

Each command works directly on the configured backends (``--config`` or ``$REGISTRY_CONFIG``),
so it runs where the registry's settings are, without a running server. Passwords are
prompted for (or read from standard input with ``--password-stdin``), never taken as flags that
would land in the shell history.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ..access import AccessStore
from ..access import manage as users
from ..access.tokens import create_token, list_tokens, parse_expiry, revoke_token
from ..access.transfer import export_data, import_data
from ..config import CONFIG_ENV
from ..errors import RegistryError
from .base import cli, load_registry

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV})."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _access(config_path: str | None) -> AccessStore:
    return load_registry(config_path).access.store


def friendly(command: F) -> F:
    """Turn the registry's errors into a one-line message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RegistryError as exc:
            raise click.ClickException(exc.message) from exc

    return wrapper  # type: ignore[return-value]


def _password(password_stdin: bool, prompt: str) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    answer: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return answer


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


# -- users -------------------------------------------------------------------------------


@cli.group()
def user() -> None:
    """Add, change, remove and list users (``pypi.auth = db``)."""


@user.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@config_option
@friendly
def user_add(name: str, admin: bool, password_stdin: bool, config_path: str | None) -> None:
    """Add a user."""
    access = _access(config_path)
    users.check_new_user(access, name)
    created = users.add_user(access, name, _password(password_stdin, "Password"), admin=admin)
    click.echo(f"added user {created.name}{' (admin)' if admin else ''}")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@config_option
@friendly
def user_passwd(name: str, password_stdin: bool, config_path: str | None) -> None:
    """Change a user's password."""
    access = _access(config_path)
    users.get_user(access, name)
    changed = users.set_password(access, name, _password(password_stdin, "New password"))
    click.echo(f"changed the password of {changed.name}")


@user.command("admin")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Take admin rights away instead.")
@config_option
@friendly
def user_admin(name: str, revoke: bool, config_path: str | None) -> None:
    """Make a user an administrator (or, with --revoke, not)."""
    changed = users.set_admin(_access(config_path), name, not revoke)
    click.echo(f"{changed.name} is {'now' if changed.admin else 'no longer'} an admin")


@user.command("remove")
@click.argument("name")
@config_option
@friendly
def user_remove(name: str, config_path: str | None) -> None:
    """Remove a user, with their API tokens, group memberships and permissions."""
    revoked = users.remove_user(_access(config_path), name)
    click.echo(f"removed user {name.lower()} and revoked {revoked} API token(s)")


@user.command("list")
@json_option
@config_option
@friendly
def user_list(as_json: bool, config_path: str | None) -> None:
    """List users (never their password hashes)."""
    access = _access(config_path)
    directory = access.directory(fresh=True)
    found = sorted(directory.users.values(), key=lambda user: user.name)
    if as_json:
        _echo_json(
            [
                {
                    "name": user.name,
                    "admin": users.is_admin(access, user),
                    "source": user.source,
                    "groups": sorted(directory.memberships.get(user.name, ())),
                }
                for user in found
            ]
        )
        return
    for user in found:
        flags = " admin" if users.is_admin(access, user) else ""
        groups = ",".join(sorted(directory.memberships.get(user.name, ())))
        click.echo(f"{user.name}\t{user.source}{flags}\t{groups}")


# -- groups ------------------------------------------------------------------------------


@cli.group()
def group() -> None:
    """Add and remove groups and their members (``pypi.auth = db``)."""


@group.command("add")
@click.argument("name")
@click.argument("members", nargs=-1)
@config_option
@friendly
def group_add(name: str, members: tuple[str, ...], config_path: str | None) -> None:
    """Create a group, or add MEMBERS to it."""
    changed = users.add_members(_access(config_path), name, list(members))
    click.echo(f"group {changed.name}: {' '.join(sorted(changed.members))}")


@group.command("remove")
@click.argument("name")
@click.argument("members", nargs=-1)
@config_option
@friendly
def group_remove(name: str, members: tuple[str, ...], config_path: str | None) -> None:
    """Remove MEMBERS from a group, or the whole group when none is named."""
    changed = users.remove_members(_access(config_path), name, list(members))
    if changed is None:
        click.echo(f"removed group {name.lower()}")
    else:
        click.echo(f"group {changed.name}: {' '.join(sorted(changed.members))}")


@group.command("list")
@json_option
@config_option
@friendly
def group_list(as_json: bool, config_path: str | None) -> None:
    """List groups and their members."""
    groups = sorted(_access(config_path).directory(fresh=True).groups.values(), key=lambda g: g.name)
    rows = [{"name": g.name, "members": sorted(g.members), "source": g.source} for g in groups]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['name']}\t{row['source']}\t{' '.join(row['members'])}")


# -- project permissions -----------------------------------------------------------------


@cli.group()
def perm() -> None:
    """Per-project permissions: PRINCIPAL is user:NAME or group:NAME (group:everyone too)."""


@perm.command("set")
@click.argument("project")
@click.argument("principal")
@click.argument("permission", type=click.Choice(["r", "rw"]))
@config_option
@friendly
def perm_set(project: str, principal: str, permission: str, config_path: str | None) -> None:
    """Let PRINCIPAL read (r) or read and upload to (rw) PROJECT."""
    rule = users.set_rule(_access(config_path), project, principal, permission)
    click.echo(f"{rule.project}: {rule.kind}:{rule.name} = {rule.permission}")


@perm.command("remove")
@click.argument("project")
@click.argument("principal")
@config_option
@friendly
def perm_remove(project: str, principal: str, config_path: str | None) -> None:
    """Remove PRINCIPAL's permission on PROJECT."""
    users.remove_rule(_access(config_path), project, principal)
    click.echo(f"removed {principal} from {project}")


@perm.command("list")
@click.argument("project", required=False)
@json_option
@config_option
@friendly
def perm_list(project: str | None, as_json: bool, config_path: str | None) -> None:
    """List project permissions (of PROJECT, or all)."""
    rules = users.list_rules(_access(config_path), project)
    if as_json:
        _echo_json([{**rule.to_doc(), "source": rule.source} for rule in rules])
        return
    for rule in rules:
        click.echo(f"{rule.project}\t{rule.kind}:{rule.name}\t{rule.permission}\t{rule.source}")


# -- API tokens --------------------------------------------------------------------------


@cli.group()
def token() -> None:
    """Make, list and revoke API tokens (``twine upload -u __token__ -p <token>``)."""


@token.command("create")
@click.option("--user", "owner", required=True, help="Whose token it is.")
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    type=click.Choice(["read", "upload"]),
    help="read and/or upload (repeat; default read).",
)
@click.option("--project", "projects", multiple=True, help="Limit to this project (repeat; default all).")
@click.option("--expires", default=None, help="30d, 12h, 2w, an ISO date, or never (default).")
@click.option("--description", default="", help="What the token is for.")
@json_option
@config_option
@friendly
def token_create(
    owner: str,
    permissions: tuple[str, ...],
    projects: tuple[str, ...],
    expires: str | None,
    description: str,
    as_json: bool,
    config_path: str | None,
) -> None:
    """Make a token; its secret is printed once and never stored."""
    made, secret = create_token(
        _access(config_path),
        owner,
        permissions=permissions or ("read",),
        projects=projects,
        expires=parse_expiry(expires, datetime.now(UTC)),
        description=description,
    )
    if as_json:
        _echo_json({**made.describe(), "token": secret})
        return
    click.echo(secret)
    click.echo(
        f"token {made.id} for {made.owner}: {', '.join(sorted(made.permissions))} on "
        f"{', '.join(made.projects) or 'all projects'}; shown once",
        err=True,
    )


@token.command("list")
@click.option("--user", "owner", default=None, help="Only this user's tokens.")
@json_option
@config_option
@friendly
def token_list(owner: str | None, as_json: bool, config_path: str | None) -> None:
    """List tokens (never their secrets)."""
    tokens = [found.describe() for found in list_tokens(_access(config_path), owner)]
    if as_json:
        _echo_json(tokens)
        return
    for row in tokens:
        scope = ",".join(row["projects"]) or "*"
        click.echo(
            f"{row['id']}\t{row['user']}\t{','.join(row['permissions'])}\t{scope}\t"
            f"expires {row['expires'] or 'never'}\t{row['description']}"
        )


@token.command("revoke")
@click.argument("token_id")
@config_option
@friendly
def token_revoke(token_id: str, config_path: str | None) -> None:
    """Revoke a token by its id."""
    revoked = revoke_token(_access(config_path), token_id)
    click.echo(f"revoked token {revoked.id} of {revoked.owner}")


# -- export and import -------------------------------------------------------------------


@cli.group("access")
def access_group() -> None:
    """Export and import all access data (users, groups, permissions, tokens) as JSON."""


@access_group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="File (default stdout).")
@config_option
@friendly
def access_export(output: str | None, config_path: str | None) -> None:
    """Write all access data as JSON (password hashes and token digests included)."""
    text = json.dumps(export_data(_access(config_path)), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    path = Path(output)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    click.echo(f"wrote {path} (readable by you only: it holds password hashes)", err=True)


@access_group.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--replace", is_flag=True, help="Also delete database entries the file does not have.")
@config_option
@friendly
def access_import(source: Any, replace: bool, config_path: str | None) -> None:
    """Read access data written by ``access export`` (SOURCE, or - for stdin)."""
    try:
        document = json.load(source)
    except ValueError as exc:
        raise click.ClickException(f"{source.name} is not valid JSON: {exc}") from exc
    done = import_data(_access(config_path), document, replace=replace)
    click.echo(
        f"imported {len(done.users)} users, {len(done.groups)} groups, "
        f"{len(done.rules)} permissions, {len(done.tokens)} tokens"
    )
    for skipped in done.skipped:
        click.echo(f"skipped {skipped}: defined in the config file", err=True)
    for deleted in done.deleted:
        click.echo(f"deleted {deleted}", err=True)
