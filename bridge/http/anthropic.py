"""HTTP routes: Anthropic's Messages API, for Claude Code and the `anthropic` SDKs.

    POST /v1/messages               stream and non-stream (Anthropic's API reference, "Messages")
    POST /v1/messages/count_tokens  {"input_tokens": N}, an estimate ("Count tokens")

Errors on these paths use Anthropic's shape (anthropic_format.py); the API key may come
as `x-api-key` or `Authorization: Bearer` (guards.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..activity import CONTENT_LIMIT, RequestLog
from ..chat import ChatRequest, ChatService
from ..errors import BridgeError
from .anthropic_format import MessageShape
from .anthropic_messages import CountTokensRequest, MessagesRequest, prompt_text, to_arena, tool_setup
from .anthropic_stream import Assembler, collect, stream_sse
from .console_accounts import serving_account
from .disconnect import EventStream, Lookahead, unless_disconnected
from .openai_format import estimate_tokens

anthropic = APIRouter(prefix="/v1")

IMAGE_TOKENS = 1_600  # Anthropic's estimate for an image at its largest size before resizing ("Vision")


@anthropic.post("/messages", response_model=None)
async def create_message(body: MessagesRequest, request: Request) -> JSONResponse | StreamingResponse:
    chat: ChatService = request.app.state.chat
    settings = request.app.state.config.current()
    requests: RequestLog = request.app.state.request_log
    record = requests.start("messages", body.model, account=serving_account(request.app), stream=bool(body.stream))
    try:
        tools = tool_setup(body)
        messages = tools.instruct(to_arena(body, max_attachment_bytes=settings.max_attachment_bytes))
    except BridgeError as exc:
        requests.finish(record, exc.status, exc.code)
        raise
    if settings.console_log_content:
        record.prompt = prompt_text(messages)[-CONTENT_LIMIT:]
    assembler = Assembler(MessageShape(body.model), body.stop_sequences or [], _estimate(messages))
    arena = requests.track(chat.events(ChatRequest(body.model, messages), settings), record)
    events = tools.with_tool_calls(arena)
    if body.stream:
        # Errors before `headers_after` s keep their status; after it the stream starts with pings.
        timing = request.app.state.stream_timing
        ahead = Lookahead(events)
        try:
            first = await unless_disconnected(request, ahead.next(timing.headers_after))
        except BaseException:
            await ahead.aclose()
            raise
        return EventStream(stream_sse(assembler, first, ahead, timing.keepalive_every), ahead)
    try:
        first = await unless_disconnected(request, anext(events, None))
    except BaseException:
        await events.aclose()
        raise
    return JSONResponse(await unless_disconnected(request, collect(assembler, first, events)))


@anthropic.post("/messages/count_tokens")
async def count_tokens(body: CountTokensRequest, request: Request) -> dict[str, Any]:
    """`{"input_tokens": N}`: the prompt the arena would get, at about four characters a token
    (the same estimate as the usage of answers the arena sends no usage for), plus
    IMAGE_TOKENS for each image or document. No tokenizer library: the arena's models use many
    different tokenizers, and tiktoken downloads its encodings at run time."""
    settings = request.app.state.config.current()
    messages = to_arena(body, max_attachment_bytes=settings.max_attachment_bytes)
    return {"input_tokens": _estimate(tool_setup(body).instruct(messages))}


def _estimate(messages: list[Any]) -> int:
    attachments = sum(len(m.attachments) for m in messages)
    return estimate_tokens(prompt_text(messages)) + IMAGE_TOKENS * attachments
