"""HTTP routes: OpenAI's /v1 API and /health."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from browser.driver import READY

from ..chat import ChatRequest, ChatService
from .disconnect import EventStream, unless_disconnected
from .messages import to_arena
from .openai_format import Completion
from .schemas import ChatCompletionRequest
from .streaming import collect, stream_chunks

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
    messages = to_arena(body.messages, max_attachment_bytes=settings.max_attachment_bytes)
    events = chat.events(ChatRequest(body.model, messages), settings)
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
    """200 while at least one account is ready; else 503 with the first account's reason.

    `accounts` lists each account (profile) with its state and cooldown (bridge.accounts).
    """
    accounts = request.app.state.accounts
    limiter = request.app.state.chat.limiter
    for account in accounts.accounts:
        if account.page.state == READY:
            await account.page.assess()
    ready = accounts.ready()
    shown = ready[0] if ready else accounts.first
    state = shown.state
    body = {
        "status": "ok" if ready else state,
        "reason": None if ready else state,
        "detail": shown.describe()["detail"],
        "arena_url": shown.page.url,
        "models": len(request.app.state.models.all()),
        "protocol": request.app.state.config.current().protocol,
        "requests": {"active": limiter.active, "waiting": limiter.waiting},
        "accounts": accounts.describe(),
    }
    return JSONResponse(body, status_code=200 if ready else 503)
