"""A real pypicloud 1.3.12 (its own Python 3.10 venv, made by `make test-services`) on loopback."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from passlib.hash import sha512_crypt

from tests.processes import stop_group
from tests.server import ROOT, free_port

PSERVE = ROOT / ".venv" / "pypicloud" / "bin" / "pserve"
USERS = {"carol": "carol-pypicloud-pw", "dave": "dave-pypicloud-pw"}


def pypicloud_ini(root: Path, port: int) -> str:
    """pypicloud's config as its users write it: file storage, SQL cache, users in the file."""
    users = "\n".join(
        f"user.{name} = {sha512_crypt.using(rounds=5000).hash(password)}" for name, password in USERS.items()
    )
    return f"""[app:main]
use = egg:pypicloud
pypi.default_read = everyone
pypi.default_write = authenticated
pypi.fallback = none
pypi.storage = file
storage.dir = %(here)s/packages
db.url = sqlite:///%(here)s/db.sqlite
auth.admins = carol
{users}
group.team = carol dave
package.private-thing.group.team = rw
package.private-thing.user.dave = r
package.other.user.dave = read write
session.encrypt_key = 0123456789abcdef0123456789abcdef
session.validate_key = fedcba9876543210fedcba9876543210

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = {port}
"""


@dataclass
class Pypicloud:
    """One pypicloud server with its config, storage folder and SQLite cache in ``root``."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.root / "config.ini"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def start(self, timeout: float = 60) -> Pypicloud:
        if not PSERVE.exists():
            raise RuntimeError(f"{PSERVE} is missing: run `make test-services`")
        self.config.write_text(pypicloud_ini(self.root, self.port))
        log = open(self.root / "pserve.log", "wb")  # noqa: SIM115 - the process holds it
        self.process = subprocess.Popen(
            [str(PSERVE), str(self.config)], cwd=self.root, stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pypicloud exited:\n{(self.root / 'pserve.log').read_text()}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pypicloud did not answer /health in {timeout}s")

    def stop(self) -> None:
        if self.process:
            stop_group(self.process)
