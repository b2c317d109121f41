"""`MemoryClient` (blocking) and `AsyncMemoryClient` (asyncio): thin shells around `_core`.

Every endpoint method is bound from its builder in `_core`, so both clients expose the same
methods with the same signatures and docstrings by construction; the shells only send
requests and sleep between retries."""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import httpx

from memory_client import _core
from memory_client._core import DEFAULT_RETRY, Call, RequestSpec, RetryPolicy, Sleep
from memory_client.config import check_url, resolve
from memory_client.models import HandoffSummary, Status

__all__ = ["AsyncMemoryClient", "MemoryClient"]

P = ParamSpec("P")
T = TypeVar("T")

USER_AGENT = "memory-client/0.1.0"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class _Base:
    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy,
        headers: Mapping[str, str] | None,
    ) -> None:
        if base_url is not None:
            check_url(base_url, "base_url")
        if base_url is None or api_key is None:
            # Only read the environment and files when the caller did not say.
            found = resolve()
            base_url = base_url or found.url
            api_key = api_key if api_key is not None else found.api_key
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.retry = retry
        self._timeout = timeout
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    @staticmethod
    def _request(http: httpx.Client | httpx.AsyncClient, spec: RequestSpec) -> httpx.Request:
        return http.build_request(
            spec.method,
            spec.path,
            params=dict(spec.params) if spec.params is not None else None,
            json=spec.json,
            headers=dict(spec.headers),
        )


def _signature(builder: Callable[..., Any]) -> inspect.Signature:
    """The builder's signature with `self` in front and the parsed type as the return, so
    `help()` shows the method as it behaves."""
    sig = inspect.signature(builder)
    result = sig.return_annotation
    if isinstance(result, str) and result.startswith("Call[") and result.endswith("]"):
        result = result[len("Call[") : -1]
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    return sig.replace(parameters=[self_param, *sig.parameters.values()], return_annotation=result)


def _sync(builder: Callable[P, Call[T]]) -> Callable[Concatenate[MemoryClient, P], T]:
    @functools.wraps(builder)
    def method(self: MemoryClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.run(builder(*args, **kwargs))

    method.__signature__ = _signature(builder)  # type: ignore[attr-defined]
    return method


def _async(
    builder: Callable[P, Call[T]],
) -> Callable[Concatenate[AsyncMemoryClient, P], Coroutine[Any, Any, T]]:
    @functools.wraps(builder)
    async def method(self: AsyncMemoryClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.run(builder(*args, **kwargs))

    method.__signature__ = _signature(builder)  # type: ignore[attr-defined]
    return method


class MemoryClient(_Base):
    """Blocking client for the memory service.

    `base_url`/`api_key` default to what `memory_client.config.resolve()` finds (environment,
    config file, the local server's saved key). `transport` replaces httpx's network
    transport (tests, proxies, `httpx.MockTransport`); `retry` sets the retry policy
    (`NO_RETRY` to fail fast)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout=timeout, retry=retry, headers=headers)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )

    def run(self, call: Call[T]) -> T:
        """Sends one `Call` (from `memory_client._core`) under this client's retry policy."""
        plan = _core.Plan(call, self.retry)
        for action in plan:
            if isinstance(action, Sleep):
                time.sleep(action.seconds)
                continue
            try:
                plan.answer(self._http.send(self._request(self._http, action)))
            except httpx.TransportError as exc:
                plan.answer(exc)
        return plan.result

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    create_handoff = _sync(_core.create_handoff)
    get_handoff = _sync(_core.get_handoff)
    list_handoffs = _sync(_core.list_handoffs)
    delete_handoff = _sync(_core.delete_handoff)
    mark_read = _sync(_core.mark_read)
    peek_inbox = _sync(_core.peek_inbox)
    claim_inbox = _sync(_core.claim_inbox)
    search = _sync(_core.search)
    check = _sync(_core.check)
    brief = _sync(_core.brief)
    recall = _sync(_core.recall)
    get_learning = _sync(_core.get_learning)
    forget = _sync(_core.forget)
    supersede = _sync(_core.supersede)
    unsupersede = _sync(_core.unsupersede)
    reopen = _sync(_core.reopen)
    feedback = _sync(_core.feedback)
    list_feedback = _sync(_core.list_feedback)
    undo_feedback = _sync(_core.undo_feedback)
    healthz = _sync(_core.healthz)
    readyz = _sync(_core.readyz)

    def iter_handoffs(
        self,
        *,
        project: str | None = None,
        recipient: str | None = None,
        status: Status | None = None,
        page_size: int = 100,
    ) -> Iterator[HandoffSummary]:
        """Every matching handoff, newest first, fetching pages as needed."""
        cursor: str | None = None
        while True:
            page = self.list_handoffs(
                project=project, recipient=recipient, status=status, limit=page_size, cursor=cursor
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


class AsyncMemoryClient(_Base):
    """The asyncio twin of `MemoryClient`: the same methods, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout=timeout, retry=retry, headers=headers)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )

    async def run(self, call: Call[T]) -> T:
        """Sends one `Call` (from `memory_client._core`) under this client's retry policy."""
        plan = _core.Plan(call, self.retry)
        for action in plan:
            if isinstance(action, Sleep):
                await asyncio.sleep(action.seconds)
                continue
            try:
                plan.answer(await self._http.send(self._request(self._http, action)))
            except httpx.TransportError as exc:
                plan.answer(exc)
        return plan.result

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    create_handoff = _async(_core.create_handoff)
    get_handoff = _async(_core.get_handoff)
    list_handoffs = _async(_core.list_handoffs)
    delete_handoff = _async(_core.delete_handoff)
    mark_read = _async(_core.mark_read)
    peek_inbox = _async(_core.peek_inbox)
    claim_inbox = _async(_core.claim_inbox)
    search = _async(_core.search)
    check = _async(_core.check)
    brief = _async(_core.brief)
    recall = _async(_core.recall)
    get_learning = _async(_core.get_learning)
    forget = _async(_core.forget)
    supersede = _async(_core.supersede)
    unsupersede = _async(_core.unsupersede)
    reopen = _async(_core.reopen)
    feedback = _async(_core.feedback)
    list_feedback = _async(_core.list_feedback)
    undo_feedback = _async(_core.undo_feedback)
    healthz = _async(_core.healthz)
    readyz = _async(_core.readyz)

    async def iter_handoffs(
        self,
        *,
        project: str | None = None,
        recipient: str | None = None,
        status: Status | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[HandoffSummary]:
        """Every matching handoff, newest first, fetching pages as needed."""
        cursor: str | None = None
        while True:
            page = await self.list_handoffs(
                project=project, recipient=recipient, status=status, limit=page_size, cursor=cursor
            )
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
