"""Server time of every web console page: signs in through the form like a person (httpx),
finds the pages from the navigation bar and the links on them (a learning, a handoff, page 2
of each list, each list's filter form filled in, a search with a query), then GETs each page N
times and reports the p50/p95 of the `Server-Timing: app;dur=` header the console adds to
every response (the service's own time, network and browser excluded). Pages whose p95 is
over the budget (300 ms, issue 19) are flagged.

    # against a running server
    python bench/console_pages.py --url http://127.0.0.1:8765 --key "$(cat .../admin_key)"
    # on a data folder kept by the suite (python bench/run.py --keep): starts a server on it
    python bench/console_pages.py --data-dir /tmp/memory-bench-XXXX/data
    # a fresh data folder with N synthetic handoffs (bench/corpus.py) written first
    python bench/console_pages.py --handoffs 40

Results: a markdown table on stdout, JSON with --out.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

if __package__ in (None, ""):
    # `python bench/console_pages.py`: make the repository root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.corpus import Corpus
from bench.server import ServerProcess
from memory_service.evaluation import percentile

BUDGET_MS = 300.0
TIMING = re.compile(r"app;dur=([0-9.]+)")
# Path segments that name one row: a UUID, a long hex id, a number.
_ID = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{8,32}|\d+)$"
)
_SKIP = ("/console/static/", "/console/sign-in", "/console/sign-out")
# The text field of a filter or search form that takes a query.
_QUERY_FIELDS = ("q", "query", "text")
REQUEST_TIMEOUT_S = 120.0


class _Page(HTMLParser):
    """The links of a console page, its GET forms (their fields and select options), the
    project slugs of its row headers and the sign-in form's token."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (href, rel)
        self.forms: list[dict[str, Any]] = []
        self.csrf = ""
        self.row_headers: list[str] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._row_header = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith("/console"):
            self.links.append((a["href"], a.get("rel", "")))
        elif tag == "form" and a.get("method", "get").lower() == "get":
            self._form = {"action": a.get("action", ""), "fields": {}, "options": {}}
        elif tag in ("input", "textarea") and a.get("name") == "csrf":
            self.csrf = a.get("value", "")
        elif self._form is not None and tag in ("input", "select", "textarea") and a.get("name"):
            self._form["fields"].setdefault(a["name"], a.get("type", tag))
            if tag == "select":
                self._select = a["name"]
        elif tag == "option" and self._form is not None and self._select and a.get("value"):
            self._form["options"].setdefault(self._select, []).append(a["value"])
        elif tag == "th" and a.get("scope") == "row":
            self._row_header = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "th":
            self._row_header = False

    def handle_data(self, data: str) -> None:
        if self._row_header and data.strip():
            self.row_headers.append(data.strip())


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def shape(href: str) -> str:
    """A page's name: its path with ids replaced, plus which query parameters it has."""
    parts = urlsplit(href)
    path = "/".join("{id}" if _ID.match(seg) else seg for seg in parts.path.split("/"))
    names = sorted({k for k, _ in parse_qsl(parts.query)})
    return path + (f"?{'&'.join(names)}" if names else "")


@dataclass
class Target:
    name: str
    url: str
    timings: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def sign_in(client: httpx.Client, key: str) -> None:
    form = client.get("/console/sign-in")
    form.raise_for_status()
    done = client.post("/console/sign-in", data={"key": key, "csrf": parse(form.text).csrf})
    if done.status_code != 303:
        raise SystemExit(f"sign-in refused ({done.status_code}): is the key right?")


def discover(client: httpx.Client, query: str, project: str | None) -> list[Target]:
    """Every page reachable from the navigation: the page, its page 2, its filter form filled
    in, and one page of each kind it links to (a learning, a handoff)."""
    overview = client.get("/console")
    overview.raise_for_status()
    first = parse(overview.text)
    slug = project or next((h for h in first.row_headers if "/" in h), None)
    found: dict[str, str] = {"/console": "/console"}
    nav = [href for href, _ in first.links if "?" not in href and not href.startswith(_SKIP)]
    for href in dict.fromkeys(nav):
        found.setdefault(shape(href), href)
    for href in list(dict.fromkeys(nav)):
        response = client.get(href)
        if response.status_code != 200:
            continue
        page = parse(response.text)
        for link, rel in page.links:
            if link.startswith(_SKIP):
                continue
            name = shape(link) + (" (next page)" if rel == "next" else "")
            # One page of each kind: a row's page, page 2, a link filtered one way.
            if rel == "next" or "{id}" in name:
                found.setdefault(name, link)
        for form in page.forms:
            action = form["action"] or href
            fields: dict[str, str] = {}
            for name in form["fields"]:
                if name in _QUERY_FIELDS:
                    fields[name] = query
                elif name in ("project", "projects") and slug:
                    fields[name] = slug
                elif name == "action":
                    fields[name] = "handoff"
            if fields:
                url = f"{action}?{urlencode(fields)}"
                found.setdefault(f"{shape(url)} (filtered)", url)
                # Its page 2 too, when the filtered list has one.
                filtered = client.get(url)
                if filtered.status_code == 200:
                    for link, rel in parse(filtered.text).links:
                        if rel == "next":
                            found.setdefault(f"{shape(link)} (filtered, next page)", link)
                        elif "{id}" in shape(link) and not link.startswith(_SKIP):
                            found.setdefault(shape(link), link)
    return [Target(name, url) for name, url in found.items()]


def measure(client: httpx.Client, targets: list[Target], runs: int, warmup: int) -> None:
    for target in targets:
        for i in range(warmup + runs):
            response = client.get(target.url)
            if i < warmup:
                continue
            target.statuses[response.status_code] = target.statuses.get(response.status_code, 0) + 1
            timing = TIMING.search(response.headers.get("server-timing", ""))
            if timing is not None:
                target.timings.append(float(timing.group(1)))


def report(targets: list[Target], budget: float) -> tuple[str, list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    lines = [
        "| page | p50 ms | p95 ms | max ms | n | status | |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for t in targets:
        p50 = percentile(t.timings, 50) if t.timings else float("nan")
        p95 = percentile(t.timings, 95) if t.timings else float("nan")
        worst = max(t.timings) if t.timings else float("nan")
        over = bool(t.timings) and p95 > budget
        ok = set(t.statuses) == {200}
        flag = ("OVER BUDGET " if over else "") + ("" if ok else "NOT 200")
        rows.append({"page": t.name, "url": t.url, "p50_ms": p50, "p95_ms": p95,
                     "max_ms": worst, "n": len(t.timings), "statuses": t.statuses,
                     "over_budget": over})  # fmt: skip
        status = ",".join(f"{s}×{n}" for s, n in sorted(t.statuses.items()))
        lines.append(
            f"| `{t.name}` | {p50:.1f} | {p95:.1f} | {worst:.1f} | {len(t.timings)} | {status} "
            f"| {flag.strip()} |"
        )
    return "\n".join(lines), rows


def seed(url: str, key: str, handoffs: int, seed_value: int) -> None:
    """`handoffs` synthetic handoffs (bench/corpus.py), some searches (for the audit trail)."""
    corpus = Corpus(seed=seed_value)
    stream = corpus.handoffs()
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=REQUEST_TIMEOUT_S
    ) as client:
        for _ in range(handoffs):
            response = client.post("/v1/handoffs", json=next(stream).request())
            response.raise_for_status()
        for project in corpus.projects[:3]:
            client.post("/v1/search", json={"query": "cache", "project": project.slug})


def run(args: argparse.Namespace, url: str, key: str) -> int:
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        sign_in(client, key)
        targets = discover(client, args.query, args.project)
        print(f"{len(targets)} pages found; {args.runs} runs each", file=sys.stderr)
        measure(client, targets, args.runs, args.warmup)
    table, rows = report(targets, args.budget)
    print(table)
    over = [r["page"] for r in rows if r["over_budget"]]
    failed = [r["page"] for r in rows if set(r["statuses"]) != {200}]
    print(f"\nover {args.budget:.0f} ms (p95): {', '.join(over) or 'none'}")
    if failed:
        print(f"pages not answering 200: {', '.join(failed)}")
    if args.out is not None:
        args.out.write_text(json.dumps({"budget_ms": args.budget, "pages": rows}, indent=2) + "\n")
    return 1 if over or failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/console_pages.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server (with --key)")
    where.add_argument("--data-dir", type=Path, help="start a server on this data folder")
    where.add_argument("--handoffs", type=int, help="start a server on a fresh folder, write N")
    parser.add_argument("--key", help="API key to sign in with (default: the data folder's)")
    parser.add_argument("--runs", type=int, default=20, help="measured GETs per page")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured GETs per page first")
    parser.add_argument("--query", default="cache", help="the search query of the search page")
    parser.add_argument("--project", help="project of the filtered lists (default: the largest)")
    parser.add_argument("--budget", type=float, default=BUDGET_MS, help="ms, p95 of a page")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.url is not None:
        if not args.key:
            parser.error("--url needs --key")
        return run(args, args.url, args.key)
    folder = args.data_dir
    temporary = None
    if folder is None:
        temporary = Path(tempfile.mkdtemp(prefix="memory-console-bench-"))
        folder = temporary / "data"
    log = (temporary or folder.parent) / "console-bench-server.log"
    try:
        with ServerProcess(folder, log_path=log) as server:
            server.start()
            key = args.key or server.admin_key()
            if args.handoffs:
                print(f"writing {args.handoffs} handoffs", file=sys.stderr)
                seed(server.base_url, key, args.handoffs, args.seed)
            return run(args, server.base_url, key)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
