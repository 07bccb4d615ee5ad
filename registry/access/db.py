"""The ``db`` access backend: the config file's users, groups and permissions, plus the database's.

Database entries are documents in the configured DocumentStore (SQLite locally, Firestore on Google
Cloud), managed with ``python -m registry user|group|perm``. Entries written in the config file
win over database entries of the same name and cannot be changed from here: that keeps a
bootstrap admin (``user.admin`` + ``auth.admins`` from the environment on Cloud Run) working
whatever the database holds.
"""

from __future__ import annotations

from typing import Any

from ..cache.documents import DocumentStore
from ..config import Config
from ..errors import BackendUnavailable
from .base import AccessBackend
from .config import parse_config_data
from .models import AccessData, Group, Rule, User, rule_key


class DBAccess(AccessBackend):
    """Access data from the config file and the ``user``/``group``/``perm`` documents."""

    def __init__(self, config: Config, documents: DocumentStore) -> None:
        super().__init__(config, documents)
        self.config_data = parse_config_data(config)

    def _docs(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.documents.list_docs(kind)

    def load(self) -> AccessData:
        fixed = self.config_data
        try:
            users = {name: User.from_doc(name, data) for name, data in self._docs("user").items()}
            groups = {name: Group.from_doc(name, data) for name, data in self._docs("group").items()}
            rules = {key: Rule.from_doc(data) for key, data in self._docs("perm").items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendUnavailable(f"stored access data is malformed: {exc}") from exc
        users.update(fixed.users)
        groups.update(fixed.groups)
        rules.update({rule.key: rule for rule in fixed.rules})
        return AccessData(users=users, groups=groups, rules=tuple(rules.values()))

    def save_user(self, user: User, *, create_only: bool = False) -> None:
        self.documents.put_doc("user", user.name, user.to_doc(), create_only=create_only)

    def delete_user(self, name: str) -> bool:
        return self.documents.delete_doc("user", name)

    def save_group(self, group: Group) -> None:
        self.documents.put_doc("group", group.name, group.to_doc())

    def delete_group(self, name: str) -> bool:
        return self.documents.delete_doc("group", name)

    def save_rule(self, rule: Rule) -> None:
        self.documents.put_doc("perm", rule.key, rule.to_doc())

    def delete_rule(self, project: str, kind: str, name: str) -> bool:
        return self.documents.delete_doc("perm", rule_key(project, kind, name))
