"""PostgreSQL, MariaDB and moto's server (DynamoDB), started once per test session.

A pytest plugin (loaded from ``tests/conftest.py``), in the manner of ``tests/emulators.py``:
session fixtures start each service on a free loopback port with its data under /tmp, poll its
ready check and stop it at the end; function fixtures hand a test the raw settings of a fresh,
empty database (or DynamoDB table prefix). A service that cannot start fails the tests that
need it, naming the reason; nothing is skipped. The commands are the ones
``/work/shared/TEST-SERVICES.md`` documents; ``make test-services`` installs MariaDB and moto.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.cloud_emulators import AWS_ENV, REGION, moto_recording
from tests.emulators import free_port

READY_TIMEOUT = 60.0
PASSWORD = "app-pw"
MOTO_VENV = Path.home() / ".cache" / "moto-venv"
# moto's app served one request at a time. ``moto_server`` serves requests on threads, and moto
# rolls a cancelled TransactWriteItems back by restoring a copy of the whole table taken when
# it started, which erases what concurrent requests wrote meanwhile (16 racing adds of one file
# then lose the winner's writes). DynamoDB itself is atomic per transaction; serialized, moto is too.
MOTO_ONE_AT_A_TIME = """
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=False, request_handler=MotoRequestHandler)
"""
AWS_REGION = REGION  # the AWS variables and region are the S3 emulator's (cloud_emulators)


@dataclass
class Service:
    """A database or emulator process, its port, its log and the folder it owns."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    directory: Path | None = None
    stop_signal: int = signal.SIGTERM
    admin: sa.Engine | None = field(default=None, repr=False)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def fail(self, why: str) -> None:
        self.stop()
        pytest.fail(f"{self.name} {why}; its log ends:\n{self.log_tail()}", pytrace=False)

    def wait_ready(self, ready: Callable[[], bool]) -> None:
        """Poll ``ready`` until it holds; fail naming the service and its log."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"exited with status {self.process.returncode} while starting")
            if ready():
                return
            time.sleep(0.1)
        self.fail(f"was not ready within {READY_TIMEOUT:.0f}s")

    def stop(self) -> None:
        if self.admin is not None:
            self.admin.dispose()
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh empty database (created as the ``app`` user); its name."""
        assert self.admin is not None
        name = "t" + uuid.uuid4().hex[:16]
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        return name


def _command_ok(command: list[str]) -> bool:
    return subprocess.run(command, capture_output=True, timeout=30).returncode == 0


def _run(name: str, command: list[str], log: Path) -> None:
    """A set-up command that must succeed; fail with its output otherwise."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"{name} cannot be set up: {command[0]}: {exc}", pytrace=False)
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        pytest.fail(f"{name} set-up failed: {' '.join(command)}\n{output}", pytrace=False)


def _start(
    name: str,
    command: list[str],
    port: int,
    log_path: Path,
    env: dict[str, str] | None = None,
    **extra: object,
) -> Service:
    log = log_path.open("ab")
    try:
        environment = {**os.environ, **(env or {})}
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment
        )
    except OSError as exc:
        pytest.fail(f"{name} cannot start: {command[0]}: {exc}", pytrace=False)
    finally:
        log.close()
    return Service(name, process, port, log_path, **extra)  # type: ignore[arg-type]


def _owned_directory(prefix: str, user: str) -> Path:
    """A folder under /tmp owned by ``user`` (the database servers refuse to run as root)."""
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        pytest.fail(f"no '{user}' user: install the Debian package that provides it", pytrace=False)
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chown(directory, account.pw_uid, account.pw_gid)
    return directory


def _admin_engine(url: str) -> sa.Engine:
    """Connections for CREATE DATABASE, which must run outside a transaction."""
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


def postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found or not (found[-1] / "postgres").is_file():
        pytest.fail("PostgreSQL cannot start: /usr/lib/postgresql/*/bin/postgres is missing "
                    "(apt-get install postgresql)", pytrace=False)  # fmt: skip
    return found[-1]


@pytest.fixture(scope="session")
def postgres(emulator_logs: Path) -> Iterator[Service]:
    """PostgreSQL on loopback; the ``app`` role may create databases."""
    bin_dir, port = postgres_bin(), free_port()
    directory = _owned_directory("pg.", "postgres")
    as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    log = emulator_logs / "postgresql.log"
    initdb = [*as_postgres, str(bin_dir / "initdb"), "-D", str(directory / "data"), "-U", "postgres"]
    initdb += ["--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]
    _run("PostgreSQL", initdb, log)
    command = [*as_postgres, str(bin_dir / "postgres"), "-D", str(directory / "data"), "-p", str(port)]
    command += ["-k", str(directory), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
    command += ["-c", "full_page_writes=off", "-c", "synchronous_commit=off", "-c", "max_connections=300"]
    service = _start("PostgreSQL", command, port, log, directory=directory, stop_signal=signal.SIGINT)
    ready = [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
    service.wait_ready(lambda: _command_ok(ready))
    psql = [str(bin_dir / "psql"), "-X", "-h", str(directory), "-p", str(port), "-U", "postgres"]
    psql += ["-v", "ON_ERROR_STOP=1", "-c", f"CREATE ROLE app LOGIN CREATEDB PASSWORD '{PASSWORD}'"]
    _run("PostgreSQL", [*psql, "-c", "CREATE DATABASE app OWNER app"], emulator_logs / "postgresql-setup.log")
    service.admin = _admin_engine(postgres_url(service, "app"))
    yield service
    service.stop()


def postgres_url(service: Service, database: str) -> str:
    return f"postgresql://app:{PASSWORD}@127.0.0.1:{service.port}/{database}"


@pytest.fixture(scope="session")
def mariadb(emulator_logs: Path) -> Iterator[Service]:
    """MariaDB on loopback; the ``app`` user may create databases."""
    server = Path("/usr/sbin/mariadbd")
    if not server.is_file() or shutil.which("mariadb-install-db") is None:
        pytest.fail("MariaDB cannot start: mariadb-server is missing (make test-services)", pytrace=False)
    port, directory = free_port(), _owned_directory("mariadb.", "mysql")
    socket, log, data = str(directory / "mysqld.sock"), emulator_logs / "mariadb.log", directory / "data"
    install = ["mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={data}", "--skip-test-db"]
    install += ["--auth-root-authentication-method=socket", "--innodb-log-file-size=16M"]
    _run("MariaDB", install, log)
    command = [str(server), "--no-defaults", "--user=mysql", f"--datadir={data}", f"--socket={socket}"]
    command += [f"--pid-file={directory}/mysqld.pid", f"--port={port}", "--bind-address=127.0.0.1"]
    command += ["--skip-name-resolve", "--skip-log-bin", "--innodb-log-file-size=16M"]
    command += ["--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2"]
    command += ["--max-connections=300"]
    service = _start("MariaDB", command, port, log, directory=directory)
    root = ["--no-defaults", "-S", socket, "-u", "root"]
    service.wait_ready(lambda: _command_ok(["mariadb-admin", *root, "ping"]))
    grant = f"CREATE USER 'app'@'%' IDENTIFIED BY '{PASSWORD}'; GRANT ALL ON *.* TO 'app'@'%';"
    setup = ["mariadb", *root, "-e", f"CREATE DATABASE app CHARACTER SET utf8mb4; {grant}"]
    _run("MariaDB", setup, emulator_logs / "mariadb-setup.log")
    service.admin = _admin_engine(mariadb_url(service, "app").replace("mysql://", "mysql+pymysql://"))
    yield service
    service.stop()


def mariadb_url(service: Service, database: str) -> str:
    return f"mysql://app:{PASSWORD}@127.0.0.1:{service.port}/{database}"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    """The variables every boto3 client (and every server subprocess) must see."""
    saved = {name: os.environ.get(name) for name in AWS_ENV}
    os.environ.update(AWS_ENV)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def moto(aws_env: None, emulator_logs: Path) -> Iterator[Service]:
    """moto's server (every AWS service on one port, in memory), one request at a time."""
    python = MOTO_VENV / "bin" / "python"
    if not (MOTO_VENV / "bin" / "moto_server").is_file():
        pytest.fail(f"moto cannot start: {MOTO_VENV} has no moto (make test-services)", pytrace=False)
    port = free_port()
    command = [str(python), "-c", MOTO_ONE_AT_A_TIME, str(port)]
    recording = moto_recording(emulator_logs, "dynamodb")
    service = _start("moto server", command, port, emulator_logs / "moto.log", env=recording)
    service.wait_ready(lambda: _http_ok(f"http://127.0.0.1:{port}/moto-api/"))
    yield service
    service.stop()


def moto_url(service: Service) -> str:
    return f"http://127.0.0.1:{service.port}"


def new_cache_settings(target: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Raw settings of an empty cache on ``target`` (``sql-postgresql``, ``sql-mariadb``,
    ``dynamo``), usable from a fixture of any scope: databases come from the session services."""
    if target == "sql-postgresql":
        postgres: Service = request.getfixturevalue("postgres")
        return {"pypi.db": "sql", "db.url": postgres_url(postgres, postgres.new_database())}
    if target == "sql-mariadb":
        mariadb: Service = request.getfixturevalue("mariadb")
        return {"pypi.db": "sql", "db.url": mariadb_url(mariadb, mariadb.new_database())}
    assert target == "dynamo", target
    moto: Service = request.getfixturevalue("moto")
    namespace = "t" + uuid.uuid4().hex[:12] + "-"
    return {"pypi.db": "dynamo", "db.endpoint_url": moto_url(moto), "db.region_name": AWS_REGION,
            "db.namespace": namespace}  # fmt: skip


@pytest.fixture
def sql_postgres_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """Raw settings of an ``sql`` cache on a new, empty PostgreSQL database."""
    return new_cache_settings("sql-postgresql", request)


@pytest.fixture
def sql_mariadb_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """Raw settings of an ``sql`` cache on a new, empty MariaDB database."""
    return new_cache_settings("sql-mariadb", request)


@pytest.fixture
def sql_sqlite_settings(tmp_path: Path) -> dict[str, str]:
    """Raw settings of an ``sql`` cache on a new SQLite file."""
    return {"pypi.db": "sql", "db.url": f"sqlite:///{tmp_path}/sql.sqlite3"}


@pytest.fixture
def dynamo_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """Raw settings of a ``dynamo`` cache on moto, in a table no other test uses."""
    return new_cache_settings("dynamo", request)
