"""bench/console_pages.py reads console pages the way it must to find them all: links with
their rel, GET forms with their fields and options, row headers, the sign-in token; and it
names a page by its shape (ids and query values left out)."""

from __future__ import annotations

from bench.console_pages import TIMING, Target, parse, report, shape

PAGE = """<html><body>
<nav><a href="/console">Overview</a><a href="/console/audit">Audit</a></nav>
<form method="post" action="/console/sign-in"><input type="hidden" name="csrf" value="tok"></form>
<form class="filters" method="get" action="/console/audit">
  <input name="action" value=""><select name="key"><option value="">any</option>
  <option value="k1">k1</option></select><input name="q">
</form>
<table><tr><th scope="row">github.com/acme/widgets</th></tr></table>
<a href="/console/learnings/01a24897-b60a-7c34-87de-b8a94b45e7aa">one</a>
<a href="/console/audit?before=123&amp;action=x" rel="next">Older</a>
</body></html>"""


def test_parse_finds_links_forms_rows_and_the_token() -> None:
    page = parse(PAGE)
    assert page.csrf == "tok"
    assert ("/console/audit?before=123&action=x", "next") in page.links
    assert page.row_headers == ["github.com/acme/widgets"]
    (form,) = page.forms
    assert form["action"] == "/console/audit"
    assert set(form["fields"]) == {"action", "key", "q"}
    assert form["options"]["key"] == ["k1"]


def test_shape_names_a_page_without_its_ids_or_values() -> None:
    assert shape("/console/learnings/01a24897-b60a-7c34-87de-b8a94b45e7aa") == (
        "/console/learnings/{id}"
    )
    assert shape("/console/handoffs/42") == "/console/handoffs/{id}"
    assert shape("/console/audit?before=9&action=x") == "/console/audit?action&before"
    assert shape("/console/search") == "/console/search"


def test_report_flags_pages_over_budget_or_not_200() -> None:
    assert TIMING.search("app;dur=12.5").group(1) == "12.5"  # type: ignore[union-attr]
    fast = Target("/console", "/console", timings=[5.0] * 10, statuses={200: 10})
    slow = Target("/console/search", "/console/search?q=x", timings=[400.0] * 10,
                  statuses={200: 10})  # fmt: skip
    missing = Target("/console/x", "/console/x", timings=[1.0], statuses={404: 1})
    table, rows = report([fast, slow, missing], 300.0)
    assert [r["over_budget"] for r in rows] == [False, True, False]
    assert "OVER BUDGET" in table.splitlines()[3] and "NOT 200" in table.splitlines()[4]
