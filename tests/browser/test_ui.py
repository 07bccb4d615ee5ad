"""The web UI in a real browser (headless Chromium) against a live gunicorn server.

Each test starts from a clean cookie jar on the shared server (both backend pairs), adds its own
projects, and acts as a person would: follows links, fills forms, presses buttons. Screenshots
of the main pages (phone and wide) are saved for the local backend pair.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from packaging.utils import canonicalize_name
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import post_upload
from tests.distributions import Dist, wheel_bytes
from tests.server import ADMIN, ALICE, RegistryServer
from tests.ui_helpers import eventually, readme_dist, upload

from .conftest import shoot

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser: WebDriver, server: RegistryServer) -> WebDriver:
    """The browser, signed out (no cookies for the server)."""
    browser.get(server.url + "health/live")
    browser.delete_all_cookies()
    return browser


@pytest.fixture
def shots(request: pytest.FixtureRequest, screenshots: Path) -> Callable[[WebDriver, str], None]:
    """Screenshot the current page (local backends only: the pages are the same on both)."""
    local = "local" in request.node.name

    def take(driver: WebDriver, name: str) -> None:
        if local:
            shoot(driver, screenshots, name)

    return take


def follow(driver: WebDriver, element: WebElement) -> None:
    """Click a link or button and wait until the next page has loaded completely."""
    driver.execute_script("document.previousPage = true")  # marks this document, not the next

    def next_page_loaded(current: WebDriver) -> bool:
        try:
            return bool(
                current.execute_script("return !document.previousPage && document.readyState === 'complete'")
            )
        except WebDriverException:  # between two documents
            return False

    element.click()
    WebDriverWait(driver, 30).until(next_page_loaded)


def sign_in(driver: WebDriver, base: str, user: tuple[str, str], path: str = "account/login/") -> None:
    if path:
        driver.get(base + path)
    for field, value in (("username", user[0]), ("password", user[1])):
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    follow(driver, driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]"))


def no_script_ran(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return typeof window.__xss === 'undefined'"))


def test_browse_from_home_to_a_project_and_read_its_readme(
    page: WebDriver, server: RegistryServer, unique_name: str, shots: Callable[[WebDriver, str], None]
) -> None:
    dist = readme_dist(unique_name.replace("-", "_").title(), summary="Reads and renders a demo README")
    upload(server, dist)
    page.get(server.url)
    shots(page, "home")
    follow(page, page.find_element(By.LINK_TEXT, dist.name))
    project = canonicalize_name(dist.name)
    assert page.current_url == f"{server.url}project/{project}/"
    assert page.find_element(By.TAG_NAME, "h1").text == f"{dist.name} 1.0"
    readme = page.find_element(By.CSS_SELECTOR, ".readme-body")
    assert readme.find_element(By.TAG_NAME, "h1").text == "Getting started"
    assert "print(readme_demo.VERSION)" in readme.find_element(By.TAG_NAME, "pre").text
    link = readme.find_element(By.LINK_TEXT, "the guide")
    assert link.get_attribute("href") == "https://example.invalid/guide"
    install = page.find_element(By.ID, "install-line").text
    assert install == f"pip install --index-url {server.url}simple/ {project}==1.0"
    files = [cell.text for cell in page.find_elements(By.CSS_SELECTOR, "table.files td.filename a")]
    assert files == [dist.wheel_name, dist.sdist_name]
    shots(page, "project")


def test_search_finds_names_in_any_spelling_summaries_and_keywords(
    page: WebDriver, server: RegistryServer, unique_name: str, shots: Callable[[WebDriver, str], None]
) -> None:
    word = unique_name.replace("-", "")
    dist = readme_dist(f"Finder_{word}", summary=f"Frobnicates {word}x widgets", keywords=f"kw{word},other")
    upload(server, dist, sdist=False)
    page.get(server.url)
    box = page.find_element(By.ID, "home-q")
    box.send_keys(f"finder.{word.upper()}")
    follow(page, page.find_element(By.CSS_SELECTOR, ".big-search button"))
    names = [a.text for a in page.find_elements(By.CSS_SELECTOR, "ul.projects a.name")]
    assert names[0] == dist.name
    shots(page, "search")
    for query in (f"{word}x", f"kw{word}", word[3:12]):
        page.get(f"{server.url}search/?q={query}")
        assert dist.name in [a.text for a in page.find_elements(By.CSS_SELECTOR, "ul.projects a.name")], query
    page.get(f"{server.url}search/?q=no-such-thing-{word}")
    assert page.find_elements(By.CSS_SELECTOR, "ul.projects a.name") == []


PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def test_html_in_metadata_and_filenames_is_shown_as_text_and_never_runs(
    page: WebDriver, server: RegistryServer, unique_name: str
) -> None:
    description = f"# Hello\n\n{PAYLOAD}\n\n[click](javascript:window.__xss=3)\n"
    dist = readme_dist(
        unique_name, summary=PAYLOAD, keywords=PAYLOAD.replace(",", ""), description=description
    )
    upload(server, dist)
    # A filename cannot carry HTML any more: such wheel tags are refused at upload (issue 12).
    odd = f"{dist.module}-1.0-py3-none-<img src=x onerror=__xss=4>.whl"
    answer = post_upload(server, wheel_bytes(dist), odd, dist.name, "1.0")
    assert answer.status_code == 400 and "'<' is not allowed" in answer.text, answer.text
    project = canonicalize_name(dist.name)
    for path in (f"project/{project}/", f"project/{project}/1.0/", f"search/?q={project}", ""):
        page.get(server.url + path)
        assert no_script_ran(page), path
        assert PAYLOAD in page.find_element(By.CSS_SELECTOR, ".summary").text, path
    page.get(f"{server.url}project/{project}/")
    shown = [a.text for a in page.find_elements(By.CSS_SELECTOR, "table.files td.filename a")]
    assert dist.wheel_name in shown and odd not in shown
    readme = page.find_element(By.CSS_SELECTOR, ".readme-body")
    assert readme.find_elements(By.TAG_NAME, "script") == []
    assert all(
        not (a.get_attribute("href") or "").startswith("javascript")
        for a in readme.find_elements(By.TAG_NAME, "a")
    )
    readme.find_element(By.LINK_TEXT, "click").click()
    assert no_script_ran(page)


def test_sign_in_and_out(
    page: WebDriver, server: RegistryServer, shots: Callable[[WebDriver, str], None]
) -> None:
    page.get(server.url + "account/login/")
    shots(page, "login")
    sign_in(page, server.url, (ALICE[0], "not-her-password"), path="")
    assert "Invalid username or password" in page.find_element(By.CSS_SELECTOR, "p.error").text
    sign_in(page, server.url, ALICE, path="")
    assert page.current_url == server.url
    assert "Signed in as alice" in page.find_element(By.CSS_SELECTOR, "nav.account").text
    cookie = page.get_cookie("__session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    follow(page, page.find_element(By.XPATH, "//nav//button[text()='Sign out']"))
    assert page.find_element(By.CSS_SELECTOR, "nav.account").text == "Sign in"
    page.get(server.url + "account/tokens/")
    assert page.current_url.startswith(server.url + "account/login/")


def test_create_and_revoke_an_api_token(
    page: WebDriver, server: RegistryServer, unique_name: str, shots: Callable[[WebDriver, str], None]
) -> None:
    dist = Dist(unique_name, "1.0")
    upload(server, dist, sdist=False)
    sign_in(page, server.url, ALICE)
    page.get(server.url + "account/tokens/")
    page.find_element(By.ID, "description").send_keys(f"browser test {unique_name}")
    page.find_element(By.CSS_SELECTOR, "input[name=permission][value=upload]").click()
    follow(page, page.find_element(By.XPATH, "//button[text()='Create token']"))
    secret = page.find_element(By.ID, "new-token").get_attribute("value") or ""
    assert secret.startswith("pyreg_")
    shots(page, "tokens")
    url = f"{server.url}simple/{dist.name}/"
    assert requests.get(url, auth=("__token__", secret), timeout=30).status_code == 200
    token_id = secret.split("_")[1]
    row = page.find_element(By.XPATH, f"//tr[td/code[text()='{token_id}']]")
    follow(page, row.find_element(By.XPATH, ".//button[text()='Revoke']"))
    assert f"Token {token_id} revoked" in page.find_element(By.CSS_SELECTOR, ".flash").text
    assert page.find_elements(By.XPATH, f"//td/code[text()='{token_id}']") == []
    assert eventually(lambda: requests.get(url, auth=("__token__", secret), timeout=30).status_code == 401)


def test_an_admin_yanks_a_release_and_the_page_shows_it(
    page: WebDriver, server: RegistryServer, unique_name: str, shots: Callable[[WebDriver, str], None]
) -> None:
    for version in ("1.0", "2.0"):
        upload(server, readme_dist(unique_name, version), sdist=False)
    sign_in(page, server.url, ADMIN)
    page.get(f"{server.url}project/{unique_name}/2.0/")
    follow(page, page.find_element(By.LINK_TEXT, "Manage this project"))
    shots(page, "manage")
    follow(page, page.find_element(By.LINK_TEXT, "Yank release 2.0"))
    page.find_element(By.ID, "reason").send_keys("broken <build>")
    shots(page, "confirm")
    follow(page, page.find_element(By.XPATH, "//button[text()='Yes, yank']"))
    assert page.current_url == f"{server.url}project/{unique_name}/2.0/"
    assert "Reason: broken <build>" in page.find_element(By.CSS_SELECTOR, ".warning").text
    assert "Yanked release 2.0" in page.find_element(By.CSS_SELECTOR, ".flash").text
    anonymous = requests.get(f"{server.url}project/{unique_name}/", timeout=30).text
    assert '<span class="version">1.0</span>' in anonymous  # the latest is no longer 2.0
    assert (
        'data-yanked="broken &lt;build&gt;"'
        in requests.get(f"{server.url}simple/{unique_name}/", timeout=30).text
    )
    page.get(server.url + "admin/")
    assert page.find_element(By.CSS_SELECTOR, "figure.chart svg rect.uploaded")
    shots(page, "admin-overview")


def test_private_mode_asks_for_sign_in_and_shows_nothing_before(
    browser: WebDriver,
    make_server: Callable[..., RegistryServer],
    unique_name: str,
    shots: Callable[[WebDriver, str], None],
) -> None:
    private = make_server(**{"pypi.default_read": "authenticated"})
    unique_name = canonicalize_name(unique_name)
    upload(private, readme_dist(unique_name), sdist=False)
    browser.get(private.url + "health/live")
    browser.delete_all_cookies()
    for path in ("", f"project/{unique_name}/", f"search/?q={unique_name}", "admin/"):
        browser.get(private.url + path)
        assert browser.current_url.startswith(private.url + "account/login/?next="), path
        assert unique_name not in browser.find_element(By.TAG_NAME, "body").text, path
        if unique_name not in path:  # only the address the person typed may carry the name
            assert unique_name not in browser.page_source, path
    shots(browser, "private-sign-in")
    browser.get(f"{private.url}project/{unique_name}/")
    sign_in(browser, private.url, ALICE, path="")
    assert browser.current_url == f"{private.url}project/{unique_name}/"
    assert browser.find_element(By.TAG_NAME, "h1").text == f"{unique_name} 1.0"
