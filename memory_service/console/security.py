"""The headers every console response carries, pages, redirects, errors and assets alike.

The Content-Security-Policy allows scripts, styles and images from the service itself only: no
inline script or style, no other origin, no framing, forms posting only back to the service.
Untrusted text (handoff markdown, learning text) is rendered inert anyway (`rendering.py`);
the policy is the second wall, should anything slip through. Pages are never cached (they show
a team's data, and the key-creation page shows a new key once)."""

from __future__ import annotations

import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/console"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class ConsoleHeadersMiddleware:
    """Adds `HEADERS` to every response under /console, and `Server-Timing: app;dur=MS`, the
    time the service took to produce the page (what bench/console_pages.py reports)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console(scope["path"]):
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                took = (time.perf_counter() - started) * 1000
                headers["Server-Timing"] = f"app;dur={took:.1f}"
            await send(message)

        await self.app(scope, receive, send_with_headers)
