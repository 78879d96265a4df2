"""HTTP routes: OpenAI's /v1 API and /health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from browser.driver import READY

from .chat import ChatService
from .errors import ClientGone
from .openai_format import Completion
from .responses import collect, stream_chunks
from .schemas import ChatCompletionRequest

T = TypeVar("T")
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class EventStream(StreamingResponse):
    """SSE that always closes the arena stream, even when the client leaves before the first
    chunk is sent (the body generator then never starts, so its own `finally` never runs)."""

    def __init__(self, body: AsyncIterator[bytes], events: AsyncGenerator[Any, None]) -> None:
        super().__init__(body, media_type="text/event-stream", headers=STREAM_HEADERS)
        self._events = events

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._events.aclose()


v1 = APIRouter(prefix="/v1")
public = APIRouter()


@v1.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    created = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": m.name, "object": "model", "created": created, "owned_by": m.organization or "lmarena"}
            for m in request.app.state.models.all()
        ],
    }


@v1.post("/chat/completions", response_model=None)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> JSONResponse | StreamingResponse:
    chat: ChatService = request.app.state.chat
    settings = request.app.state.config.current()
    events = chat.events(body, settings)
    try:
        first = await unless_disconnected(request, anext(events, None))
    except BaseException:
        await events.aclose()
        raise
    completion = Completion(body.model)
    if body.stream:
        return EventStream(stream_chunks(completion, first, events), events)
    prompt = "".join(m.content if isinstance(m.content, str) else "" for m in body.messages)
    return JSONResponse(await unless_disconnected(request, collect(completion, first, events, prompt)))


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


@public.get("/health", response_model=None)
async def health(request: Request) -> JSONResponse:
    page = request.app.state.page
    limiter = request.app.state.chat.limiter
    state = page.state
    if state == READY:
        state = await page.assess()
    body = {
        "status": "ok" if state == READY else state,
        "reason": None if state == READY else state,
        "detail": page.detail,
        "arena_url": page.url,
        "browser_mode": page.mode,
        "models": len(request.app.state.models.all()),
        "protocol": request.app.state.config.current().protocol,
        "requests": {"active": limiter.active, "waiting": limiter.waiting},
    }
    return JSONResponse(body, status_code=200 if state == READY else 503)
