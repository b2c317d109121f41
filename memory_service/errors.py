"""One error base class, mapped to one JSON envelope:
`{"error": {"code": "...", "message": "...", "details": ...}}`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

# SQLSTATEs of a transaction PostgreSQL rolled back in favour of a concurrent one:
# serialization_failure, deadlock_detected.
_ROLLED_BACK_FOR_ANOTHER = frozenset({"40001", "40P01"})


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """The body of every error response."""

    error: ErrorBody


# Every status a request may end with: its error code and what it means. The subclasses below,
# the responses documented on every operation and the errors FastAPI raises itself (405, ...)
# all take their code from here, so a status never has two names.
STATUSES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Malformed request"),
    401: ("unauthorized", "Missing, invalid or revoked API key"),
    403: ("forbidden", "The key lacks a scope or may not use this project"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Body too large"),
    414: ("uri_too_long", "Query string too long"),
    415: ("unsupported_media_type", "Unsupported content type"),
    422: ("validation_error", "Invalid input"),
    429: ("rate_limited", "Rate limited (see Retry-After)"),
    503: ("unavailable", "Database or model not available; retry"),
}

# Documented on every operation: what any request may end with (405 is the router's own; 414
# only the console's pages answer).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, (_, description) in STATUSES.items()
    if status not in (405, 414)
}


class MemoryServiceError(Exception):
    """Base of every error a request can end with; a subclass names its status
    (`class Gone(MemoryServiceError, status=410)`) and takes that status's code."""

    status_code = 500
    code = "internal_error"

    def __init_subclass__(cls, *, status: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
            cls.code = STATUSES[status][0]

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers
        if code is not None:
            self.code = code


class BadRequest(MemoryServiceError, status=400):
    """Unreadable request: a cursor not passed back as given, a malformed header."""


class Unauthorized(MemoryServiceError, status=401):
    """No API key, or one that is unknown or revoked."""


class Forbidden(MemoryServiceError, status=403):
    """The key lacks the scope, or is limited to other projects."""


class NotFound(MemoryServiceError, status=404):
    """Nothing by that id, or nothing the key may see (existence is not revealed)."""


class Conflict(MemoryServiceError, status=409):
    """The request contradicts what is stored (an Idempotency-Key reused)."""


class PayloadTooLarge(MemoryServiceError, status=413):
    """A body, or the learnings it yields, over the configured limit."""


class UriTooLong(MemoryServiceError, status=414):
    """A query string over the limit (the console's pages)."""


class UnsupportedMediaType(MemoryServiceError, status=415):
    """A body in a content type the route does not read."""


class InvalidInput(MemoryServiceError, status=422):
    """A value the schema accepts but the domain refuses."""


class RateLimited(MemoryServiceError, status=429):
    """Too many requests from this key this minute."""


class ServiceUnavailable(MemoryServiceError, status=503):
    """The database or the model is not available, or a search ran out of time; retry."""


def envelope(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details)}}
    return JSONResponse(body, status_code=status, headers=headers)


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as the envelope's `details`. `input` and `ctx` are dropped: they can
    echo a whole request body (and any secret in it) back."""
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in errors
    ]


# Renders an error for a browser instead of the JSON envelope (the web console registers one for
# its paths): (request, status, code, message, headers) -> a response, or None for the envelope.
ErrorPage = Callable[[Request, int, str, str, dict[str, str] | None], Response | None]


def install_error_handlers(app: FastAPI, page: ErrorPage | None = None) -> None:
    def respond(
        request: Request,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if page is not None:
            rendered = page(request, status, code, message, headers)
            if rendered is not None:
                return rendered
        return envelope(status, code, message, details, headers)

    @app.exception_handler(MemoryServiceError)
    async def _service_error(request: Request, exc: MemoryServiceError) -> Response:
        return respond(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(exc.errors())
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        return respond(request, 422, "validation_error", f"{where}: {first['msg']}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = STATUSES[exc.status_code][0] if exc.status_code in STATUSES else "http_error"
        headers = dict(exc.headers) if exc.headers else None
        return respond(request, exc.status_code, code, str(exc.detail), None, headers)

    @app.exception_handler(DataError)
    async def _unstorable_value(request: Request, exc: DataError) -> Response:
        # PostgreSQL refused a value the request carried (a NUL character, a number or date
        # out of range): the caller's input, so a 4xx, and the transaction rolled back.
        return respond(
            request,
            422,
            "validation_error",
            "a value in the request cannot be stored or compared "
            "(NUL character, or a number or date out of range)",
        )

    @app.exception_handler(UnicodeDecodeError)
    async def _not_utf8(request: Request, exc: UnicodeDecodeError) -> Response:
        return respond(request, 422, "validation_error", "the request body is not valid UTF-8")

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(request: Request, exc: DBAPIError) -> Response:
        if getattr(exc.orig, "sqlstate", None) in _ROLLED_BACK_FOR_ANOTHER:
            # A deadlock or serialization failure: PostgreSQL rolled this request back in
            # favour of a concurrent one. Nothing changed; the same request can be sent again.
            log.info("transaction rolled back by a concurrent one: %s", exc.orig)
            code, message, retry_after = (
                "concurrent_conflict",
                "the request collided with a concurrent one and changed nothing; retry it",
                "1",
            )
        else:
            log.warning("database unavailable: %s", exc.orig)
            code, message, retry_after = (
                "database_unavailable",
                "the database is not reachable right now; retry shortly",
                "2",
            )
        return respond(request, 503, code, message, headers={"Retry-After": retry_after})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return respond(
            request, 500, "internal_error", "internal error; the request changed nothing"
        )
