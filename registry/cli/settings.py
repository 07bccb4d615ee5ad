"""Settings commands: ``make-config`` writes an ini file (interactively, or from flags for
scripts), ``hash-password`` prints a ``user.<name>`` hash, ``config-docs`` the settings table."""

from __future__ import annotations

import configparser
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from ..access.passwords import hash_password
from ..config import load_config, settings_markdown
from ..errors import RegistryError
from .base import cli


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


@cli.command("config-docs")
def config_docs() -> None:
    """Print the settings table (Markdown), generated from the settings declarations."""
    from ..cache import BACKENDS as CACHES
    from ..cache import cache_class
    from ..storage import BACKENDS as STORAGES
    from ..storage import storage_class

    extra = []
    for names, load in ((STORAGES, storage_class), (CACHES, cache_class)):
        for name in names:
            try:
                extra += list(load(name).settings)
            except RegistryError as exc:
                click.echo(f"warning: not documented: {exc.message}", err=True)
    click.echo(settings_markdown(extra), nl=False)
