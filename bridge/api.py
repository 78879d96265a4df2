"""HTTP routes: OpenAI's /v1 API and /health."""

from __future__ import annotations

import hmac
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from browser.driver import READY

from .chat import ChatService
from .errors import AuthenticationFailed
from .openai_format import Completion
from .responses import collect, stream_chunks
from .schemas import ChatCompletionRequest

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def require_api_key(request: Request) -> None:
    """Every /v1 call needs `Authorization: Bearer <api_key>` when a key is set."""
    expected = request.app.state.config.current().api_key
    if not expected:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise AuthenticationFailed(
            "missing or wrong API key: send `Authorization: Bearer <api_key>` with the key from config.jsonc"
        )


v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])
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
        first = await anext(events, None)
    except BaseException:
        await events.aclose()
        raise
    completion = Completion(body.model)
    if body.stream:
        return StreamingResponse(
            stream_chunks(completion, first, events), media_type="text/event-stream", headers=STREAM_HEADERS
        )
    prompt = "".join(m.content if isinstance(m.content, str) else "" for m in body.messages)
    return JSONResponse(await collect(completion, first, events, prompt))


@public.get("/health", response_model=None)
async def health(request: Request) -> JSONResponse:
    page = request.app.state.page
    state = page.state
    if state == READY:
        state = await page.assess()
    body = {
        "status": "ok" if state == READY else state,
        "reason": None if state == READY else state,
        "detail": page.detail,
        "arena_url": page.url,
        "models": len(request.app.state.models.all()),
    }
    return JSONResponse(body, status_code=200 if state == READY else 503)
