"""The overview, search and learning pages in a real browser: look at the overview with data,
search, open a result, forget it (through the confirm dialog) and see it gone; and learning
text that tries to run script runs nothing, on the learning page and in search results."""

from __future__ import annotations

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Shot, page_errors, sign_in
from tests.helpers import MakeKey, auth

WIDGETS = "github.com/acme/widgets"
GADGETS = "github.com/acme/gadgets"
MISTAKE = "Never run the database migrations against production by hand; use the deploy job."
HANDOFFS = [
    (
        WIDGETS,
        "widgets-main",
        f"## What NOT to do\n- {MISTAKE}\n- Do not bump the ORM past 2.0 before the audit.\n\n"
        "## Decisions\n- We chose PostgreSQL advisory locks over Redis for the scheduler.\n\n"
        "## Patterns\n- Wrap every scheduler job in one transaction.\n\n"
        "## Next steps\n- Add a dashboard for the scheduler queue depth.\n",
    ),
    (
        GADGETS,
        "gadgets-dev",
        f"## Mistakes to avoid\n- {MISTAKE}\n\n## Findings\n- The firmware build needs the ARM "
        "toolchain pinned to version 12.\n\n## Assumptions\n- Devices stay on firmware 3.x.\n",
    ),
    (WIDGETS, "widgets-main", f"## Gotchas\n- {MISTAKE}\n\n## Done\n- Locks shipped.\n"),
]


async def _write(url: str, key: str, project: str, recipient: str, body: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        response = await client.post(
            "/v1/handoffs",
            json={"project": project, "recipient": recipient, "body": body},
            headers=auth(key),
        )
        assert response.status_code == 201, response.text[:500]


def _search(browser: WebDriver, url: str, query: str) -> None:
    browser.get(url + "/console/search")
    field = browser.find_element(By.NAME, "q")
    field.send_keys(query)
    field.send_keys(Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda b: "/console/search?" in b.current_url)


async def test_overview_search_open_and_forget(
    browser: WebDriver, console_url: str, make_key: MakeKey, shot: Shot
) -> None:
    key = await make_key(scopes="read,write,admin")
    for project, recipient, body in HANDOFFS:
        await _write(console_url, key, project, recipient, body)
    sign_in(browser, console_url, key)
    chart = browser.find_element(By.CSS_SELECTOR, "figure.chart svg[role=img]")
    assert chart.find_elements(By.TAG_NAME, "rect")  # bars drawn
    mistakes = browser.find_element(By.CSS_SELECTOR, "#mistakes-h + table").text
    assert MISTAKE[:40] in mistakes and f"{GADGETS}, {WIDGETS}" in mistakes
    waiting = browser.find_element(By.CSS_SELECTOR, "#waiting-h + table")
    assert (
        waiting.find_element(By.LINK_TEXT, "gadgets-dev")
        .get_attribute("href")
        .endswith(
            "/console/handoffs?project=github.com%2Facme%2Fgadgets&recipient=gadgets-dev&status=unread"
        )
    )
    assert page_errors(browser) == []
    shot("overview")

    _search(browser, console_url, "ARM toolchain firmware")
    results = browser.find_elements(By.CSS_SELECTOR, "ol.results li.result")
    assert results and "toolchain pinned" in results[0].text
    assert page_errors(browser) == []
    shot("search")

    results[0].find_element(By.CSS_SELECTOR, ".result-head a").click()
    WebDriverWait(browser, 20).until(lambda b: "/console/learnings/" in b.current_url)
    learning_url = browser.current_url
    assert "toolchain pinned" in browser.find_element(By.CSS_SELECTOR, ".learning-text").text
    assert "gadgets-dev" in browser.find_element(By.ID, "prov-h").find_element(By.XPATH, "..").text
    assert page_errors(browser) == []
    shot("learning")

    # Forget, through the confirm dialog the page's script puts before it.
    browser.find_element(By.CSS_SELECTOR, "form[data-confirm] button.danger").click()
    WebDriverWait(browser, 10).until(expected_conditions.alert_is_present())
    browser.switch_to.alert.accept()
    WebDriverWait(browser, 20).until(lambda b: "/console/forgotten" in b.current_url)
    assert "forgotten" in browser.find_element(By.TAG_NAME, "main").text
    browser.get(learning_url)
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("404")
    _search(browser, console_url, "ARM toolchain firmware")
    assert "toolchain pinned" not in browser.find_element(By.TAG_NAME, "main").text


XSS = (
    "- Escaping matters: <script>window.__xss=1</script> and "
    '[click me](javascript:window.__xss=2) and <img src=x onerror="window.__xss=3"> and '
    '[entity](jav&#x61;script:window.__xss=4) and <a href="javascript:window.__xss=5">raw</a> '
    "and [a plain link](#main)\n"
)


async def test_learning_text_runs_nothing(
    browser: WebDriver, console_url: str, make_key: MakeKey, shot: Shot
) -> None:
    key = await make_key(scopes="read,write")
    await _write(console_url, key, WIDGETS, "widgets-main", "## Gotchas\n" + XSS)
    sign_in(browser, console_url, key)
    _search(browser, console_url, "escaping matters click me entity raw")
    result = browser.find_element(By.CSS_SELECTOR, "ol.results li.result")
    assert "<script>window.__xss=1</script>" in result.text  # shown as text, inert
    links = result.find_elements(By.CSS_SELECTOR, ".markdown a")
    assert [link.text for link in links] == ["a plain link"]
    for link in links:
        link.click()
    assert browser.execute_script("return window.__xss") is None
    browser.get(console_url + "/console/search?q=escaping+matters+click+me")
    browser.find_element(By.CSS_SELECTOR, "ol.results li.result .result-head a").click()
    WebDriverWait(browser, 20).until(lambda b: "/console/learnings/" in b.current_url)
    learning_url = browser.current_url
    text = browser.find_element(By.CSS_SELECTOR, ".learning-text")
    assert "window.__xss=1" in text.text
    # The javascript: links are not links at all: their markdown is shown as text.
    assert "[click me](javascript:window.__xss=2)" in text.text
    assert not text.find_elements(By.TAG_NAME, "img")
    assert not text.find_elements(By.TAG_NAME, "script")
    links = text.find_elements(By.TAG_NAME, "a")
    assert [link.text for link in links] == ["a plain link"]
    for link in links:
        href = link.get_attribute("href") or ""
        assert not href.lower().startswith("javascript"), href
        link.click()
        if browser.current_url != learning_url:
            browser.get(learning_url)
    assert browser.execute_script("return window.__xss") is None
    shot("learning-xss")

    # Another team's key: the same URL is a 404 page showing nothing of it.
    browser.delete_all_cookies()
    sign_in(browser, console_url, await make_key(team="beta", scopes="read,write,admin"))
    browser.get(learning_url)
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("404")
    assert "__xss" not in browser.page_source
