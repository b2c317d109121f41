"""One error base class, mapped to one JSON envelope:
`{"error": {"code": "...", "message": "...", "details": ...}}`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


# Documented on every operation: what any request may end with.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in {
        400: "Malformed request",
        401: "Missing, invalid or revoked API key",
        403: "The key lacks a scope or may not use this project",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        415: "Unsupported content type",
        422: "Invalid input",
        429: "Rate limited (see Retry-After)",
        503: "Database or model not available; retry",
    }.items()
}


class MemoryServiceError(Exception):
    """Base of every error a request can end with; subclasses fix the status and code."""

    status_code = 500
    code = "internal_error"

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


class BadRequest(MemoryServiceError):
    status_code = 400
    code = "bad_request"


class Unauthorized(MemoryServiceError):
    status_code = 401
    code = "unauthorized"


class Forbidden(MemoryServiceError):
    status_code = 403
    code = "forbidden"


class NotFound(MemoryServiceError):
    status_code = 404
    code = "not_found"


class Conflict(MemoryServiceError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(MemoryServiceError):
    status_code = 413
    code = "payload_too_large"


class InvalidInput(MemoryServiceError):
    status_code = 422
    code = "validation_error"


class RateLimited(MemoryServiceError):
    status_code = 429
    code = "rate_limited"


class ServiceUnavailable(MemoryServiceError):
    status_code = 503
    code = "unavailable"


_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MemoryServiceError)
    async def _service_error(_: Request, exc: MemoryServiceError) -> JSONResponse:
        return envelope(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc.errors())
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        return envelope(422, "validation_error", f"{where}: {first['msg']}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES_BY_STATUS.get(exc.status_code, "http_error")
        headers = dict(exc.headers) if exc.headers else None
        return envelope(exc.status_code, code, str(exc.detail), None, headers)

    @app.exception_handler(DataError)
    async def _unstorable_value(_: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refused a value the request carried (a NUL character, a number or date
        # out of range): the caller's input, so a 4xx, and the transaction rolled back.
        return envelope(
            422,
            "validation_error",
            "a value in the request cannot be stored or compared "
            "(NUL character, or a number or date out of range)",
        )

    @app.exception_handler(UnicodeDecodeError)
    async def _not_utf8(_: Request, exc: UnicodeDecodeError) -> JSONResponse:
        return envelope(422, "validation_error", "the request body is not valid UTF-8")

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(_: Request, exc: DBAPIError) -> JSONResponse:
        if getattr(exc.orig, "sqlstate", None) in _ROLLED_BACK_FOR_ANOTHER:
            # A deadlock or serialization failure: PostgreSQL rolled this request back in
            # favour of a concurrent one. Nothing changed; the same request can be sent again.
            log.info("transaction rolled back by a concurrent one: %s", exc.orig)
            return envelope(
                503,
                "concurrent_conflict",
                "the request collided with a concurrent one and changed nothing; retry it",
                headers={"Retry-After": "1"},
            )
        log.warning("database unavailable: %s", exc.orig)
        return envelope(
            503,
            "database_unavailable",
            "the database is not reachable right now; retry shortly",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return envelope(500, "internal_error", "internal error; the request changed nothing")
