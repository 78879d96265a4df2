"""HTTP routes: OpenAI's /v1 API and /health."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..activity import RequestLog
from ..chat import ChatRequest, ChatService
from ..errors import BridgeError, InvalidRequest, ModelNotFound
from ..models import Model
from ..tool_use import ToolEvent
from .choices import Choices, Cut
from .console import NEEDS_A_PERSON, console_url
from .console_accounts import serving_account
from .disconnect import unless_disconnected
from .health import health_report
from .messages import format_instruction, to_arena
from .openai_format import Completion
from .schemas import ChatCompletionRequest, ChatMessage
from .streaming import collect, open_stream
from .tool_calls import chat_tool_setup

MAX_CHOICES = 4
v1 = APIRouter(prefix="/v1")
public = APIRouter()


@v1.api_route("/models", methods=["GET", "HEAD"])
async def list_models(request: Request) -> dict[str, Any]:
    created = int(time.time())
    registry = request.app.state.models
    return {"object": "list", "data": [_model_object(m, created, registry) for m in registry.all()]}


@v1.api_route("/models/{model:path}", methods=["GET", "HEAD"])
async def retrieve_model(model: str, request: Request) -> dict[str, Any]:
    """The model as `/v1/models` lists it (ids may contain "/"); 404 model_not_found otherwise."""
    registry = request.app.state.models
    found = next((m for m in registry.all() if m.name == model), None)
    if found is None:
        raise ModelNotFound(
            f"the model {model!r} does not exist in models.json: list them with GET /v1/models, "
            "or run `lmarena-bridge models --refresh`",
            param="model",
        )
    return _model_object(found, int(time.time()), registry)


def _model_object(model: Model, created: int, registry: Any) -> dict[str, Any]:
    """A model object; `unusable` (a one-line hint) when the arena answered `Models not found` for it."""
    entry: dict[str, Any] = {
        "id": model.name,
        "object": "model",
        "created": created,
        "owned_by": model.organization or "lmarena",
    }
    if (hint := registry.unusable_hint(model.name)) is not None:
        entry["unusable"] = hint
    return entry


@v1.post("/chat/completions", response_model=None)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> JSONResponse | StreamingResponse:
    """One arena request per choice (`n`); stream or one object. Errors before the stream starts keep their status."""
    chat: ChatService = request.app.state.chat
    settings = request.app.state.config.current()
    requests: RequestLog = request.app.state.request_log
    logged_prompt = last_user_text(body.messages) if settings.console_log_content else None
    record = requests.start(
        "chat.completions",
        body.model,
        account=serving_account(request.app),
        stream=bool(body.stream),
        prompt=logged_prompt,
    )
    try:
        count = choice_count(body.n)
        if chat.accounts is not None:
            chat.accounts.check_room(count, settings)
        tools = chat_tool_setup(body.model_extra or {})
        messages = to_arena(body.messages, max_attachment_bytes=settings.max_attachment_bytes)
    except BridgeError as exc:
        requests.finish(record, exc.status, exc.code)
        raise
    if (instruction := format_instruction(body.response_format)) is not None:
        messages.insert(0, instruction)
    if tools is not None:
        messages = tools.instruct(messages)
    prompt = "".join(m.content if isinstance(m.content, str) else "" for m in body.messages)
    cut = Cut(body.stop_strings(), body.token_limit())
    answers = [chat.events(ChatRequest(body.model, messages), settings) for _ in range(count)]
    answers[0] = requests.track(answers[0], record)  # one record per request: its first choice
    sources: list[AsyncGenerator[ToolEvent, None]] = (
        [tools.with_tool_calls(answer) for answer in answers] if tools is not None else list(answers)
    )
    choices = Choices(sources, cut, prompt)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        completion = Completion(body.model, include_usage=include_usage)
        return await open_stream(request, completion, choices, request.app.state.stream_timing)
    return JSONResponse(await unless_disconnected(request, collect(Completion(body.model), choices)))


def choice_count(n: int | None) -> int:
    """`n` (default 1), at most MAX_CHOICES: each choice is an arena request of its own."""
    count = 1 if n is None else n
    if not 1 <= count <= MAX_CHOICES:
        raise InvalidRequest(
            f"n must be between 1 and {MAX_CHOICES} on this bridge (each choice is its own arena request); got {count}",
            code="invalid_value",
            param="n",
        )
    return count


def last_user_text(messages: list[ChatMessage]) -> str:
    """The text of the last user message (for the console, when console_log_content is on)."""
    for message in reversed(messages):
        if message.role == "user":
            if isinstance(message.content, str):
                return message.content
            parts = message.content or []
            return " ".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")
    return ""


@public.api_route("/health", methods=["GET", "HEAD"], response_model=None)
async def health(request: Request) -> JSONResponse:
    status, body = await health_report(request.app)
    body["console"] = console_url(request)
    if body["reason"] in NEEDS_A_PERSON:
        body["action"] = f"open {body['console']} and log in or pass the check in the live view"
    if request.app.state.chat.recaptcha_attention:
        body["recaptcha"] = {
            "needs_person": True,
            "detail": request.app.state.chat.recaptcha_attention,
            "action": f"open {body['console']} and solve the reCAPTCHA challenge in the live view",
        }
    return JSONResponse(body, status_code=status)
