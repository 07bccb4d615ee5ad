"""Settings for several upstreams: ``pypi.upstreams`` and ``upstream.<name>.*``, and routing."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from registry.config import load_config, settings_markdown
from registry.config.views import UpstreamSettings
from registry.core.routing import Routes
from registry.errors import ConfigError

SECRET = "s3cret-value"


def upstreams(environ: dict[str, str] | None = None, **overrides: str) -> tuple[UpstreamSettings, ...]:
    raw = {key.replace("__", "."): value for key, value in overrides.items()}
    return load_config(environ=environ or {}, overrides=raw).settings.fallback.upstreams


def test_pypicloud_keys_are_a_list_of_one_named_default() -> None:
    (one,) = upstreams(
        pypi__fallback_url="http://127.0.0.1:9/simple",
        pypi__fallback_username="me",
        pypi__fallback_password=SECRET,
        pypi__fallback_timeout="3",
    )
    assert one == UpstreamSettings("default", "http://127.0.0.1:9/simple/", "me", SECRET, "", 3.0, 300, ())
    assert upstreams() == ()


def test_named_upstreams_keep_their_order_and_inherit_timeouts() -> None:
    found = upstreams(
        **{
            "pypi.upstreams": "Main, torch",
            "pypi.fallback_timeout": "7",
            "upstream.main.url": "http://127.0.0.1:9/simple/",
            "upstream.torch.url": "http://127.0.0.1:10/whl/",
            "upstream.torch.token": SECRET,
            "upstream.torch.timeout": "30",
            "upstream.torch.page_ttl": "60",
            "upstream.torch.projects": "torch Torch_Vision nvidia-*",
        }
    )
    assert [u.name for u in found] == ["main", "torch"]
    assert (found[0].timeout, found[0].page_ttl, found[0].projects) == (7.0, 300, ())
    torch = found[1]
    assert (torch.token, torch.timeout, torch.page_ttl) == (SECRET, 30.0, 60)
    assert torch.projects == ("torch", "torch-vision", "nvidia-*")


def test_upstream_keys_come_from_the_environment_too() -> None:
    environ = {
        "REGISTRY_PYPI_UPSTREAMS": "main my_index",
        "REGISTRY_UPSTREAM_MAIN_URL": "http://127.0.0.1:9/simple/",
        "REGISTRY_UPSTREAM_MY_INDEX_URL": "http://127.0.0.1:10/simple/",
        "REGISTRY_UPSTREAM_MY_INDEX_PAGE_TTL": "5",
        "REGISTRY_UPSTREAM_MY_INDEX_PASSWORD": SECRET,
    }
    main, mine = upstreams(environ)
    assert (mine.name, mine.url, mine.page_ttl, mine.password) == (
        "my_index",
        "http://127.0.0.1:10/simple/",
        5,
        SECRET,
    )
    assert main.url == "http://127.0.0.1:9/simple/"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"pypi.upstreams": "a", "pypi.fallback_url": "http://127.0.0.1:9/"}, "are both set"),
        ({"pypi.upstreams": "a"}, "upstream.a.url is not set"),
        ({"pypi.upstreams": "a b a", "upstream.a.url": "http://x/", "upstream.b.url": "http://y/"}, "twice"),
        ({"pypi.upstreams": "a.b"}, "not a valid upstream name"),
        ({"pypi.upstreams": "a", "upstream.a.url": "http://x/", "upstream.b.url": "http://y/"}, "not listed"),
        (
            {"pypi.upstreams": "a", "upstream.a.url": "http://x/", "upstream.a.urls": "x"},
            "did you mean 'upstream.a.url'",
        ),
        ({"pypi.upstreams": "a", "upstream.a.url": "ftp://x/"}, "upstream.a.url = (hidden) is not valid"),
        ({"pypi.upstreams": "a", "upstream.a.url": "http://x/", "upstream.a.timeout": "soon"}, "'soon'"),
        (
            {"pypi.upstreams": "a", "upstream.a.url": "http://x/", "upstream.a.projects": "a/b"},
            "not a project name",
        ),
        (
            {
                "pypi.upstreams": "a",
                "upstream.a.url": "http://x/",
                "upstream.a.token": SECRET,
                "upstream.a.password": SECRET,
            },
            "either a token or a username and password",
        ),
    ],
)
def test_bad_upstream_settings_stop_start_up_with_a_clear_message(
    settings: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(environ={}, overrides=settings)
    assert expected in raised.value.message
    assert SECRET not in raised.value.message


def test_a_url_with_credentials_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(
            environ={}, overrides={"pypi.upstreams": "a", "upstream.a.url": f"gopher://u:{SECRET}@x/"}
        )
    assert SECRET not in raised.value.message


def test_the_docs_list_the_upstream_keys() -> None:
    page = settings_markdown()
    for key in ("pypi.upstreams", "upstream.<name>.url", "upstream.<name>.projects", "upstream.<name>.token"):
        assert f"| `{key}` |" in page
    assert "`REGISTRY_UPSTREAM_<NAME>_URL`" in page


def test_routing_sends_claimed_names_to_their_upstreams_only() -> None:
    routes = Routes(
        (
            UpstreamSettings("pypi", "http://a/"),
            UpstreamSettings("torch", "http://b/", projects=("torch", "nvidia-*")),
            UpstreamSettings("mirror", "http://c/", projects=("nvidia-*",)),
            UpstreamSettings("partner", "http://d/"),
        )
    )
    name = canonicalize_name
    assert routes.allowed(name("NVIDIA_cublas")) == ("torch", "mirror")
    assert routes.allowed(name("torch")) == ("torch",)
    assert routes.allowed(name("torchvision")) == ("pypi", "partner")
    assert routes.owner_of("http://d/files/x.whl") == "partner"
    assert routes.owner_of("http://elsewhere/x.whl") == "pypi"
