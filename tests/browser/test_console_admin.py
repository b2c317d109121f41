"""The admin pages in a real browser: the audit trail, a key created in the form and shown
once, revoked with a confirmation; and another team's admin, signed in, sees none of the first
team's data on the overview, audit or keys page."""

from __future__ import annotations

import re

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Shot, page_errors, sign_in
from tests.helpers import MakeKey, auth

SECRET_PROJECT = "github.com/alpha/orchid-project"
SECRET_WORD = "zirconium"


def _write(url: str, key: str, project: str, word: str) -> None:
    body = f"## Decisions\n- Keep the {word} cache warm for five minutes.\n"
    response = httpx.post(
        url + "/v1/handoffs",
        json={"project": project, "recipient": "tree", "body": body},
        headers=auth(key),
        timeout=60,
    )
    assert response.status_code == 201, response.text


def _listing_status(url: str, key: str) -> int:
    response = httpx.get(
        url + "/v1/handoffs", params={"project": SECRET_PROJECT}, headers=auth(key), timeout=60
    )
    return response.status_code


async def test_audit_and_a_key_shown_once_then_revoked(
    browser: WebDriver, console_url: str, make_key: MakeKey, shot: Shot
) -> None:
    admin = await make_key(scopes="read,write,admin")
    _write(console_url, admin, SECRET_PROJECT, SECRET_WORD)
    sign_in(browser, console_url, admin)

    browser.find_element(By.LINK_TEXT, "Audit").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Audit trail"
    actions = [
        td.text for td in browser.find_elements(By.CSS_SELECTOR, "table.audit td:nth-child(2)")
    ]
    assert actions[:2] == ["console.sign_in", "handoff.create"]
    shot("audit")
    # Filter by action, with the keyboard: type and press Enter in the field.
    field = browser.find_element(By.ID, "f-action")
    field.send_keys("handoff\n")
    WebDriverWait(browser, 10).until(lambda b: "action=handoff" in b.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "table.audit tbody tr")
    assert len(rows) == 1 and "handoff.create" in rows[0].text
    assert page_errors(browser) == []

    browser.find_element(By.LINK_TEXT, "Keys").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "API keys"
    browser.find_element(By.ID, "k-name").send_keys("ci bot")
    browser.find_element(By.CSS_SELECTOR, "input[name=scopes][value=write]").click()
    browser.find_element(By.ID, "k-projects").send_keys(SECRET_PROJECT)
    browser.find_element(By.CSS_SELECTOR, "form.new-key button[type=submit]").click()
    WebDriverWait(browser, 10).until(
        expected_conditions.presence_of_element_located((By.ID, "new-key"))
    )
    new = browser.find_element(By.ID, "new-key").text
    assert re.fullmatch(r"mem_[A-Za-z0-9]+_[A-Za-z0-9_-]+", new)
    copy = browser.find_element(By.CSS_SELECTOR, "button[data-copy]")
    assert copy.is_displayed()  # console.js shows it; without JS it stays hidden
    assert new not in browser.current_url
    assert browser.execute_script("return localStorage.length + sessionStorage.length") == 0
    shot("keys")
    # The key works, with what the form asked for.
    assert _listing_status(console_url, new) == 200

    # Back on the list (a new GET, not the POST again): the key itself is nowhere.
    browser.get(console_url + "/console/keys")
    assert new not in browser.page_source
    prefix = new.split("_")[1]
    row = browser.find_element(By.XPATH, f"//tr[th/code[text()='{prefix}']]")
    assert "ci bot" in row.text and "active" in row.text
    shot("keys-list")
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    confirm = WebDriverWait(browser, 10).until(expected_conditions.alert_is_present())
    assert prefix in confirm.text
    confirm.accept()
    WebDriverWait(browser, 10).until(
        lambda b: "revoked" in b.find_element(By.XPATH, f"//tr[th/code[text()='{prefix}']]").text
    )
    assert _listing_status(console_url, new) == 401
    browser.get(console_url + "/console/audit")
    assert new not in browser.page_source
    assert "key.revoke" in browser.page_source and "key.create" in browser.page_source
    assert page_errors(browser) == []

    # Revoking the key this session acts as ends the session: the next page says so.
    browser.get(console_url + "/console/keys")
    own = browser.find_element(By.XPATH, "//tr[th/span[text()='this session']]")
    own.find_element(By.CSS_SELECTOR, "button.danger").click()
    confirm = WebDriverWait(browser, 10).until(expected_conditions.alert_is_present())
    assert "this session ends" in confirm.text
    confirm.accept()
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.TAG_NAME, "h1").text.startswith("401")
    )
    assert "revoked" in browser.find_element(By.CSS_SELECTOR, ".error").text
    # The browser logs the 401 itself as a failed load; nothing else went wrong.
    assert all("status of 401" in error for error in page_errors(browser))
    browser.get(console_url + "/console/keys")
    assert browser.current_url.endswith("/console/sign-in")


async def test_another_teams_admin_sees_none_of_the_first_teams_data(
    browser: WebDriver, console_url: str, make_key: MakeKey, shot: Shot
) -> None:
    alpha = await make_key(team="alpha", scopes="read,write,admin")
    beta = await make_key(team="beta", scopes="read,write,admin")
    _write(console_url, alpha, SECRET_PROJECT, SECRET_WORD)
    _write(console_url, beta, "github.com/beta/heron-project", "lanthanum")
    alpha_prefix = alpha.split("_")[1]
    sign_in(browser, console_url, beta)
    for path in ("/console", "/console/audit", "/console/keys"):
        browser.get(console_url + path)
        source = browser.page_source
        assert "orchid-project" not in source, path
        assert SECRET_WORD not in source, path
        assert alpha_prefix not in source, path
    assert "heron-project" in browser.execute_script("return fetch('/console').then(r => r.text())")
    shot("keys-other-team")
    assert page_errors(browser) == []
