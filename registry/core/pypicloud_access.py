"""pypicloud's access settings (``pypi.auth = config``) as this registry's database entries.

``user.<name> = <passlib hash>`` (with ``auth.admins``), ``group.<name> = <members>`` and
``package.<project>.user|group.<name> = r|rw`` (or pypicloud's long form ``read write``)
become user, group and permission documents: the hashes carry over as they are, so every
password keeps working. They are written only where they differ, so a second run writes
nothing; entries this registry already has under other names are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..access.models import Group, Rule, User, check_name, check_project
from ..access.passwords import is_password_hash
from ..cache.documents import DocumentStore
from ..errors import InvalidRequest


@dataclass
class AccessOutcome:
    """Users, groups and permissions written, already there, and skipped (with why)."""

    written: dict[str, int] = field(default_factory=dict)
    present: int = 0
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        counts = ", ".join(f"{count} {kind}s" for kind, count in sorted(self.written.items())) or "nothing"
        return f"access data: {counts} written, {self.present} already there, {len(self.skipped)} skipped"


def _words(value: str) -> list[str]:
    """pyramid's ``aslist``: words split on white space and commas."""
    return [word for word in value.replace(",", " ").split() if word]


def _permission(value: str) -> str:
    """``r``/``rw`` or pypicloud's ``read write`` -> ``r`` or ``rw``. :raises ValueError:"""
    words = set(_words(value.lower()))
    short = value.strip().lower()
    if "write" in words or short in ("rw", "w"):
        return "rw"
    if "read" in words or short == "r":
        return "r"
    raise ValueError(f"permission {value!r} grants neither read nor write")


def _rule(key: str, value: str) -> Rule:
    """``package.<project>.<user|group>.<name>``, as pypicloud splits it (exactly four parts)."""
    parts = key.split(".")
    if len(parts) != 4 or parts[2] not in ("user", "group"):
        raise ValueError("pypicloud reads only package.<project>.user|group.<name>")
    _, project, kind, name = parts
    if kind == "group" and name.lower() in ("everyone", "authenticated"):
        name = name.lower()
    else:
        name = check_name(name, kind)
    return Rule(check_project(project), kind, name, _permission(value))


Document = tuple[str, str, dict[str, Any]]  # (kind, key, document)


def access_documents(settings: Mapping[str, str], outcome: AccessOutcome) -> list[Document]:
    """(kind, key, document) for every valid entry; bad ones go to ``outcome.skipped``."""
    admins = {word.lower() for word in _words(settings.get("auth.admins", ""))}
    found: list[Document] = []
    for key, value in sorted(settings.items()):
        try:
            if key.startswith("user."):
                if not is_password_hash(value.strip()):
                    raise ValueError("not a password hash this registry recognises")
                user = User(check_name(key[5:]), value.strip(), admin=key[5:].lower() in admins)
                found.append(("user", user.name, user.to_doc()))
            elif key.startswith("group."):
                group = Group(check_name(key[6:], "group"), frozenset(check_name(m) for m in _words(value)))
                found.append(("group", group.name, group.to_doc()))
            elif key.startswith("package."):
                rule = _rule(key, value)
                found.append(("perm", rule.key, rule.to_doc()))
        except (InvalidRequest, ValueError) as exc:
            outcome.skipped[key] = exc.message if isinstance(exc, InvalidRequest) else str(exc)
    return found


def import_access(settings: Mapping[str, str], documents: DocumentStore) -> AccessOutcome:
    """Write pypicloud's users, groups and permissions where this registry's differ."""
    outcome = AccessOutcome()
    if settings.get("pypi.auth", "config").strip() != "config":
        outcome.skipped["pypi.auth"] = "only pypi.auth = config is imported; add users with `user add`"
    for kind, key, document in access_documents(settings, outcome):
        if documents.get_doc(kind, key) == document:
            outcome.present += 1
            continue
        documents.put_doc(kind, key, document)
        outcome.written[kind] = outcome.written.get(kind, 0) + 1
    return outcome
