"""Fixtures of the console's end-to-end tests: a real server process on the test database and a
real headless Chromium (Debian's `chromium` + `chromium-driver`, driven through Selenium;
`make test` installs them when missing). Each test starts signed out with a fresh database; a
screenshot of every page a test names is saved under `test-artifacts/console/` (or
`$MEMORY_TEST_ARTIFACTS`), for people to look at, never committed."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers import running_server

ROOT = Path(__file__).resolve().parents[2]
Shot = Callable[[str], Path]


def _browser() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        message = (
            "the console's browser tests need Debian's chromium and chromium-driver: "
            "`apt-get install chromium chromium-driver` (make test does it when it can)"
        )
        if os.environ.get("MEMORY_BROWSER_TESTS") == "skip":
            pytest.skip(message)
        pytest.fail(message)
    return chromium, driver


@pytest.fixture(scope="package")
def console_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # No rate limit: a browser test makes many requests with one key in a few seconds.
    with running_server(
        database_url, tmp_path_factory.mktemp("console-server"), MEMORY_RATE_LIMIT_PER_MINUTE="0"
    ) as url:
        yield url


@pytest.fixture(scope="package")
def browser_session() -> Iterator[WebDriver]:
    chromium, driver_path = _browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
    except WebDriverException as exc:
        pytest.fail(f"headless Chromium did not start: {exc.msg}")
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(browser_session: WebDriver, console_url: str, clean_db: str) -> Iterator[WebDriver]:
    """The browser, signed out (no cookie of an earlier test), on a freshly truncated database."""
    browser_session.get(console_url + "/console/sign-in")
    browser_session.delete_all_cookies()
    browser_session.get_log("browser")  # drained: page_errors sees this test's pages only
    yield browser_session
    browser_session.delete_all_cookies()


@pytest.fixture(scope="package")
def artifacts() -> Path:
    folder = Path(os.environ.get("MEMORY_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shot(browser: WebDriver, artifacts: Path) -> Shot:
    """Saves a screenshot of the whole current page as `<name>.png`; returns its path."""

    def take(name: str) -> Path:
        path = artifacts / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        height, chrome = browser.execute_script(
            "return [document.documentElement.scrollHeight,"
            " window.outerHeight - window.innerHeight]"
        )
        browser.set_window_size(1280, max(800, min(int(height) + int(chrome) + 20, 8000)))
        browser.save_screenshot(str(path))
        browser.set_window_size(1280, 1000)
        return path

    return take


def sign_in(browser: WebDriver, url: str, key: str) -> None:
    """Signs in through the form, as a person would: type the key, press Enter."""
    browser.get(url + "/console/sign-in")
    field = browser.find_element(By.ID, "key")
    field.send_keys(key)
    field.submit()
    WebDriverWait(browser, 20).until(lambda b: b.current_url.rstrip("/").endswith("/console"))


def page_errors(browser: WebDriver) -> list[str]:
    """The browser console's errors since the last call (CSP violations, script errors)."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
