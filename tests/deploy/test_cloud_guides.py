"""docs/deploy-aws.md and docs/deploy-azure.md: what can be checked without a cloud.

The service file (App Runner JSON, Container Apps YAML) parses with its shell variables filled
in; every variable it sets is a registry setting, and the values load with the real config
parser and both backends accept them; the settings tables say what the files set; probes and
health checks call the app's own routes; the derived images install the pinned versions; every
shell variable the files use is defined in the guide. The IAM policy is checked against the
calls the backends make in ``tests/e2e/test_aws_policy.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from registry import create_app
from registry.config import load_config
from tests.backends import Backends
from tests.deploy.test_deploy_files import declared_settings, section
from tests.server import ROOT, base_settings

AWS, AZURE = "docs/deploy-aws.md", "docs/deploy-azure.md"
GUNICORN = {"WEB_CONCURRENCY", "GUNICORN_THREADS"}  # read by gunicorn.conf.py, not settings
#: Values for what the guides compute with commands ($(...)) rather than write out.
COMPUTED = {
    "ACCOUNT_ID": "123456789012",
    "SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry-admin-password-AbCdEf",
    "DB_PASSWORD": "db-password",
    "PG_ADMIN_PASSWORD": "pg-admin-password",
    "ADMIN_PASSWORD": "admin-password",
    "IDENTITY_ID": "/subscriptions/0/resourceGroups/registry/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities/registry-identity",
    "IDENTITY_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "PRINCIPAL": "66666666-7777-8888-9999-000000000000",
    "ACCOUNT_SCOPE": "/subscriptions/0/resourceGroups/registry/providers/Microsoft.Storage/storageAccounts/a",
    "ENVIRONMENT_ID": "/subscriptions/0/resourceGroups/registry/providers/Microsoft.App/"
    "managedEnvironments/env",
    "URL": "https://registry.example.com",
}


def text(doc: str) -> str:
    return (ROOT / doc).read_text()


def exports(doc: str) -> dict[str, str]:
    """Every ``export NAME=VALUE`` of the guide, its variables filled in (commands: COMPUTED)."""
    found: dict[str, str] = {}
    for name, value in re.findall(r"^export ([A-Z_]+)=(.*?)(?:\s+#.*)?$", text(doc), re.M):
        found[name] = COMPUTED[name] if "$(" in value else fill(value, found)
    return found


def fill(value: str, variables: dict[str, str]) -> str:
    """``value`` with ``$NAME``, ``${NAME}`` and ``${NAME%%/*}`` replaced; fails on an undefined name."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in variables, f"${name} is used but never exported"
        return variables[name]

    return re.sub(r"\$\{([A-Z_]+)[^}]*\}|\$([A-Z_]+)", one, value)


def heredoc(doc: str, file: str, marker: str) -> str:
    found = re.search(rf"cat > {re.escape(file)} <<'?{marker}'?\n(.*?)\n{marker}\n", text(doc), re.S)
    assert found is not None, f"{doc} writes no {file}"
    return found.group(1)


def table(doc: str, heading: str) -> dict[str, tuple[str, str]]:
    """The settings table: variable -> (setting, value)."""
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \| ([^|]+) \|", section(doc, heading), re.M)
    return {name: (setting.strip(), value.strip()) for name, setting, value in rows}


def load_checked(env: dict[str, str]) -> Any:
    """The registry's config from ``env``; every name a setting; both backends accept it."""
    settings = {key: value for key, value in env.items() if key not in GUNICORN}
    by_variable = {setting.env_var: setting.key for setting in declared_settings().values()}
    assert set(settings) - {"REGISTRY_ADMIN_PASSWORD"} <= set(by_variable), "a name that is no setting"
    config = load_config(environ=settings)
    Backends.from_config(config)  # validates the backends' settings; connects to nothing
    return config


def routes() -> set[str]:
    app = create_app(base_settings(Path("/nonexistent")))
    return {rule.rule for rule in app.url_map.iter_rules()}


# -- AWS ----------------------------------------------------------------------------------------


def aws_service() -> dict[str, Any]:
    service: dict[str, Any] = json.loads(fill(heredoc(AWS, "apprunner-service.json", "JSON"), exports(AWS)))
    return service


def test_the_app_runner_service_is_a_valid_registry_config() -> None:
    image = aws_service()["SourceConfiguration"]["ImageRepository"]["ImageConfiguration"]
    env = image["RuntimeEnvironmentVariables"] | {"REGISTRY_ADMIN_PASSWORD": "from-the-secret"}
    config = load_checked(env)
    assert (config.values["pypi.storage"], config.values["pypi.db"]) == ("s3", "dynamo")
    assert config.get_setting(declared_settings()["storage.prefix"]) == exports(AWS)["PREFIX"]
    assert config.get_setting(declared_settings()["db.namespace"]) + "registry" == exports(AWS)["TABLE"]
    assert set(image["RuntimeEnvironmentSecrets"]) == {"REGISTRY_ADMIN_PASSWORD"}
    assert image["Port"] == "8080"


def test_the_app_runner_settings_table_is_what_the_service_sets() -> None:
    image = aws_service()["SourceConfiguration"]["ImageRepository"]["ImageConfiguration"]
    documented = table(AWS, "### Settings on App Runner")
    env = image["RuntimeEnvironmentVariables"]
    assert set(documented) == set(env) - GUNICORN | set(image["RuntimeEnvironmentSecrets"])
    by_variable = {setting.env_var: setting.key for setting in declared_settings().values()}
    for name, (setting, value) in documented.items():
        if name in env:
            assert (
                setting == f"`{by_variable[name]}`" and fill(value.strip("`"), exports(AWS)) == env[name]
            ), name


def test_the_app_runner_health_check_and_roles() -> None:
    service = aws_service()
    assert service["HealthCheckConfiguration"]["Path"] in routes() and "/health" in routes()
    role = service["InstanceConfiguration"]["InstanceRoleArn"].rpartition("/")[2]
    assert f"put-role-policy --role-name {role} " in text(AWS)
    trust = json.loads(heredoc(AWS, "apprunner-trust.json", "JSON"))
    assert trust["Statement"][0]["Principal"] == {"Service": "tasks.apprunner.amazonaws.com"}
    assert "access" not in json.dumps(service["InstanceConfiguration"]).lower().replace("accessrole", "")


# -- Azure --------------------------------------------------------------------------------------


def azure_app() -> dict[str, Any]:
    app: dict[str, Any] = yaml.safe_load(fill(heredoc(AZURE, "registry-app.yaml", "YAML"), exports(AZURE)))
    return app


def azure_env(app: dict[str, Any]) -> dict[str, str]:
    """The container's variables, secrets resolved to the values the file gives them."""
    secrets = {
        secret["name"]: str(secret["value"]) for secret in app["properties"]["configuration"]["secrets"]
    }
    (container,) = app["properties"]["template"]["containers"]
    return {item["name"]: secrets[item["secretRef"]] if "secretRef" in item else str(item["value"])
            for item in container["env"]}  # fmt: skip


def test_the_container_app_is_a_valid_registry_config() -> None:
    config = load_checked(azure_env(azure_app()))
    assert (config.values["pypi.storage"], config.values["pypi.db"]) == ("azure-blob", "sql")
    url = str(config.get_setting(declared_settings()["db.url"]))
    assert url.startswith("postgresql://registry:db-password@") and url.endswith("?sslmode=require")


def test_the_container_app_signs_in_as_its_identity_and_passes_passwords_as_secrets() -> None:
    app = azure_app()
    (container,) = app["properties"]["template"]["containers"]
    by_name = {item["name"]: item for item in container["env"]}
    for name in ("REGISTRY_DB_URL", "REGISTRY_ADMIN_PASSWORD"):
        assert "secretRef" in by_name[name] and "value" not in by_name[name], name
    assert not {"REGISTRY_STORAGE_STORAGE_ACCOUNT_KEY", "REGISTRY_STORAGE_STORAGE_CONNECTION_STRING"} & set(
        by_name
    )
    assert by_name["REGISTRY_STORAGE_MANAGED_IDENTITY"]["value"] == COMPUTED["IDENTITY_CLIENT_ID"]
    assert set(app["identity"]["userAssignedIdentities"]) == {COMPUTED["IDENTITY_ID"]}
    (registry,) = app["properties"]["configuration"]["registries"]
    assert registry["identity"] == COMPUTED["IDENTITY_ID"]
    container_scope = "$ACCOUNT_SCOPE/blobServices/default/containers/$CONTAINER"
    assert f'--role "Storage Blob Data Contributor" --scope {container_scope}\n' in text(AZURE)
    assert "--allow-shared-key-access false" in text(AZURE)
    documented = table(AZURE, "### Settings on Container Apps")
    assert set(documented) == set(by_name) - GUNICORN
    by_variable = {setting.env_var: setting.key for setting in declared_settings().values()}
    for name, (setting, value) in documented.items():
        if name in by_variable:
            assert setting == f"`{by_variable[name]}`", name
        if "value" in by_name[name]:
            assert fill(value.strip("`"), exports(AZURE)) == str(by_name[name]["value"]), name
        else:
            assert value == f"secret `{by_name[name]['secretRef']}`", name


def test_the_container_app_probes_and_scale() -> None:
    app = azure_app()
    template = app["properties"]["template"]
    (container,) = template["containers"]
    probes = {probe["type"]: probe["httpGet"] for probe in container["probes"]}
    assert probes["Startup"]["path"] == "/health" and probes["Liveness"]["path"] == "/health/live"
    assert {probe["path"] for probe in probes.values()} <= routes()
    assert app["properties"]["configuration"]["ingress"]["targetPort"] == 8080
    env = azure_env(app)
    (rule,) = template["scale"]["rules"]
    assert int(rule["http"]["metadata"]["concurrentRequests"]) == int(env["WEB_CONCURRENCY"]) * int(
        env["GUNICORN_THREADS"]
    )
    pool = int(env["REGISTRY_DB_POOL_SIZE"]) + int(env["REGISTRY_DB_MAX_OVERFLOW"])
    assert template["scale"]["maxReplicas"] * int(env["WEB_CONCURRENCY"]) * pool <= 35  # B1ms: 50


# -- Both ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "pinned"),
    [(AWS, ["requirements-aws.txt"]), (AZURE, ["requirements-azure.txt", "requirements-sql.txt"])],
)
def test_the_derived_image_installs_the_pinned_versions(doc: str, pinned: list[str]) -> None:
    lines = _stdin_dockerfile(doc).replace("\\\n", " ").splitlines()
    assert lines[0] == "FROM registry:base" and lines[-1] == "USER 10001:10001"
    (install,) = [line for line in lines if line.startswith("RUN pip install")]
    wanted = {str(Requirement(line)) for name in pinned for line in text(name).splitlines()
              if line and not line.startswith("#")}  # fmt: skip
    installed = {str(Requirement(word.strip("'"))) for word in install.split()[4:]}
    names = {Requirement(r).name.lower() for r in installed}
    assert installed <= wanted and installed, installed - wanted
    if doc == AZURE:  # everything of requirements-azure.txt; of requirements-sql.txt, PostgreSQL's
        assert names == {"azure-storage-blob", "azure-identity", "sqlalchemy", "psycopg"}


def _stdin_dockerfile(doc: str) -> str:
    found = re.search(r"docker build -t \$IMAGE - <<'DOCKERFILE'\n(.*?)\nDOCKERFILE\n", text(doc), re.S)
    assert found is not None, f"{doc} builds no derived image"
    return found.group(1)


@pytest.mark.parametrize("doc", [AWS, AZURE])
def test_every_setting_the_guide_names_exists(doc: str) -> None:
    named = set(re.findall(r"`((?:pypi|storage|db|auth|log)\.[a-z_]+)", text(doc)))
    variables = set(re.findall(r"\bREGISTRY_[A-Z_]*[A-Z]\b", text(doc))) - {"REGISTRY_ADMIN_PASSWORD"}
    assert named and variables
    assert named <= set(declared_settings()), named - set(declared_settings())
    by_variable = {setting.env_var for setting in declared_settings().values()}
    assert variables <= by_variable, variables - by_variable


def test_the_guides_are_linked_from_backends_md() -> None:
    backends = text("docs/backends.md")
    assert "(deploy-aws.md)" in backends and "(deploy-azure.md)" in backends
