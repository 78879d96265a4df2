"""Tie the arena's work to the client's connection: a client that leaves stops the in-page fetch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import Any, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import StreamingResponse

from ..errors import ClientGone

T = TypeVar("T")
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class Closable(Protocol):
    async def aclose(self) -> None: ...


class EventStream(StreamingResponse):
    """SSE that always closes the arena stream, even when the client leaves before the first
    chunk is sent (the body generator then never starts, so its own `finally` never runs)."""

    def __init__(self, body: AsyncIterator[bytes], events: AsyncGenerator[Any, None] | Closable) -> None:
        super().__init__(body, media_type="text/event-stream", headers=STREAM_HEADERS)
        self._events = events

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._events.aclose()


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Run `work`, cancelling it if the client goes away first (which aborts the arena fetch)."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
    if task.cancelled():
        raise ClientGone("the client disconnected")
    return task.result()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


SILENT: Any = "silent"  # what `Lookahead.next` returns when nothing came within its timeout


class Lookahead:
    """An async generator read one item ahead in a task of its own, so that a stream can wait
    for the next item with a timeout (and send a keep-alive meanwhile) without cancelling the
    read. `next(timeout)` returns the item, None at the end, or SILENT; the generator's errors
    come out of `next`."""

    def __init__(self, source: AsyncGenerator[Any, None]) -> None:
        self._source = source
        self._pending: asyncio.Future[Any] | None = None

    async def next(self, timeout: float | None) -> Any:
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self._source, None))
        done, _ = await asyncio.wait({self._pending}, timeout=timeout)
        if not done:
            return SILENT
        pending, self._pending = self._pending, None
        return pending.result()

    async def aclose(self) -> None:
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
            await asyncio.wait({self._pending})
        self._pending = None
        await self._source.aclose()
