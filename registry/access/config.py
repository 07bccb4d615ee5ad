"""The ``config`` access backend: users, groups and permissions from the config file only.

``user.<name> = <passlib hash>``, ``group.<name> = <members>``,
``package.<project>.user.<name> = r|rw`` and ``package.<project>.group.<name> = r|rw`` (the
pseudo-groups ``everyone`` and ``authenticated`` included), as pypicloud reads them; from the
environment, ``REGISTRY_PACKAGE_<PROJECT>_USER_<NAME>=rw`` and so on. All of it
is parsed and validated once, at start-up; changing it means editing the file and restarting.
"""

from __future__ import annotations

from ..cache.documents import DocumentStore
from ..config import Config, parse_list
from ..errors import ConfigError, InvalidRequest
from .base import AccessBackend
from .models import AccessData, Group, Rule, User, check_name, check_permission, check_project
from .passwords import is_password_hash

# From a file: package.<project>.user.<name>. From the environment, where names cannot hold
# dots: REGISTRY_PACKAGE_<PROJECT>_USER_<NAME> arrives as package.<project>_user_<name>.
_RULE_MARKERS = (".user.", ".group.", "_user_", "_group_")


def _rule(key: str, value: str) -> Rule:
    """Parse ``<project>.user.<name>`` (the project may contain dots: the last marker wins)."""
    cut, marker = max((key.rfind(marker), marker) for marker in _RULE_MARKERS)
    if cut <= 0:
        raise ValueError("expected package.<project>.user.<name> or package.<project>.group.<name>")
    project, kind, name = key[:cut], marker.strip("._"), key[cut + len(marker) :]
    checked = name.lower() if kind == "group" and name.lower() in ("everyone", "authenticated") else None
    return Rule(
        project=check_project(project),
        kind=kind,
        name=checked or check_name(name, kind),
        permission=check_permission(value),
        source="config",
    )


def parse_config_data(config: Config) -> AccessData:
    """The access data written in the config, validated.

    :raises ConfigError: naming the first bad key and what is wrong with it.
    """
    users: dict[str, User] = {}
    groups: dict[str, Group] = {}
    rules: list[Rule] = []
    try:
        for name, password_hash in config.section("user").items():
            key = f"user.{name}"
            checked = check_name(name)
            if not is_password_hash(password_hash.strip()):
                raise ValueError(
                    "not a password hash this registry recognises; make one with "
                    "`python -m registry hash-password`"
                )
            users[checked] = User(checked, password_hash.strip(), source="config")
        for name, members in config.section("group").items():
            key = f"group.{name}"
            checked = check_name(name, "group")
            groups[checked] = Group(checked, frozenset(check_name(m) for m in parse_list(members)), "config")
        for rest, value in config.section("package").items():
            key = f"package.{rest}"
            rules.append(_rule(rest, value))
    except (InvalidRequest, ValueError) as exc:
        message = exc.message if isinstance(exc, InvalidRequest) else str(exc)
        raise ConfigError(f"{key} is not valid: {message}") from exc
    return AccessData(users=users, groups=groups, rules=tuple(rules))


class ConfigAccess(AccessBackend):
    """Users, groups and permissions from the config file (API tokens live in the DocumentStore)."""

    def __init__(self, config: Config, documents: DocumentStore) -> None:
        super().__init__(config, documents)
        self.data = parse_config_data(config)

    def load(self) -> AccessData:
        return self.data

    def read_only_reason(self) -> str:
        return (
            "pypi.auth = config: users, groups and permissions come from the config file; "
            "edit its user.*, group.* and package.* lines (or set pypi.auth = db)"
        )
