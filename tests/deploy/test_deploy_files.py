"""The deployment files parse, and agree with each other and with the app.

Dockerfile, .dockerignore, requirements.lock, cloudbuild.yaml, firebase.json, .gcloudignore:
no Docker daemon or cloud is needed, so these are read and checked as text.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex

import pytest
import yaml
from packaging.requirements import Requirement

from registry import create_app
from registry.cache import BACKENDS as CACHES
from registry.cache import cache_class
from registry.config import SETTINGS, Setting, load_config
from registry.storage import BACKENDS as STORAGES
from registry.storage import storage_class
from registry.storage.base import STAGING_PREFIX
from tests.backends import Backends as Services

from .servers import ROOT


def _text(name: str) -> str:
    return (ROOT / name).read_text()


# -- Dockerfile ---------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(x for x in _text("Dockerfile").splitlines() if not x.startswith("#"))
    )
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, rest = line.strip().partition(" ")
            pairs.append((instruction.upper(), " ".join(rest.split())))
    return pairs


def test_dockerfile_base_image_is_python_311_slim() -> None:
    froms = [args for instruction, args in dockerfile() if instruction == "FROM"]
    assert froms and froms[0].split()[0] == "python:3.11-slim"


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [args for instruction, args in dockerfile() if instruction == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert any(f"--uid {user}" in args for instruction, args in dockerfile() if instruction == "RUN")


def test_dockerfile_starts_gunicorn_with_its_config_in_exec_form() -> None:
    cmds = [args for instruction, args in dockerfile() if instruction == "CMD"]
    assert len(cmds) == 1
    # Exec form (JSON): gunicorn is PID 1 and gets SIGTERM itself; no shell in between.
    assert json.loads(cmds[0]) == ["gunicorn", "--config", "gunicorn.conf.py", "main:app"]
    assert not [args for instruction, args in dockerfile() if instruction == "ENTRYPOINT"]


def test_dockerfile_installs_the_hashed_lock_only() -> None:
    runs = [args for instruction, args in dockerfile() if instruction == "RUN"]
    installs = [args for args in runs if "pip install" in args]
    assert installs == ["pip install --no-cache-dir --require-hashes -r requirements.lock"]
    assert not [args for instruction, args in dockerfile() if instruction == "ADD"]


def test_dockerfile_sets_no_secret() -> None:
    for instruction, args in dockerfile():
        if instruction in ("ENV", "ARG"):
            assert not re.search(r"(?i)password|secret|token|credential", args), args


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    allowed = {line[1:].rstrip("/") for line in _text(".dockerignore").splitlines() if line.startswith("!")}
    copied = set()
    for instruction, args in dockerfile():
        if instruction == "COPY":
            copied.update(source.rstrip("/") for source in args.split()[:-1] if not source.startswith("--"))
    assert copied == allowed
    assert _text(".dockerignore").splitlines()[1] == "*"  # everything else stays out


def test_requirements_lock_pins_every_requirement_with_hashes() -> None:
    lock: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", _text("requirements.lock")):
        first = block.splitlines()[0]
        if first.startswith("#") or not first.strip():
            continue
        name, _, version = first.split(" ")[0].partition("==")
        assert version, f"{first} is not pinned"
        assert "--hash=sha256:" in block, f"{name} has no hash"
        lock[name.lower()] = version
    for line in _text("requirements.txt").splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            assert requirement.name.lower() in lock, f"{requirement.name} missing: run `make lock`"
            assert requirement.specifier.contains(lock[requirement.name.lower()]), "run `make lock`"


# -- cloudbuild.yaml ----------------------------------------------------------------------------


def cloudbuild() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(_text("cloudbuild.yaml"))
    return loaded


def step(step_id: str) -> dict[str, object]:
    steps = cloudbuild()["steps"]
    assert isinstance(steps, list)
    found: dict[str, object] = next(s for s in steps if s.get("id") == step_id)
    return found


def deploy_flags() -> dict[str, str]:
    args = step("deploy")["args"]
    assert isinstance(args, list)
    return dict(arg[2:].partition("=")[::2] for arg in args if arg.startswith("--"))


def substitutions() -> dict[str, str]:
    found = cloudbuild()["substitutions"]
    assert isinstance(found, dict)
    return found


def test_cloudbuild_steps_run_in_order() -> None:
    steps = cloudbuild()["steps"]
    assert isinstance(steps, list)
    assert [s["id"] for s in steps] == ["test", "build", "push", "deploy", "hosting"]


def test_cloudbuild_substitutions_are_all_defined_and_used() -> None:
    text = _text("cloudbuild.yaml")
    body = text[text.index("\noptions:") :]
    used = set(re.findall(r"\$\{(_[A-Z0-9_]+)\}", body)) | set(
        re.findall(r"\$\{(_[A-Z0-9_]+)\}", str(substitutions()))
    )
    assert used == set(substitutions())
    assert {"_REGION", "_SERVICE", "_BUCKET"} <= used
    assert cloudbuild()["options"] == {"dynamicSubstitutions": True, "logging": "CLOUD_LOGGING_ONLY"}


def test_cloudbuild_takes_secrets_from_secret_manager_only() -> None:
    flags = deploy_flags()
    assert flags["set-secrets"] == "REGISTRY_ADMIN_PASSWORD=${_ADMIN_PASSWORD_SECRET}:latest"
    env_names = {pair.split("=")[0] for pair in flags["set-env-vars"].split(",")}
    assert not {name for name in env_names if re.search(r"PASSWORD|SECRET|TOKEN|KEY", name)}
    assert not re.search(r"(?i)password\s*[:=]\s*\S", _text("cloudbuild.yaml").replace("PASSWORD=${", ""))


def deploy_env() -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in deploy_flags()["set-env-vars"].split(","))


def resolved(value: str, project: str = "demo-project") -> str:
    """A value with Cloud Build's substitutions replaced by their defaults."""
    value = value.replace("${PROJECT_ID}", project)
    return re.sub(r"\$\{(_[A-Z0-9_]+)\}", lambda m: resolved(substitutions()[m.group(1)], project), value)


def declared_settings() -> dict[str, Setting]:
    """Every setting the core and all backends declare, by key."""
    found = {setting.key: setting for setting in SETTINGS}
    for names, load in ((STORAGES, storage_class), (CACHES, cache_class)):
        for name in names:
            found.update((setting.key, setting) for setting in load(name).settings)
    return found


def test_cloudbuild_environment_is_valid_registry_config() -> None:
    env = deploy_env()
    settings = {key: value for key, value in env.items() if key.startswith("REGISTRY_")}
    by_variable = {setting.env_var: setting.key for setting in declared_settings().values()}
    assert set(settings) <= set(by_variable), "a REGISTRY_* name that is no setting"
    config = load_config(environ={key: resolved(value) for key, value in settings.items()})
    assert config.values["log.format"] == "json"
    assert (config.values["pypi.storage"], config.values["pypi.db"]) == ("gcs", "firestore")
    assert config.values["pypi.public_url"] == "https://demo-project.web.app/"  # the Hosting domain
    Services.from_config(config)  # the backends validate their settings; nothing connects
    assert env["GOOGLE_CLOUD_PROJECT"] == "${PROJECT_ID}" == env["REGISTRY_DB_PROJECT"]


def test_cloud_run_concurrency_matches_gunicorn_workers_times_threads() -> None:
    flags = deploy_flags()
    env = dict(pair.split("=", 1) for pair in flags["set-env-vars"].split(","))
    assert int(flags["concurrency"]) == int(env["WEB_CONCURRENCY"]) * int(env["GUNICORN_THREADS"])
    assert flags["port"] == "8080"


def test_cloud_run_probes_use_the_apps_health_routes() -> None:
    flags = deploy_flags()
    routes = {rule.rule for rule in create_app({"storage.dir": "/nonexistent"}).url_map.iter_rules()}
    startup = dict(item.split("=") for item in flags["startup-probe"].split(","))
    liveness = dict(item.split("=") for item in flags["liveness-probe"].split(","))
    assert startup["httpGet.path"] == "/health" in routes
    assert liveness["httpGet.path"] == "/health/live" in routes


def test_cloudbuild_image_is_built_pushed_and_deployed_with_one_name() -> None:
    build_args = step("build")["args"]
    push_args = step("push")["args"]
    assert isinstance(build_args, list) and isinstance(push_args, list)
    tag = next(arg.split("=", 1)[1] for arg in build_args if arg.startswith("--tag="))
    assert push_args == ["push", tag]
    assert deploy_flags()["image"] == tag
    assert build_args[-1] == "."  # the Dockerfile at the root, as `gcloud run deploy --source .`


def test_cloudbuild_test_step_runs_the_suite_with_the_emulators_but_not_node() -> None:
    test = step("test")
    args = test["args"]
    assert isinstance(args, list) and args[0] == "-c"
    script = [line.strip() for line in args[1].splitlines() if line.strip()]
    # The CI machine's platform (Debian 12) with the runtime image's Python.
    runtime = next(args for instruction, args in dockerfile() if instruction == "FROM").split()[0]
    assert test["name"] == "python:3.11-bookworm" and runtime.startswith("python:3.11-")
    assert script[0] == "set -euo pipefail"
    install = next(line for line in script if "apt-get" in line and "install" in line)
    version = "=${_GCLOUD_VERSION}"
    assert (
        f"google-cloud-cli-firestore-emulator{version}" in install and f"google-cloud-cli{version}" in install
    )
    assert "openjdk-17-jdk" in install  # one of the JDKs the emulator package depends on
    # Not `make pytest`: that installs the Node tools first, and this image has no Node.
    assert script[-2:] == ["make lint typecheck poetry", ".venv/bin/python -m pytest ${_TEST_ARGS}"]
    assert substitutions()["_TEST_ARGS"] == '-m "not hosting"'


def test_cloudbuild_hosting_step_targets_the_deployed_service() -> None:
    script = step("hosting")["args"]
    assert isinstance(script, list)
    assert "'${_SERVICE}' '${_REGION}'" in script[-1]
    assert "firebase deploy --only hosting --project '${PROJECT_ID}'" in script[-1]


# -- firebase.json ------------------------------------------------------------------------------


def firebase() -> dict[str, dict[str, object]]:
    loaded: dict[str, dict[str, object]] = json.loads(_text("firebase.json"))
    return loaded


def test_firebase_rewrites_every_path_to_the_cloudbuild_service() -> None:
    rewrites = firebase()["hosting"]["rewrites"]
    assert rewrites == [
        {
            "source": "**",
            "run": {"serviceId": substitutions()["_SERVICE"], "region": substitutions()["_REGION"]},
        }
    ]
    # Nothing in firebase.json overrides the app's own headers or paths.
    assert set(firebase()["hosting"]) == {"public", "ignore", "rewrites"}


def test_firebase_public_folder_has_nothing_to_shadow_a_route() -> None:
    public = ROOT / str(firebase()["hosting"]["public"])
    assert public.is_dir()
    assert all(path.name.startswith(".") for path in public.rglob("*")), "a static file would hide a route"
    assert firebase()["hosting"]["ignore"] == ["**/.*"]


def test_firebase_emulators_listen_on_loopback_without_ui() -> None:
    emulators = firebase()["emulators"]
    for name in ("hosting", "hub", "logging"):
        entry = emulators[name]
        assert isinstance(entry, dict) and entry["host"] == "127.0.0.1"
    assert emulators["ui"] == {"enabled": False}


def _firebase_glob(pattern: str) -> re.Pattern[str]:
    """Hosting's glob: ``**`` any path, ``*`` one segment."""
    regex = "".join(
        ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
        for part in re.split(r"(\*\*|\*)", pattern)
    )
    return re.compile(regex)


def _sample_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"sample-{m.group(1)}", rule)


@pytest.mark.parametrize(
    "rule", sorted({r.rule for r in create_app({"storage.dir": "/nonexistent"}).url_map.iter_rules()})
)
def test_every_app_route_reaches_the_service_through_hosting(rule: str) -> None:
    path = _sample_path(rule)
    assert not path.startswith("/__/"), "Hosting reserves /__/ for itself"
    matching = [r for r in firebase()["hosting"]["rewrites"] if _firebase_glob(r["source"]).fullmatch(path)]
    assert matching and matching[0]["run"]["serviceId"] == substitutions()["_SERVICE"]


# -- upload set and tools -----------------------------------------------------------------------


def test_gcloudignore_uploads_what_the_build_needs() -> None:
    ignored = [line for line in _text(".gcloudignore").splitlines() if line and not line.startswith("#")]
    assert "#!include:.gitignore" in _text(".gcloudignore")
    for needed in (
        "tests",
        "Dockerfile",
        "cloudbuild.yaml",
        "firebase.json",
        "requirements.lock",
        "Makefile",
    ):
        assert needed not in ignored
    gitignored = _text(".gitignore").splitlines()
    assert "node_modules/" in gitignored and ".venv/" in gitignored


def test_node_tools_are_pinned_and_installed_by_make_test() -> None:
    """The Firebase CLI, and Azurite (Azure Blob emulator; 3.36+ needs Node 21, we have 20)."""
    pins = {"firebase-tools": "15.34.2", "azurite": "3.35.0"}
    package = json.loads(_text("package.json"))
    assert package["devDependencies"] == pins
    lock = json.loads(_text("package-lock.json"))
    for name, version in pins.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    makefile = _text("Makefile")
    assert re.search(r"^pytest: .*node-tools", makefile, re.M)
    assert "npm ci" in makefile


def test_paths_exist() -> None:
    for name in (
        "Dockerfile",
        ".dockerignore",
        "gunicorn.conf.py",
        "main.py",
        "docs/deploy.md",
        "docs/caching.md",
    ):
        assert (ROOT / name).is_file(), name


def test_the_by_hand_deploy_in_the_docs_matches_cloudbuild() -> None:
    """docs/deploy.md's `gcloud run deploy --source .` sets what cloudbuild.yaml sets."""
    text = _text("docs/deploy.md")
    command = text[text.index("gcloud run deploy $SERVICE --source .") :].split("\n\n")[0].split("\nnpx")[0]
    words = shlex.split(command.replace("\\\n", " "))
    documented = dict(word[2:].partition("=")[::2] for word in words if word.startswith("--"))
    built = deploy_flags()
    assert set(documented) - {"source"} == set(built) - {"image"}
    for flag in ("concurrency", "cpu", "memory", "port", "startup-probe", "liveness-probe", "timeout"):
        assert documented[flag] == built[flag], flag
    documented_env = dict(pair.split("=", 1) for pair in documented["set-env-vars"].split(","))
    assert documented_env == {name: as_shell(value) for name, value in deploy_env().items()}


# -- the docs' settings and commands agree with cloudbuild.yaml and the code ----------------------


def as_shell(value: str) -> str:
    """A cloudbuild value as the docs' shell commands write it: ``${_BUCKET}`` is ``$BUCKET``."""
    return re.sub(r"\$\{_?([A-Z0-9_]+)\}", r"$\1", value)


def section(path: str, heading: str) -> str:
    text = _text(path)
    start = text.index(heading + "\n")
    level = heading.split(" ")[0]
    end = re.search(rf"^#{{1,{len(level)}}} ", text[start + len(heading) :], re.M)
    return text[start : start + len(heading) + (end.start() if end else len(text))]


def test_the_settings_table_in_the_docs_is_what_cloudbuild_sets() -> None:
    rows = re.findall(
        r"^\| `([A-Z_]+)` \| ([^|]+) \| ([^|]+) \|",
        section("docs/deploy.md", "### Settings on Cloud Run"),
        re.M,
    )
    table = {name: (setting.strip(), value.strip().strip("`")) for name, setting, value in rows}
    by_variable = {setting.env_var: setting.key for setting in declared_settings().values()}
    env = deploy_env()
    gunicorn = {"WEB_CONCURRENCY", "GUNICORN_THREADS"}  # explained under "What the settings mean"
    assert set(table) - {"REGISTRY_ADMIN_PASSWORD"} == set(env) - gunicorn
    for name, (setting, value) in table.items():
        if name in by_variable:
            assert setting == f"`{by_variable[name]}`", name
        if name in env:
            assert value == as_shell(env[name]), name
    assert deploy_flags()["set-secrets"].startswith("REGISTRY_ADMIN_PASSWORD=")


def test_the_docs_variables_are_cloudbuilds_defaults() -> None:
    """Step 0's ``export NAME=...`` and the ``--substitutions`` of ``gcloud builds submit``."""
    exports = dict(
        shlex.split(line, comments=True)[1].split("=", 1)
        for line in section("docs/deploy.md", "## 0. Tools and names").splitlines()
        if line.startswith("export ")
    )
    shared = {name for name in exports if f"_{name}" in substitutions()}
    assert {"REGION", "SERVICE", "BUCKET", "DATABASE", "PUBLIC_URL"} <= shared
    for name in shared:
        assert exports[name] == as_shell(substitutions()[f"_{name}"]), name
    submit = re.search(r"--substitutions=(\S+)", _text("docs/deploy.md"))
    assert submit is not None
    passed = dict(pair.split("=", 1) for pair in submit.group(1).split(","))
    assert set(passed) <= set(substitutions())
    assert {f"_{name}" for name in shared} <= set(passed)


@pytest.mark.parametrize("doc", ["docs/deploy.md", "docs/google-cloud.md", "docs/caching.md"])
def test_every_setting_the_docs_name_exists(doc: str) -> None:
    named = set(re.findall(r"`((?:pypi|storage|db|auth|log)\.[a-z_]+)", _text(doc)))
    assert named, doc
    assert named <= set(declared_settings()), named - set(declared_settings())


def test_the_google_cloud_example_config_is_valid() -> None:
    example = re.search(r"```ini\n(.*?)```", _text("docs/google-cloud.md"), re.S)
    assert example is not None
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(example.group(1))
    config = load_config(environ={}, overrides=dict(parser["app:main"]))
    assert (config.values["pypi.storage"], config.values["pypi.db"]) == ("gcs", "firestore")
    Services.from_config(config)  # both backends accept their settings


def test_the_lifecycle_rule_removes_abandoned_large_uploads() -> None:
    rule = re.search(r"<<'JSON'\n(.*?)\nJSON\n", _text("docs/deploy.md"), re.S)
    assert rule is not None
    (only,) = json.loads(rule.group(1))["rule"]
    assert only == {"action": {"type": "Delete"}, "condition": {"age": 1, "matchesPrefix": [STAGING_PREFIX]}}


def test_dockerfile_listens_where_cloud_run_sends_traffic() -> None:
    env = " ".join(args for instruction, args in dockerfile() if instruction == "ENV")
    assert "PORT=8080" in env and "HOST=0.0.0.0" in env
    assert ("EXPOSE", "8080") in dockerfile()


def test_the_cloud_run_image_carries_only_what_gcp_needs() -> None:
    """Other clouds' libraries are optional installs, pinned in files of their own, and tested."""
    for image_file in ("requirements.txt", "requirements.lock"):
        text = _text(image_file).lower()
        assert "boto" not in text and "azure" not in text, image_file
    assert re.search(r"^boto3==", _text("requirements-aws.txt"), re.M)
    assert re.search(r"^azure-storage-blob==", _text("requirements-azure.txt"), re.M)
    dev = _text("requirements-dev.txt").splitlines()
    assert "-r requirements-aws.txt" in dev and "-r requirements-azure.txt" in dev
    assert re.search(r"^pytest: .*test-services", _text("Makefile"), re.M)
