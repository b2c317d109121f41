"""Exceptions, one per error status of the REST contract, mapped from the error envelope
`{"error": {"code", "message", "details"}}`.

The base is `MemoryClientError`, not `MemoryError`: that name is Python's built-in out-of-memory
exception, and shadowing it would make `except MemoryError` in user code mean two things."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx


class MemoryClientError(Exception):
    """Base of everything this package raises."""


class ConfigurationError(MemoryClientError):
    """No usable server URL or API key could be found."""


class ConnectionFailed(MemoryClientError):
    """The server could not be reached, or the connection broke before a response arrived."""


class APIError(MemoryClientError):
    """The server answered with an error status. A subclass names the status it stands for
    (`class NotFound(APIError, status=404)`), and `error_from_response` raises it for that
    status."""

    status_code: int = 0
    _by_status: ClassVar[dict[int, type[APIError]]] = {}

    def __init_subclass__(cls, *, status: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
            APIError._by_status[status] = cls

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


class BadRequest(APIError, status=400): ...


class AuthenticationError(APIError, status=401): ...


class PermissionDenied(APIError, status=403): ...


class NotFound(APIError, status=404): ...


class Conflict(APIError, status=409): ...


class PayloadTooLarge(APIError, status=413): ...


class UnsupportedMediaType(APIError, status=415): ...


class ValidationError(APIError, status=422): ...


class RateLimited(APIError, status=429):
    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers.get("retry-after"))


class ServerError(APIError, status=500):
    """Any 5xx without a class of its own: a bug or an outage on the server side."""


class ServiceUnavailable(APIError, status=503): ...


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
    cls = APIError._by_status.get(status) or (ServerError if status >= 500 else APIError)
    return cls(
        message, status_code=status, code=code, details=details, headers=dict(response.headers)
    )
