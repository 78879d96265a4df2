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

from ..chat import ChatRequest, ChatService
from .anthropic_format import MessageShape
from .anthropic_messages import CountTokensRequest, MessagesRequest, prompt_text, to_arena, tool_setup
from .anthropic_stream import Assembler, collect, stream_sse
from .disconnect import EventStream, unless_disconnected
from .openai_format import estimate_tokens

anthropic = APIRouter(prefix="/v1")

IMAGE_TOKENS = 1_600  # Anthropic's estimate for an image at its largest size before resizing ("Vision")


@anthropic.post("/messages", response_model=None)
async def create_message(body: MessagesRequest, request: Request) -> JSONResponse | StreamingResponse:
    chat: ChatService = request.app.state.chat
    settings = request.app.state.config.current()
    tools = tool_setup(body)
    messages = tools.instruct(to_arena(body, max_attachment_bytes=settings.max_attachment_bytes))
    assembler = Assembler(MessageShape(body.model), body.stop_sequences or [], _estimate(messages))
    events = tools.with_tool_calls(chat.events(ChatRequest(body.model, messages), settings))
    try:
        first = await unless_disconnected(request, anext(events, None))
    except BaseException:
        await events.aclose()
        raise
    if body.stream:
        return EventStream(stream_sse(assembler, first, events), events)
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
