"""OpenAI's Responses API: `POST /v1/responses` (and `/responses`, as paths.V1Alias serves every route), stream
and non-stream.

Request (https://platform.openai.com/docs/api-reference/responses/create): `model`,
`input` (a string or items), `instructions`, `tools` (function tools in Responses'
flat shape `{type: "function", name, description, parameters}`, and custom tools),
`tool_choice` (`none` | `auto` | `required` | `{type: "function", name}`),
`parallel_tool_calls`, `stream`, `max_output_tokens` (choices.Cut, as chat's `max_tokens`),
`text.format` (approximated as chat's `response_format`); responses_input.py converts input and tools. The
input goes the chat completions way (http/messages.py to_arena, tool history as
text, tool calls emulated by bridge.tool_use).

Stateless: nothing is stored, so `previous_response_id`, `conversation` and
`item_reference` items are 400 (send the whole conversation as `input`), and every
response says `store: false`. Errors before the stream starts are HTTP statuses in
OpenAI's envelope; after, an `error` event and `response.failed`
(responses_format.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from browser.stream import Finish, ReasoningDelta, TextDelta

from ..activity import CONTENT_LIMIT, RequestLog
from ..chat import ChatRequest, ChatService
from ..errors import BridgeError, InvalidRequest
from ..tool_use import ToolCalls, ToolEvent
from .choices import TIMEOUT, Choices, Cut, Piece
from .console_accounts import serving_account
from .disconnect import EventStream, unless_disconnected
from .messages import format_instruction, to_arena
from .responses_format import ResponseBuilder, sse_event
from .responses_input import (
    NOT_STORED,
    ResponsesTools,
    echo_choice,
    input_messages,
    responses_tools,
    text_format,
)
from .streaming import KEEPALIVE, StreamTiming
from .v1 import last_user_text

log = logging.getLogger(__name__)

router = APIRouter()


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None  # null or absent: true
    stream: bool = False
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    metadata: dict[str, str] | None = None
    text: dict[str, Any] | None = None


@router.post("/v1/responses", response_model=None)
async def create_response(body: ResponsesRequest, request: Request) -> JSONResponse | EventStream:
    for field in ("previous_response_id", "conversation"):
        if getattr(body, field) is not None:
            raise InvalidRequest(NOT_STORED.format(f"`{field}`"), code="unsupported_parameter", param=field)
    chat: ChatService = request.app.state.chat
    settings = request.app.state.config.current()
    requests: RequestLog = request.app.state.request_log
    record = requests.start("responses", body.model, account=serving_account(request.app), stream=body.stream)
    try:
        tools = responses_tools(body.tools, body.tool_choice, body.parallel_tool_calls is not False)
        conversation, labels = input_messages(body.instructions, body.input)
        messages = to_arena(conversation, max_attachment_bytes=settings.max_attachment_bytes, labels=labels)
        instruction = format_instruction(text_format(body.text))
    except BridgeError as exc:
        requests.finish(record, exc.status, exc.code)
        raise
    if settings.console_log_content:
        record.prompt = last_user_text(conversation)[:CONTENT_LIMIT]
    if instruction is not None:
        messages.insert(0, instruction)
    messages = tools.setup.instruct(messages)
    arena = requests.track(chat.events(ChatRequest(body.model, messages), settings), record)
    answer = tools.setup.with_tool_calls(arena)
    prompt = "".join(m.content for m in messages)
    choices = Choices([answer], Cut(max_tokens=body.max_output_tokens), prompt)
    builder = ResponseBuilder(body.model, _echo(body, tools), prompt, custom_tools=tools.custom)
    if body.stream:
        return await _open_stream(request, builder, choices, request.app.state.stream_timing)
    return JSONResponse(await unless_disconnected(request, _collect(builder, choices)))


def _echo(body: ResponsesRequest, tools: ResponsesTools) -> dict[str, Any]:
    """The request fields a response object repeats."""
    text = body.text if isinstance(body.text, dict) and body.text.get("format") else {"format": {"type": "text"}}
    return {
        "instructions": body.instructions,
        "tools": tools.echoed,
        "tool_choice": echo_choice(body.tool_choice),
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "max_output_tokens": body.max_output_tokens,
        "metadata": body.metadata or {},
        "text": text,
    }


async def _collect(builder: ResponseBuilder, choices: Choices) -> dict[str, Any]:
    read = PieceReader(choices)
    try:
        while isinstance(piece := await choices.next(), Piece):
            for event in read(piece):
                builder.feed(event)
    finally:
        await choices.aclose()
    builder.end(choices.usage())
    return builder.response()


async def _open_stream(
    request: Request, builder: ResponseBuilder, choices: Choices, timing: StreamTiming
) -> EventStream:
    """The event stream, once the first piece came or `timing.headers_after` passed (streaming.open_stream's rule):
    an error before then keeps its HTTP status."""
    try:
        first = await unless_disconnected(request, choices.next(timing.headers_after))
    except BaseException:
        await choices.aclose()
        raise
    held = [first] if isinstance(first, Piece) else []
    return EventStream(_stream(builder, choices, held, timing), choices)


async def _stream(
    builder: ResponseBuilder, choices: Choices, held: list[Piece], timing: StreamTiming
) -> AsyncIterator[bytes]:
    """response.created first; an SSE comment for each `keepalive_every` s of arena silence; an error mid-way
    is an `error` event and response.failed."""
    read = PieceReader(choices)
    try:
        for payload in builder.start():
            yield sse_event(payload)
        while True:
            item = held.pop() if held else await choices.next(timing.keepalive_every)
            if item == TIMEOUT:
                yield KEEPALIVE
                continue
            if not isinstance(item, Piece):
                break
            for event in read(item):
                for payload in builder.feed(event):
                    yield sse_event(payload)
        for payload in builder.end(choices.usage()):
            yield sse_event(payload)
    except BridgeError as exc:
        log.warning("response %s failed: %s", builder.id, exc.message)
        for payload in builder.fail(exc):
            yield sse_event(payload)
    finally:
        await choices.aclose()


class PieceReader:
    """A choice's pieces (choices.py) back into the events ResponseBuilder reads; tool calls come from the
    choice's tally, as the piece carries them in chat completions' shape."""

    def __init__(self, choices: Choices) -> None:
        self.choices = choices
        self.seen = 0

    def __call__(self, piece: Piece) -> list[ToolEvent]:
        if piece.finish is not None:
            return [Finish(piece.finish)]
        delta = piece.delta or {}
        if "content" in delta:
            return [TextDelta(delta["content"])]
        if "reasoning_content" in delta:
            return [ReasoningDelta(delta["reasoning_content"])]
        if "tool_calls" in delta:
            calls = self.choices.calls(piece.index)[self.seen :]
            self.seen += len(calls)
            return [ToolCalls(tuple(calls))]
        return []
