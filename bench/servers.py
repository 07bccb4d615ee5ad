"""The four servers: how each is installed, configured, started, and where its URLs are.

Each server gets its own virtualenv under ``bench/.work/venvs/`` (kept between runs; a marker
file records what was installed) and a fresh data directory per run. Start commands follow
``shared/PEERS.md``; where it offers a choice, the faster documented one is used (see
``bench/README.md``). All of them listen on 127.0.0.1 only, with upstream fallback off.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from abc import ABC, abstractmethod
from pathlib import Path

from . import procs

REPO = Path(__file__).resolve().parent.parent
USER = "bench"
PASSWORD = "bench-password-1"
PY310 = Path.home() / ".pyenv" / "versions" / "3.10.13" / "bin" / "python"

# Settings that keep every client and library local (see shared/TEST-SERVICES.md).
CLIENT_ENV = {
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "GOOGLE_CLOUD_PROJECT": "demo-test",
    "PIP_CONFIG_FILE": "/dev/null",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
    "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
}


def base_env() -> dict[str, str]:
    """The environment without our registry's settings or a pip config, plus CLIENT_ENV."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "PIP_"))}
    env.update(CLIENT_ENV)
    return env


class Server(ABC):
    """One server under test. ``configure`` is called once per run with a fresh directory."""

    key: str
    python: str = "python3.11"
    requirements: tuple[str, ...] = ()
    distribution: str  # whose version to report
    index_path = "/simple/"
    upload_path = "/"

    def __init__(self, work: Path, label: str | None = None) -> None:
        self.work = work
        self.label = label or self.key
        self.data = work / "runs" / self.label.replace(" ", "_").replace("/", "_")
        self.port = 0

    @property
    def venv(self) -> Path:
        return self.work / "venvs" / self.key

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ready_path(self) -> str:
        """What start-up waits for: the project index answering 200."""
        return self.index_path

    def project_path(self, project: str) -> str:
        return f"{self.index_path}{project}/"

    def ui_project_path(self, project: str) -> str | None:
        """A web page for people about the project, if the server has one to compare."""
        return None

    def install_spec(self) -> str:
        return "\n".join(self.requirements)

    def install(self, log: Path) -> None:
        """Create the venv and install the server, unless the same spec is installed already."""
        marker = self.venv / ".bench-installed"
        spec = f"{self.python}\n{self.install_spec()}\n"
        if marker.is_file() and marker.read_text() == spec:
            return
        env = {k: v for k, v in os.environ.items() if k != "PIP_CONFIG_FILE"}
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        if not (self.bin / "python").exists():
            procs.run([self.python, "-m", "venv", str(self.venv)], env=env, log=log, timeout=300)
        procs.run([str(self.bin / "pip"), "install", "-q", *self.pip_args()], env=env, log=log, timeout=1200)
        marker.write_text(spec)

    def pip_args(self) -> list[str]:
        return list(self.requirements)

    def version(self) -> str:
        code = f"import importlib.metadata as m; print(m.version({self.distribution!r}))"
        result = subprocess.run(
            [str(self.bin / "python"), "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        return result.stdout.strip() or "?"

    def python_in_venv(self, args: list[str], stdin: str = "") -> str:
        """Run the venv's python with ``args`` in the repository; its output, stripped."""
        result = subprocess.run(
            [str(self.bin / "python"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
            env=base_env(),
            check=True,
        )
        return result.stdout.strip()

    @abstractmethod
    def configure(self, port: int, log: Path) -> None:
        """Write config files and initialise ``self.data`` for a server on ``port``."""

    @abstractmethod
    def command(self) -> list[str]:
        """The start command (run pinned to the server core, in ``self.cwd``)."""

    @property
    def cwd(self) -> Path:
        return self.data

    def env(self) -> dict[str, str]:
        return base_env()

    def after_first_start(self, log: Path) -> None:  # noqa: B027 - optional hook, default empty
        """Set-up that needs the running server (devpi: user and index). Default: nothing."""

    def credentials(self) -> tuple[str, str]:
        """User and password for ``twine upload``."""
        return USER, PASSWORD

    def describe(self) -> str:
        return shlex.join(self.command()).replace(str(self.work), "bench/.work").replace(str(REPO), ".")


class Ours(Server):
    """This registry: gunicorn serving ``main:app`` from the work tree, local default backends."""

    key = "registry"
    distribution = "gunicorn"

    def __init__(self, work: Path, gunicorn_args: str, label: str | None = None) -> None:
        super().__init__(work, label)
        self.gunicorn_args = shlex.split(gunicorn_args)
        self._hash = ""

    def install_spec(self) -> str:
        return hashlib.sha256((REPO / "requirements.txt").read_bytes()).hexdigest()

    def pip_args(self) -> list[str]:
        return ["-r", str(REPO / "requirements.txt")]

    def version(self) -> str:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
        )
        return f"{commit.stdout.strip()}, gunicorn {super().version()}"

    def configure(self, port: int, log: Path) -> None:
        self.port = port
        self.data.mkdir(parents=True, exist_ok=True)
        self._hash = self.python_in_venv(
            ["-m", "registry", "hash-password", "--password-stdin"], stdin=PASSWORD + "\n"
        )

    @property
    def cwd(self) -> Path:
        return REPO

    def ui_project_path(self, project: str) -> str | None:
        return f"/project/{project}/"

    def command(self) -> list[str]:
        bind = f"127.0.0.1:{self.port}"
        return [str(self.bin / "gunicorn"), "--bind", bind, *self.gunicorn_args, "main:app"]

    def env(self) -> dict[str, str]:
        env = base_env()
        env.update(
            REGISTRY_STORAGE_DIR=str(self.data / "packages"),
            REGISTRY_DB_PATH=str(self.data / "registry.sqlite3"),
            REGISTRY_USER_BENCH=self._hash,
        )
        return env


class PypiServer(Server):
    """pypiserver, under gunicorn (its documented production set-up), with the cache extra."""

    key = "pypiserver"
    distribution = "pypiserver"
    requirements = ("pypiserver[passlib,cache]", "gunicorn")

    def configure(self, port: int, log: Path) -> None:
        self.port = port
        (self.data / "packages").mkdir(parents=True, exist_ok=True)
        code = (
            "import sys; from passlib.apache import HtpasswdFile; "
            "f = HtpasswdFile(sys.argv[1], new=True); f.set_password(sys.argv[2], sys.argv[3]); f.save()"
        )
        self.python_in_venv(["-c", code, str(self.data / "htpasswd"), USER, PASSWORD])

    def command(self) -> list[str]:
        factory = (
            f'pypiserver:app(root="{self.data / "packages"}", '
            f'password_file="{self.data / "htpasswd"}", authenticate=["update"], '
            "disable_fallback=True)"
        )
        return [str(self.bin / "gunicorn"), "-w", "2", "--bind", f"127.0.0.1:{self.port}", factory]


class PypiCloud(Server):
    """pypicloud 1.3.12 (its last release) on Python 3.10, file storage and a SQLite cache."""

    key = "pypicloud"
    python = str(PY310)
    distribution = "pypicloud"
    requirements = ("pypicloud[server]==1.3.12", "gunicorn", "SQLAlchemy<2")
    upload_path = "/simple/"

    def configure(self, port: int, log: Path) -> None:
        self.port = port
        self.data.mkdir(parents=True, exist_ok=True)
        code = (
            "import sys; from pypicloud.access import get_pwd_context; "
            "print(get_pwd_context().hash(sys.argv[1]))"
        )
        password_hash = self.python_in_venv(["-c", code, PASSWORD])
        config = f"""[app:main]
use = egg:pypicloud
pyramid.reload_templates = false
pypi.default_read = everyone
pypi.default_write = authenticated
pypi.fallback = none
pypi.storage = file
storage.dir = {self.data / "packages"}
db.url = sqlite:///{self.data / "cache.sqlite"}
auth.admins = {USER}
user.{USER} = {password_hash}
session.encrypt_key = {"e" * 48}
session.validate_key = {"v" * 48}

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = {port}
"""
        (self.data / "config.ini").write_text(config.replace("%", "%%"))

    def command(self) -> list[str]:
        return [
            str(self.bin / "gunicorn"),
            "-w",
            "2",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--paste",
            str(self.data / "config.ini"),
        ]


class Devpi(Server):
    """devpi-server with a volatile, base-less index; uploads use a login token."""

    key = "devpi"
    distribution = "devpi-server"
    requirements = ("devpi-server", "devpi-client")
    index_path = f"/{USER}/dev/+simple/"
    upload_path = f"/{USER}/dev/"

    def __init__(self, work: Path, label: str | None = None) -> None:
        super().__init__(work, label)
        self._index_ready = False

    @property
    def ready_path(self) -> str:
        return self.index_path if self._index_ready else "/+api"

    def configure(self, port: int, log: Path) -> None:
        self.port = port
        self._index_ready = False
        self.data.mkdir(parents=True, exist_ok=True)
        procs.run(
            [
                str(self.bin / "devpi-init"),
                "--serverdir",
                str(self.data / "server"),
                "--no-root-pypi",
                "--root-passwd",
                PASSWORD,
            ],
            env=self.env(),
            log=log,
            timeout=300,
        )

    def command(self) -> list[str]:
        server = [str(self.bin / "devpi-server"), "--serverdir", str(self.data / "server")]
        return [*server, "--host", "127.0.0.1", "--port", str(self.port)]

    def after_first_start(self, log: Path) -> None:
        env = self.env()
        env["DEVPI_CLIENTDIR"] = str(self.data / "client")
        devpi = str(self.bin / "devpi")
        for args in (
            ["use", self.base_url],
            ["user", "-c", USER, f"password={PASSWORD}", "email=bench@example.invalid"],
            ["login", USER, "--password", PASSWORD],
            ["index", "-c", f"{USER}/dev", "volatile=True", "bases=", "mirror_whitelist="],
        ):
            procs.run([devpi, *args], env=env, log=log, timeout=120)
        self._index_ready = True

    def _login(self) -> str:
        """A login token (``POST /+login``), used as the basic-auth password like devpi's client."""
        answer = procs.post_json(f"{self.base_url}/+login", {"user": USER, "password": PASSWORD})
        token: str = answer["result"]["password"]
        return token

    def credentials(self) -> tuple[str, str]:
        # A token is signed with a secret devpi makes at each start: ask the running server.
        return USER, self._login()
