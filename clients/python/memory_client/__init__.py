"""Client for the memory service: `MemoryClient` (blocking) and `AsyncMemoryClient`."""

from memory_client._core import DEFAULT_RETRY, NO_RETRY, RetryPolicy
from memory_client.client import AsyncMemoryClient, MemoryClient
from memory_client.errors import (
    APIError,
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    MemoryClientError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_RETRY",
    "NO_RETRY",
    "APIError",
    "AsyncMemoryClient",
    "AuthenticationError",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "ConnectionFailed",
    "MemoryClient",
    "MemoryClientError",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "UnsupportedMediaType",
    "ValidationError",
]
