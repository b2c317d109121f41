"""A cap on the body of every request, before anything parses it.

FastAPI reads a JSON body whole and parses it before the route's own limits (query length,
list sizes) can look at it: a 20 MB search request was read and parsed in full. This ASGI
middleware answers 413 when `Content-Length` is over the limit, and counts the bytes of a body
sent without one (chunked) as they arrive, stopping at the limit. Routes with a limit of their
own (POST /v1/handoffs reads its body with `MEMORY_MAX_BODY_BYTES`) are left to it."""

from __future__ import annotations

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory_service.errors import envelope


class RequestTooLarge(StarletteHTTPException):
    """Raised from `receive` once a body passes the limit; the app's HTTP error handler turns
    it into the usual envelope (code `payload_too_large`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is over the {limit}-byte limit")
        self.limit = limit


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, limit: int, exempt: frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        self.app = app
        self.limit = limit
        # (method, path) pairs whose routes enforce their own limit.
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) in self.exempt:
            await self.app(scope, receive, send)
            return
        limit = self.limit
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(scope, receive, send, limit)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RequestTooLarge:
            # Read outside the app's exception handlers (by a middleware, say): answer here.
            if started:
                raise
            await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = envelope(
            413, "payload_too_large", f"request body is over the {limit}-byte limit"
        )
        await response(scope, receive, send)
