"""The instance-role policy in docs/deploy-aws.md lists exactly the S3 and DynamoDB actions the
registry uses, on exactly the resources it touches.

moto records every request it serves while a registry on S3 + DynamoDB goes through what a
deployment does: start, ``/health``, small and multipart uploads, downloads through the app and
through presigned URLs, a page view, a yank, a delete and ``rebuild``. Each request becomes the
IAM action that authorizes it; that set, plus ``s3:AbortMultipartUpload`` (only a failed upload
calls it), must equal the policy's actions. Object keys, list prefixes and table names must fall
inside the policy's resources. The table is created beforehand, as the guide does.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.cloud_emulators import REGION
from tests.conftest import post_upload
from tests.distributions import Dist, big_wheel_bytes, sdist_bytes, wheel_bytes
from tests.e2e.test_backend_pairs import LARGE, file_path, pair_settings, registry_command
from tests.emulators import Emulator
from tests.server import ADMIN, ROOT, RegistryServer, base_settings

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
#: TransactWriteItems is authorized per part (there is no IAM action of that name).
TRANSACT_PARTS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
#: In the policy, never exercised by a successful run: cleaning up a failed multipart upload.
FAILURE_ONLY = {"s3:AbortMultipartUpload"}


def policy(variables: dict[str, str]) -> dict[str, Any]:
    """The instance role's policy from the guide, its shell variables filled in."""
    text = (ROOT / "docs" / "deploy-aws.md").read_text()
    found = re.search(r"cat > registry-policy\.json <<JSON\n(.*?)\nJSON\n", text, re.S)
    assert found is not None, "docs/deploy-aws.md has no registry-policy.json"
    body = re.sub(r"\$([A-Z_]+)", lambda m: variables[m.group(1)], found.group(1))
    document: dict[str, Any] = json.loads(body)
    return document


def moto_request(moto: Any, action: str) -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{moto.port}/moto-api/recorder/{action}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return bytes(answer.read())


@pytest.fixture
def recording(request: pytest.FixtureRequest) -> Iterator[list[Any]]:
    """Record on both moto processes (S3 threaded, DynamoDB serial) while the test runs."""
    request.getfixturevalue("s3_bucket")  # the session's bucket exists before recording starts
    motos = [request.getfixturevalue("moto_server"), request.getfixturevalue("moto")]
    for moto in motos:
        moto_request(moto, "reset-recording")
        moto_request(moto, "start-recording")
    yield motos
    for moto in motos:
        moto_request(moto, "stop-recording")
        moto_request(moto, "reset-recording")


def recorded(moto: Any) -> list[dict[str, Any]]:
    lines = moto_request(moto, "download-recording").decode().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _header(entry: dict[str, Any], name: str) -> str:
    return next((str(v) for k, v in entry["headers"].items() if k.lower() == name.lower()), "")


def s3_action(entry: dict[str, Any], bucket: str) -> tuple[str, str]:
    """(IAM action, resource ARN) of one recorded S3 request (path-style URL)."""
    parts = urlsplit(entry["url"])
    query = parse_qs(parts.query, keep_blank_values=True)
    name, _, key = unquote(parts.path).lstrip("/").partition("/")
    assert name == bucket, entry["url"]
    if not key:
        assert entry["method"] == "GET" and query.get("list-type") == ["2"], entry["url"]
        return "s3:ListBucket", f"prefix:{query['prefix'][0]}"
    method, resource = entry["method"], f"arn:aws:s3:::{bucket}/{key}"
    if method == "DELETE":
        return ("s3:AbortMultipartUpload" if "uploadId" in query else "s3:DeleteObject"), resource
    if method in ("GET", "HEAD"):
        return "s3:GetObject", resource
    assert method in ("PUT", "POST"), entry["url"]
    return "s3:PutObject", resource  # single PUT, copy onto itself, multipart create/part/complete


def dynamodb_actions(entry: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(IAM action, table name) pairs of one recorded DynamoDB request."""
    operation = _header(entry, "X-Amz-Target").rpartition(".")[2]
    raw = entry["body"]
    body = json.loads(base64.b64decode(raw) if entry.get("body_encoded") else raw)
    if operation != "TransactWriteItems":
        yield f"dynamodb:{operation}", body["TableName"]
        return
    for item in body["TransactItems"]:
        ((kind, part),) = item.items()
        yield f"dynamodb:{TRANSACT_PARTS[kind]}", part["TableName"]


def create_table(endpoint_url: str, name: str) -> None:
    """The table as step 1 of the guide creates it (``aws dynamodb create-table``)."""
    import boto3

    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint_url)
    keys = [("pk", "HASH"), ("sk", "RANGE")]
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key, _ in keys],
        KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in keys],
    )


def run_like_a_deployment(settings: dict[str, str], log_dir: Path) -> None:
    """Everything the service and its operators do with the backends, once."""
    server = RegistryServer(settings=settings, log_dir=log_dir).start()
    try:
        assert server.get("health").status_code == 200
        project = "policy-check"
        small, large = Dist(project, "1.0"), Dist(project, "2.0")
        for content, dist, filename in (
            (wheel_bytes(small), small, small.wheel_name),
            (sdist_bytes(small), small, small.sdist_name),
            (big_wheel_bytes(large, LARGE), large, large.wheel_name),  # a multipart upload
        ):
            assert post_upload(server, content, filename, project, dist.version).status_code == 200
        assert server.get(f"simple/{project}/").status_code == 200
        path = file_path(server, project, large.wheel_name)
        assert server.get(path, headers={"Range": "bytes=0-99"}).status_code == 206
        followed = server.get(path)
        assert followed.history and len(followed.content) > LARGE  # through the presigned URL
        yank = server.post(f"manage/projects/{project}/releases/1.0/yank", auth=ADMIN, json={"reason": "x"})
        assert yank.status_code == 200, yank.text
        deleted = server.delete(f"manage/projects/{project}/files/{small.sdist_name}", auth=ADMIN)
        assert deleted.status_code == 200, deleted.text
    finally:
        server.stop()
    assert "Rebuilt:" in registry_command("rebuild", env=server.environment())


def test_the_instance_role_policy_is_exactly_what_the_backends_use(
    recording: list[Emulator], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = base_settings(tmp_path / "data") | pair_settings("s3+dynamo", request)
    settings |= {"storage.redirect_urls": "true"}
    table = settings["db.namespace"] + "registry"
    create_table(settings["db.endpoint_url"], table)  # beforehand, as the guide does
    moto_request(recording[1], "reset-recording")  # only the registry's requests count
    run_like_a_deployment(settings, tmp_path / "logs")

    bucket, prefix = settings["storage.bucket"], settings["storage.prefix"]
    s3 = [s3_action(entry, bucket) for entry in recorded(recording[0])]
    dynamodb = [pair for entry in recorded(recording[1]) for pair in dynamodb_actions(entry)]
    assert s3 and dynamodb
    variables = {
        "BUCKET": bucket,
        "PREFIX": prefix,
        "AWS_REGION": REGION,
        "ACCOUNT_ID": ACCOUNT,
        "TABLE": table,
    }
    statements = policy(variables)["Statement"]
    allowed = {action for statement in statements for action in statement["Action"]}
    used = {action for action, _ in s3 + dynamodb}
    assert {a for a in allowed if a.startswith(("s3:", "dynamodb:"))} == used | FAILURE_ONLY
    assert "abort_multipart_upload" in (ROOT / "registry" / "storage" / "s3.py").read_text()
    assert "dynamodb:CreateTable" not in used | allowed
    by_sid = {statement["Sid"]: statement for statement in statements}
    listed_prefix = by_sid["ListThePrefix"]["Condition"]["StringLike"]["s3:prefix"]
    for action, resource in s3:
        if action == "s3:ListBucket":
            assert any(fnmatch.fnmatchcase(resource.removeprefix("prefix:"), p) for p in listed_prefix)
        else:
            assert fnmatch.fnmatchcase(resource, by_sid["FilesUnderThePrefix"]["Resource"]), resource
    table_arn = by_sid["TheTable"]["Resource"]
    assert {name for _, name in dynamodb} == {table} and table_arn.endswith(f":table/{table}")
