"""``storage.managed_identity``: the azure-blob storage signs in with a managed identity, not a key.

Azurite serves HTTPS with bearer-token sign-in (``--oauth basic``: it checks a token's issuer,
audience and lifetime, not its signature); a loopback server answers the managed-identity
protocol Container Apps and App Service speak (``$IDENTITY_ENDPOINT`` with
``$IDENTITY_HEADER``), handing out such tokens. The backend then stores and reads through
tokens alone, and signs download URLs as user delegation SAS, which Azurite checks.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import io
import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from registry.config import load_config
from registry.errors import ConfigError
from registry.storage.azure_blob import AzureBlobStorage
from tests.cloud_emulators import AZURE_ACCOUNT, AZURE_KEY, AZURITE, _require
from tests.emulators import Emulator, _start, free_port, unique

CONTAINER = "identity-tests"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
BASE = {"pypi.storage": "azure-blob", "storage.storage_account_name": AZURE_ACCOUNT,
        "storage.storage_container_name": CONTAINER}  # fmt: skip


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1)).add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def azurite_oauth(emulator_logs: Path, tls: tuple[Path, Path]) -> Iterator[Emulator]:
    """Azurite over HTTPS accepting bearer tokens (and the development account's key)."""
    binary, port = _require(AZURITE, "Azurite", "make node-tools"), free_port()
    command = [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--skipApiVersionCheck", "--loose"]
    command += ["--disableTelemetry", "--inMemoryPersistence", "--cert", str(tls[0]), "--key", str(tls[1])]
    emulator = _start("Azurite OAuth", [*command, "--oauth", "basic"], port, emulator_logs)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert emulator.process.poll() is None, emulator.log_tail()
        try:
            requests.get(f"https://{emulator.host}/{AZURE_ACCOUNT}?comp=list", verify=str(tls[0]), timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.1)
    else:
        emulator.stop()
        pytest.fail(f"Azurite (OAuth) did not start:\n{emulator.log_tail()}", pytrace=False)
    yield emulator
    emulator.stop()


def token(lifetime: int = 3600) -> str:
    """A Microsoft Entra-shaped access token for Azure Storage (unsigned: Azurite reads claims)."""
    now = int(time.time())
    claims = {"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/0000/", "iat": now,
              "nbf": now - 60, "exp": now + lifetime, "oid": CLIENT_ID, "tid": "0000"}  # fmt: skip
    parts = [{"alg": "none", "typ": "JWT"}, claims]
    encoded = [base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode() for part in parts]
    return ".".join([*encoded, "c2ln"])


class IdentityEndpoint(BaseHTTPRequestHandler):
    """The platform's managed-identity endpoint: a token for the asked resource, if the secret
    header is right. Requests are kept in ``asked`` for the test to inspect."""

    asked: list[dict[str, Any]] = []
    secret = "identity-header-secret"

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        IdentityEndpoint.asked.append({"query": query, "header": self.headers.get("X-IDENTITY-HEADER")})
        expires = str(int(time.time()) + 3600)
        answer = {"access_token": token(), "expires_on": expires, "resource": query["resource"][0]}
        status, body = 200, json.dumps(answer | {"token_type": "Bearer"}).encode()
        if self.headers.get("X-IDENTITY-HEADER") != self.secret:
            status, body = 401, b'{"statusCode": 401, "message": "Unauthorized request."}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def identity_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), IdentityEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/msi/token"
    server.shutdown()
    server.server_close()


@pytest.fixture
def on_a_platform(
    monkeypatch: pytest.MonkeyPatch, identity_endpoint: str, tls: tuple[Path, Path], azurite_oauth: Emulator
) -> str:
    """The variables Container Apps sets for a managed identity; the emulator's certificate
    trusted; the container made with the account key. The Blob service URL."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", IdentityEndpoint.secret)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))
    for name in ("AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    url = f"https://{azurite_oauth.host}/{AZURE_ACCOUNT}"
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    keyed = BlobServiceClient(url, credential={"account_name": AZURE_ACCOUNT, "account_key": AZURE_KEY})
    with contextlib.suppress(ResourceExistsError):
        keyed.create_container(CONTAINER)
    IdentityEndpoint.asked.clear()
    return url


def identity_storage(url: str, identity: str, **extra: str) -> AzureBlobStorage:
    settings = {**BASE, "storage.storage_account_url": url, "storage.prefix": unique("t") + "/",
                "storage.managed_identity": identity, **extra}  # fmt: skip
    return AzureBlobStorage.from_config(load_config(environ={}, overrides=settings))


@pytest.mark.parametrize("identity", ["system", CLIENT_ID])
def test_files_are_stored_and_read_with_tokens_alone(on_a_platform: str, identity: str) -> None:
    storage = identity_storage(on_a_platform, identity)
    storage.check_health()
    storage.put("demo/demo-1.0.tar.gz", io.BytesIO(b"sdist bytes"), {"sha256": "abc"})
    assert storage.read_bytes("demo/demo-1.0.tar.gz") == b"sdist bytes"
    assert storage.get_meta("demo/demo-1.0.tar.gz")["sha256"] == "abc"
    assert list(storage.list_keys("demo/")) == ["demo/demo-1.0.tar.gz"]
    storage.delete("demo/demo-1.0.tar.gz")
    assert not storage.exists("demo/demo-1.0.tar.gz")
    assert IdentityEndpoint.asked, "no token was asked for"
    (first, *_) = IdentityEndpoint.asked
    assert first["header"] == IdentityEndpoint.secret
    assert first["query"]["resource"] == ["https://storage.azure.com"]
    assert first["query"].get("client_id") == (None if identity == "system" else [CLIENT_ID])


def test_no_token_means_backend_unavailable(on_a_platform: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform refuses a token (here: a wrong secret header): a 503-kind error, no vendor one."""
    monkeypatch.setattr(IdentityEndpoint, "secret", "another-secret")
    storage = identity_storage(on_a_platform, "system")
    from registry.errors import BackendUnavailable

    with pytest.raises(BackendUnavailable):
        storage.check_health()


def test_download_urls_are_user_delegation_sas(on_a_platform: str) -> None:
    """Signed with a delegation key fetched from the emulator with the identity's token, read-only,
    for the one blob, ending before the key does; the key is fetched once for many URLs.

    Azurite 3.35 cannot check these signatures: it knows the user delegation string-to-sign of
    service version 2025-07-05, and azure-storage-blob 12.31 signs version 2026-10-06's (two
    more fields). So the URL is checked for what it grants, not fetched.
    """
    storage = identity_storage(on_a_platform, "system", **{"storage.redirect_urls": "true"})
    storage.put("demo/demo-1.0-py3-none-any.whl", io.BytesIO(b"wheel bytes"), {})
    calls_before = len(IdentityEndpoint.asked)
    urls = [storage.download_url("demo/demo-1.0-py3-none-any.whl")]
    assert storage._keys is not None
    fetched = storage._keys._key
    urls += [storage.download_url("demo/demo-1.0-py3-none-any.whl") for _ in range(2)]
    assert fetched is not None and storage._keys._key is fetched  # one key for many URLs
    assert all(url is not None and url.startswith(f"{on_a_platform}/{CONTAINER}/t") for url in urls)
    query = parse_qs(urlsplit(str(urls[0])).query)
    assert query["skoid"] == [CLIENT_ID] and query["sktid"] == ["0000"]  # the token's identity
    assert query["sp"] == ["r"] and query["sr"] == ["b"] and query["sig"]
    assert query["se"][0] < query["ske"][0]  # the URL ends before the key does
    assert len(IdentityEndpoint.asked) == calls_before  # the storage client's token served the key
    assert fetched.signed_oid == CLIENT_ID and fetched.value


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"storage.storage_account_key": AZURE_KEY}, "storage.managed_identity replaces the account key"),
        ({"storage.storage_account_name": ""}, "storage.managed_identity needs storage.storage_account_name"),
    ],
)
def test_an_identity_with_a_key_or_without_an_account_stops_start_up(
    extra: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(name, raising=False)
    settings = {**BASE, "storage.managed_identity": "system", **extra}
    with pytest.raises(ConfigError, match=message):
        AzureBlobStorage.from_config(load_config(environ={}, overrides=settings))
