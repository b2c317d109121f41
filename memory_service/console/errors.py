"""Errors of the console's pages: a page with the status, what went wrong and a way on, in
place of the API's JSON envelope. Not signed in: a redirect to the sign-in page. A session
that has ended (expired, signed out elsewhere, key revoked): 401 and the cookie cleared."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from memory_service.console.rendering import render
from memory_service.console.security import is_console
from memory_service.console.sessions import COOKIE
from memory_service.errors import Unauthorized

SIGN_IN_PATH = "/console/sign-in"


class SignInRequired(Unauthorized):
    """No session cookie: the console's pages send the browser to the sign-in page."""


class SessionEnded(Unauthorized):
    """A session cookie that no longer signs anyone in."""


# The error page's heading per status (the API's STATUSES describe them to API callers).
TITLES = {
    400: "Bad request",
    401: "Signed out",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    413: "Too large",
    414: "Query too long",
    415: "Unsupported content",
    422: "Invalid input",
    429: "Too many requests",
    503: "Unavailable, retry shortly",
}

SignInRequired.code = "sign_in_required"
SessionEnded.code = "session_ended"


def error_page(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None
) -> Response | None:
    """The console's answer to an error on one of its paths; None elsewhere (the API's JSON)."""
    if not is_console(request.url.path):
        return None
    if code == SignInRequired.code:
        return RedirectResponse(SIGN_IN_PATH, status_code=303)
    kept = {k: v for k, v in (headers or {}).items() if k.lower() == "retry-after"}
    if status == 404:
        # One message for every 404, whatever was asked: the page neither repeats an id nor
        # tells an unknown one from another team's or another project's.
        message = "Nothing here: no such page or item, or not one the key of this session may see."
    response = render(
        request,
        "error.html",
        {
            "status": status,
            "title": TITLES.get(status, "Something went wrong"),
            "message": message,
            "signed_out": code == SessionEnded.code,
        },
        status=status,
        headers=kept,
    )
    if code == SessionEnded.code:
        response.delete_cookie(COOKIE, path="/console")
    return response
