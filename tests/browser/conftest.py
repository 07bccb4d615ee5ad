"""A real browser for the web UI tests: Debian's Chromium, driven by selenium.

``make test`` installs ``chromium`` and ``chromium-driver`` (``make browser``); without them the
tests fail, never skip. Chromium runs headless with the flags this machine needs (no sandbox as
root, no background networking: the network is closed) and a fresh profile per session. Pages
are screenshotted at a phone width and a wide screen into ``<pytest tmp>/screenshots``; the path
is printed at the end of the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
SIZES = {"phone": (390, 844), "wide": (1440, 900)}


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for every browser test (cookies cleared by each test)."""
    missing = [str(path) for path in (CHROMIUM, DRIVER) if not path.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: `make browser` installs chromium and chromium-driver")
    os.environ["SE_AVOID_STATS"] = "true"  # selenium must not phone home
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1440,900")
    service = Service(str(DRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        service.stop()


_SAVED: list[Path] = []


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go (kept as test artefacts; the path is printed at the end)."""
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    _SAVED.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for folder in _SAVED:
        taken = sorted(folder.glob("*.png"))
        if taken:
            terminalreporter.write_line(f"web UI screenshots ({len(taken)}): {folder}")


def shoot(driver: WebDriver, folder: Path, name: str) -> list[Path]:
    """Whole-page screenshots of the current page at a phone width and a wide screen."""
    saved = []
    for label, (width, height) in SIZES.items():
        driver.set_window_size(width, height)
        full = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(width, min(max(height, full + 140), 4000))
        path = folder / f"{name}-{label}.png"
        assert driver.save_screenshot(str(path)), f"no screenshot of {name}"
        saved.append(path)
    driver.set_window_size(*SIZES["wide"])
    return saved
