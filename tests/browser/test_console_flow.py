"""The console in a real browser: sign in, look around, sign out."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Shot, page_errors, sign_in
from tests.helpers import MakeKey


async def test_sign_in_overview_and_sign_out(
    browser: WebDriver, console_url: str, make_key: MakeKey, shot: Shot
) -> None:
    key = await make_key(scopes="read,write,admin")
    browser.get(console_url + "/console")
    assert browser.current_url.endswith("/console/sign-in")
    shot("sign-in")
    sign_in(browser, console_url, key)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"
    # The key is nowhere the page or its scripts could reach.
    assert key not in browser.page_source
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly
    assert browser.execute_script("return localStorage.length + sessionStorage.length") == 0
    assert page_errors(browser) == []
    shot("overview")
    # Keyboard: Tab from the top reaches the skip link first, then the navigation.
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "Skip to content"
    browser.find_element(By.CSS_SELECTOR, ".who button").click()
    WebDriverWait(browser, 20).until(lambda b: b.current_url.endswith("/console/sign-in"))
    browser.get(console_url + "/console")
    assert browser.current_url.endswith("/console/sign-in")


async def test_a_wrong_key_is_refused_without_echo(
    browser: WebDriver, console_url: str, make_key: MakeKey
) -> None:
    key = await make_key()
    browser.get(console_url + "/console/sign-in")
    field = browser.find_element(By.ID, "key")
    field.send_keys(key[:-3] + "zzz")
    field.submit()
    error = WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "signin-error"))
    assert "unknown or revoked" in error[0].text
    assert key[:-3] not in browser.page_source
