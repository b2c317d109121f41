"""Templates and the one way untrusted text becomes HTML.

Every template is autoescaped. Handoff markdown and learning text come from agents and are
untrusted: `markdown_html` renders them with markdown-it-py with raw HTML off (any tag in the
source is shown as text), then passes the result through nh3 (the ammonia sanitizer) with an
allow-list of tags, attributes and URL schemes, so a `<script>`, an event handler, a
`javascript:` link or an entity-encoded variant of one comes out inert. Long unbroken lines
wrap (console.css), so a 10,000-character line stays readable."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jinja2
import nh3
from fastapi import Request
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt
from markupsafe import Markup

from memory_service.console.sessions import Viewer

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)
_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "td": {"align"}, "th": {"align"}}
_URL_SCHEMES = {"http", "https", "mailto"}


def markdown_html(source: str) -> Markup:
    """Untrusted markdown as inert HTML (see the module's docstring)."""
    html = _MARKDOWN.render(source)
    return Markup(  # noqa: S704 - sanitized by nh3 just here
        nh3.clean(
            html,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes=_URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
        )
    )


def when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d")


def short_id(value: uuid.UUID | str) -> str:
    """The last 10 hex digits, as `memory feedback` and the brief name a learning."""
    return str(value).replace("-", "")[-10:]


# Pages shown in the navigation bar: (name, path, who sees it). "read": every signed-in key;
# "admin": an admin key without a project limit (keys and the audit trail are team-wide).
NAV: tuple[tuple[str, str, str], ...] = (
    ("Overview", "/console", "read"),
    ("Search", "/console/search", "read"),
    ("Handoffs", "/console/handoffs", "read"),
    ("Review", "/console/review", "read"),
    ("Audit", "/console/audit", "admin"),
    ("Keys", "/console/keys", "admin"),
)


def nav_for(viewer: Viewer | None) -> list[tuple[str, str]]:
    if viewer is None:
        return []
    return [
        (name, path)
        for name, path, who in NAV
        if who == "read" or (who == "admin" and viewer.unlimited_admin)
    ]


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("memory_service.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update({"markdown": markdown_html, "when": when, "day": day, "short_id": short_id})


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page: `template` with `context`, plus what every page needs (the signed-in viewer,
    its CSRF token, the navigation and which entry is current)."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    page: dict[str, Any] = {
        "viewer": viewer,
        "csrf": viewer.csrf if viewer is not None else "",
        "nav": nav_for(viewer),
        "path": request.url.path,
    }
    page.update(context or {})
    html = _ENV.get_template(template).render(page)
    return HTMLResponse(html, status_code=status, headers=dict(headers or {}))
