"""Exceptions, one per error status of the REST contract, mapped from the error envelope
`{"error": {"code", "message", "details"}}`.

The base is `MemoryClientError`, not `MemoryError`: that name is Python's built-in out-of-memory
exception, and shadowing it would make `except MemoryError` in user code mean two things."""

from __future__ import annotations

import json
from typing import Any

import httpx


class MemoryClientError(Exception):
    """Base of everything this package raises."""


class ConfigurationError(MemoryClientError):
    """No usable server URL or API key could be found."""


class ConnectionFailed(MemoryClientError):
    """The server could not be reached, or the connection broke before a response arrived."""


class APIError(MemoryClientError):
    """The server answered with an error status."""

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str = "http_error",
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.code = code
        self.details = details
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status_code}, {self.code})"


class BadRequest(APIError):
    status_code = 400


class AuthenticationError(APIError):
    status_code = 401


class PermissionDenied(APIError):
    status_code = 403


class NotFound(APIError):
    status_code = 404


class Conflict(APIError):
    status_code = 409


class PayloadTooLarge(APIError):
    status_code = 413


class UnsupportedMediaType(APIError):
    status_code = 415


class ValidationError(APIError):
    status_code = 422


class RateLimited(APIError):
    status_code = 429

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers.get("retry-after"))


class ServiceUnavailable(APIError):
    status_code = 503


class ServerError(APIError):
    """Any other 5xx: a bug or an outage on the server side."""

    status_code = 500


_BY_STATUS: dict[int, type[APIError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        AuthenticationError,
        PermissionDenied,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationError,
        RateLimited,
        ServiceUnavailable,
    )
}


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` in seconds; the HTTP-date form is rare enough here to be ignored."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def error_from_response(response: httpx.Response) -> APIError:
    """The exception for an error response; bodies that are not the envelope (a proxy's HTML
    page, say) still give a readable message."""
    status = response.status_code
    code, details = "http_error", None
    message = f"HTTP {status} {response.reason_phrase}".strip()
    try:
        payload = json.loads(response.content)
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        details = error.get("details")
    elif response.content:
        message = f"{message}: {response.text[:200].strip()}"
    if status in _BY_STATUS:
        cls = _BY_STATUS[status]
    elif status >= 500:
        cls = ServerError
    else:
        cls = APIError
    return cls(
        message, status_code=status, code=code, details=details, headers=dict(response.headers)
    )
