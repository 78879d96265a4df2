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
    registry = request.app.state.models
    data = []
    for m in registry.all():
        owner = m.organization or "lmarena"
        entry: dict[str, Any] = {"id": m.name, "object": "model", "created": created, "owned_by": owner}
        if (hint := registry.unusable_hint(m.name)) is not None:
            entry["unusable"] = hint
        data.append(entry)
    return {"object": "list", "data": data}


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
    if request.app.state.chat.recaptcha_attention:
        body["recaptcha"] = {"needs_person": True, "detail": request.app.state.chat.recaptcha_attention}
    return JSONResponse(body, status_code=200 if state == READY else 503)
