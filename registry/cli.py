"""The command line: ``python -m registry COMMAND``.

``serve`` starts gunicorn, ``make-config`` writes an ini file (interactively, or from flags for
scripts), ``hash-password`` prints a ``user.<name>`` hash, and ``yank``/``unyank``/``delete``
manage files directly on the configured backends. Access control commands (``user``, ``group``,
``perm``, ``token``, ``access``) live in ``cli_access``.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from . import serving
from .access.passwords import hash_password
from .config import CONFIG_ENV, Config, load_config, settings_markdown
from .errors import RegistryError
from .services import manage
from .services.context import Services, ensure_admin

DEFAULT_PORT = 8080

config_argument = click.argument("config", required=False, type=click.Path(dir_okay=False))


def _load(config_path: str | None) -> Config:
    try:
        return load_config(config_path)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc


def _services(config_path: str | None) -> Services:
    try:
        return Services.from_config(_load(config_path))
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """A private Python package registry."""


@cli.command()
@config_argument
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help=f"Port (default $PORT or {DEFAULT_PORT}).")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", type=int, default=8, show_default=True, help="Threads per worker.")
def serve(config: str | None, host: str, port: int | None, workers: int, threads: int) -> None:
    """Start the registry with gunicorn (CONFIG or $REGISTRY_CONFIG; none: local defaults)."""
    port = port or int(os.environ.get("PORT", DEFAULT_PORT))
    services = _services(config)
    try:
        services.storage.check_health()
        generated = ensure_admin(services)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        services.cache.close()  # workers open their own connections after the fork
    base = f"http://{host}:{port}/"
    click.echo(f"Index:  {base}simple/")
    click.echo(f"Upload: twine upload --repository-url {base} -u USER dist/*")
    if services.fallback.upstream is not None or services.config["pypi.fallback"] == "none":
        click.echo(services.fallback.describe(services.config))  # a misconfiguration is logged
    if generated:
        click.echo(f"Log in as 'admin' with password {generated} (shown once).")
    elif services.config.users:
        click.echo("Log in as a user from the config file's user.<name> lines.")
    else:
        click.echo("Log in as a database user (first start created 'admin').")
    if config:
        os.environ[CONFIG_ENV] = str(Path(config).resolve())
    serving.run(serving.gunicorn_options(f"{host}:{port}", workers, threads))


@cli.command("hash-password")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def hash_password_command(password_stdin: bool) -> None:
    """Print the passlib hash for a ``user.<name> = ...`` config line."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.ClickException("the password is empty")
    click.echo(hash_password(password))


@dataclass(frozen=True)
class Question:
    """One line of the generated config: its key, flag, prompt, default and when it applies."""

    key: str
    flag: str
    prompt: str
    default: str
    choices: tuple[str, ...] = ()
    when: Callable[[dict[str, str]], bool] = lambda answers: True


QUESTIONS = (
    Question("pypi.storage", "storage", "Storage", "file", ("file", "gcs")),
    Question(
        "storage.dir",
        "storage_dir",
        "Package directory",
        "%(here)s/data/packages",
        when=lambda a: a["pypi.storage"] == "file",
    ),
    Question(
        "storage.bucket", "bucket", "GCS bucket", "my-registry", when=lambda a: a["pypi.storage"] == "gcs"
    ),
    Question("pypi.db", "db", "Metadata database", "sqlite", ("sqlite", "firestore")),
    Question(
        "db.path",
        "db_path",
        "SQLite file",
        "%(here)s/data/registry.sqlite3",
        when=lambda a: a["pypi.db"] == "sqlite",
    ),
    Question("pypi.default_read", "default_read", "Who may read", "everyone", ("everyone", "authenticated")),
    Question(
        "pypi.default_write",
        "default_write",
        "Who may upload",
        "authenticated",
        ("authenticated", "admin", "everyone"),
    ),
    Question("pypi.fallback", "fallback", "Projects this index lacks", "none", ("none", "redirect", "cache")),
    Question(
        "pypi.fallback_url",
        "fallback_url",
        "Upstream simple index URL",
        "",
        when=lambda a: a["pypi.fallback"] != "none",
    ),
)


def _answer(question: Question, given: str | None, interactive: bool) -> str:
    if given is not None:
        return given
    if not interactive:
        return question.default
    kind = click.Choice(question.choices) if question.choices else None
    prompt = f"{question.prompt} ({', '.join(question.choices)})" if question.choices else question.prompt
    answer: str = click.prompt(prompt, default=question.default, type=kind)
    return answer


@cli.command("make-config")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--yes", "-y", is_flag=True, help="Do not ask: use flags and defaults.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--storage", type=click.Choice(["file", "gcs"]), default=None)
@click.option("--dir", "storage_dir", default=None, help="file storage: the directory.")
@click.option("--bucket", default=None, help="gcs storage: the bucket.")
@click.option("--db", type=click.Choice(["sqlite", "firestore"]), default=None)
@click.option("--db-path", default=None, help="sqlite: the database file.")
@click.option("--default-read", type=click.Choice(["everyone", "authenticated"]), default=None)
@click.option("--default-write", type=click.Choice(["authenticated", "admin", "everyone"]), default=None)
@click.option("--fallback", type=click.Choice(["none", "redirect", "cache"]), default=None)
@click.option("--fallback-url", default=None, help="The upstream simple index URL.")
@click.option("--admin", default=None, help="Name of an admin user to add.")
@click.option("--password", default=None, help="That admin's password (prompted if omitted).")
def make_config(config: str, yes: bool, force: bool, **flags: str | None) -> None:
    """Write an ini config file, asking for each choice unless given as a flag."""
    path = Path(config)
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it")
    answers: dict[str, str] = {}
    for question in QUESTIONS:
        if question.when(answers):
            answers[question.key] = _answer(question, flags[question.flag], not yes)
    admin = flags["admin"]
    if admin is None and not yes:
        admin = click.prompt("Admin user name (empty: create 'admin' on first start)", default="")
    if admin:
        password = flags["password"] or click.prompt(
            f"Password for {admin}", hide_input=True, confirmation_prompt=True
        )
        answers["auth.admins"] = admin
        answers[f"user.{admin}"] = hash_password(password)
    text = "[app:main]\n" + "".join(f"{key} = {value}\n" for key, value in answers.items())
    try:
        load_config(path=None, environ={}, overrides=_ini_values(text))
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    path.write_text(text)
    click.echo(f"Wrote {path}. Start with: python -m registry serve {path}")


def _ini_values(text: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return dict(parser["app:main"])


@cli.command()
@click.argument("project")
@click.argument("version", required=False)
@click.option("--file", "filename", default=None, help="Yank one file instead of a release.")
@click.option("--reason", default="", help="Shown to installers (PEP 592).")
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def yank(
    project: str, version: str | None, filename: str | None, reason: str, config_path: str | None
) -> None:
    """Yank a release (PROJECT VERSION) or one file (PROJECT --file NAME)."""
    _run_yank(project, version, filename, config_path, yanked=True, reason=reason)


@cli.command()
@click.argument("project")
@click.argument("version", required=False)
@click.option("--file", "filename", default=None, help="Unyank one file instead of a release.")
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def unyank(project: str, version: str | None, filename: str | None, config_path: str | None) -> None:
    """Unyank a release (PROJECT VERSION) or one file (PROJECT --file NAME)."""
    _run_yank(project, version, filename, config_path, yanked=False, reason="")


def _run_yank(
    project: str,
    version: str | None,
    filename: str | None,
    config_path: str | None,
    *,
    yanked: bool,
    reason: str,
) -> None:
    services = _services(config_path)
    try:
        changed = manage.set_yanked(
            services, project, yanked=yanked, version=version, filename=filename, reason=reason
        )
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    for record in changed:
        click.echo(f"{'yanked' if yanked else 'unyanked'} {record.filename}")


@cli.command()
@click.argument("project")
@click.argument("filename")
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def delete(project: str, filename: str, config_path: str | None) -> None:
    """Delete one file of a project (its bytes, metadata file and record)."""
    services = _services(config_path)
    try:
        record = manage.delete_file(services, project, filename)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"deleted {record.filename}")


@cli.command("config-docs")
def config_docs() -> None:
    """Print the settings table (Markdown), generated from the settings declarations."""
    from .cache import BACKENDS as CACHES
    from .cache import cache_class
    from .storage import BACKENDS as STORAGES
    from .storage import storage_class

    extra = []
    for names, load in ((STORAGES, storage_class), (CACHES, cache_class)):
        for name in names:
            try:
                extra += list(load(name).settings)
            except RegistryError as exc:
                click.echo(f"warning: not documented: {exc.message}", err=True)
    click.echo(settings_markdown(extra), nl=False)


# Commands defined in their own modules register themselves on ``cli`` when imported:
# user, group, perm, token, access (cli_access); rebuild, migrate (cli_data); upload-large
# (cli_upload).
from . import cli_access, cli_data, cli_upload  # noqa: E402, F401
