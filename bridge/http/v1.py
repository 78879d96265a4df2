"""HTTP routes: OpenAI's /v1 API and /health."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..activity import RequestLog
from ..chat import ChatRequest, ChatService
from ..errors import BridgeError
from .console import NEEDS_A_PERSON, console_url
from .console_accounts import serving_account
from .disconnect import EventStream, unless_disconnected
from .health import health_report
from .messages import to_arena
from .openai_format import Completion
from .schemas import ChatCompletionRequest, ChatMessage
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
    requests: RequestLog = request.app.state.request_log
    prompt = _last_user_text(body.messages) if settings.console_log_content else None
    record = requests.start(
        "chat.completions", body.model, account=serving_account(request.app), stream=body.stream, prompt=prompt
    )
    try:
        messages = to_arena(body.messages, max_attachment_bytes=settings.max_attachment_bytes)
    except BridgeError as exc:
        requests.finish(record, exc.status, exc.code)
        raise
    events = requests.track(chat.events(ChatRequest(body.model, messages), settings), record)
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


def _last_user_text(messages: list[ChatMessage]) -> str:
    """The text of the last user message (for the console, when console_log_content is on)."""
    for message in reversed(messages):
        if message.role == "user":
            if isinstance(message.content, str):
                return message.content
            parts = message.content or []
            return " ".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")
    return ""


@public.get("/health", response_model=None)
async def health(request: Request) -> JSONResponse:
    status, body = await health_report(request.app)
    body["console"] = console_url(request)
    if body["reason"] in NEEDS_A_PERSON:
        body["action"] = f"open {body['console']} and log in or pass the check in the live view"
    return JSONResponse(body, status_code=status)
