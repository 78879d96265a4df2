"""HTTP routes: OpenAI's /v1 API and /health."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from browser.driver import READY

from ..chat import ChatRequest, ChatService
from ..tool_use import ToolEvent
from .disconnect import EventStream, unless_disconnected
from .messages import to_arena
from .openai_format import Completion
from .schemas import ChatCompletionRequest
from .streaming import collect, stream_chunks
from .tool_calls import chat_tool_setup

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
    tools = chat_tool_setup(body.model_extra or {})
    messages = to_arena(body.messages, max_attachment_bytes=settings.max_attachment_bytes)
    if tools is not None:
        messages = tools.instruct(messages)
    arena = chat.events(ChatRequest(body.model, messages), settings)
    events: AsyncGenerator[ToolEvent, None] = arena if tools is None else tools.with_tool_calls(arena)
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
        "models": len(request.app.state.models.all()),
        "protocol": request.app.state.config.current().protocol,
        "requests": {"active": limiter.active, "waiting": limiter.waiting},
    }
    return JSONResponse(body, status_code=200 if state == READY else 503)
