"""OpenAI's Responses API: `POST /v1/responses` (and `/responses`), stream and non-stream.

Request (https://platform.openai.com/docs/api-reference/responses/create): `model`,
`input` (a string, or items: messages with `input_text`/`input_image`/`input_file`
(and an assistant's `output_text`) parts, `function_call` and
`function_call_output` items; `reasoning` items are skipped), `instructions`,
`tools` (function tools in Responses' flat shape `{type: "function", name,
description, parameters}`; built-in tools such as `web_search` cannot run here and
are left out, with a log line), `tool_choice` (`none` | `auto` | `required` |
`{type: "function", name}`), `parallel_tool_calls`, `stream`. The input becomes
chat messages and goes the chat completions way (http/messages.py to_arena, tool
history as text, tool calls emulated by bridge.tool_use).

Stateless: nothing is stored, so `previous_response_id`, `conversation` and
`item_reference` items are 400 (send the whole conversation as `input`), and every
response says `store: false`. Errors before the stream starts are HTTP statuses in
OpenAI's envelope; after, an `error` event and `response.failed`
(responses_format.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..chat import ChatRequest, ChatService
from ..errors import BridgeError, InvalidRequest
from ..tool_use import ToolEvent, ToolSetup
from ..tools import AUTO, InvalidTool, Tool, ToolChoice, check_tools
from .disconnect import EventStream, unless_disconnected
from .messages import to_arena
from .responses_format import ResponseBuilder, sse_event
from .schemas import ChatMessage

log = logging.getLogger(__name__)

router = APIRouter()
NOT_STORED = (
    "{} is not supported: this bridge stores no responses or conversations (it is stateless). "
    "Send the whole conversation as `input` items instead"
)
ECHOED = ("temperature", "top_p", "max_output_tokens", "metadata")
ROLES = {"user", "assistant", "system", "developer"}


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    stream: bool = False
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, str] | None = None


@router.post("/v1/responses", response_model=None)
@router.post("/responses", response_model=None, include_in_schema=False)
async def create_response(body: ResponsesRequest, request: Request) -> JSONResponse | EventStream:
    for field in ("previous_response_id", "conversation"):
        if getattr(body, field) is not None:
            raise InvalidRequest(NOT_STORED.format(f"`{field}`"), code="unsupported_parameter", param=field)
    chat: ChatService = request.app.state.chat
    settings = request.app.state.config.current()
    tools, echoed_tools = _tool_setup(body)
    conversation = input_messages(body)
    messages = tools.instruct(to_arena(conversation, max_attachment_bytes=settings.max_attachment_bytes))
    events = tools.with_tool_calls(chat.events(ChatRequest(body.model, messages), settings))
    echo = {
        "instructions": body.instructions,
        "tools": echoed_tools,
        "tool_choice": _echo_choice(body.tool_choice),
        "parallel_tool_calls": body.parallel_tool_calls,
        "metadata": body.metadata or {},
    } | {key: getattr(body, key) for key in ECHOED if key != "metadata"}
    prompt = "".join(m.content for m in messages)
    builder = ResponseBuilder(body.model, echo, prompt)
    try:
        first = await unless_disconnected(request, anext(events, None))
    except BaseException:
        await events.aclose()
        raise
    if body.stream:
        return EventStream(_stream(builder, first, events), events)
    return JSONResponse(await unless_disconnected(request, _collect(builder, first, events)))


async def _collect(
    builder: ResponseBuilder, first: ToolEvent | None, events: AsyncGenerator[ToolEvent, None]
) -> dict[str, Any]:
    try:
        event = first
        while event is not None:
            builder.feed(event)
            event = await anext(events, None)
    finally:
        await events.aclose()
    builder.end()
    return builder.response()


async def _stream(
    builder: ResponseBuilder, first: ToolEvent | None, events: AsyncGenerator[ToolEvent, None]
) -> AsyncIterator[bytes]:
    try:
        for payload in builder.start():
            yield sse_event(payload)
        event = first
        while event is not None:
            for payload in builder.feed(event):
                yield sse_event(payload)
            event = await anext(events, None)
        for payload in builder.end():
            yield sse_event(payload)
    except BridgeError as exc:
        log.warning("response %s failed: %s", builder.id, exc.message)
        for payload in builder.fail(exc):
            yield sse_event(payload)
    finally:
        await events.aclose()


def _tool_setup(body: ResponsesRequest) -> tuple[ToolSetup, list[dict[str, Any]]]:
    """The function tools (the others are skipped) and how the response echoes them."""
    tools: list[Tool] = []
    echoed: list[dict[str, Any]] = []
    for index, spec in enumerate(body.tools or []):
        if spec.get("type") != "function":
            log.warning("tools[%d] of type %r cannot run through the arena; left out", index, spec.get("type"))
            continue
        name, parameters = spec.get("name"), spec.get("parameters")
        if not isinstance(name, str) or not isinstance(parameters, dict | None):
            raise InvalidRequest(
                f"tools[{index}]: a function tool is {{type: 'function', name, description, parameters}}",
                param=f"tools[{index}]",
            )
        description = spec["description"] if isinstance(spec.get("description"), str) else ""
        tools.append(Tool(name, description, parameters or {"type": "object"}))
        echoed.append(
            {"type": "function", "name": name, "description": description, "parameters": parameters}
            | {"strict": spec.get("strict")}
        )
    setup = ToolSetup(tuple(tools), _choice(body.tool_choice), body.parallel_tool_calls)
    try:
        check_tools(setup.tools, setup.choice)
    except InvalidTool as exc:
        raise InvalidRequest(exc.message, param="tool_choice" if exc.index is None else "tools") from exc
    return setup, echoed


def _choice(value: str | dict[str, Any] | None) -> ToolChoice:
    if value is None:
        return AUTO
    if isinstance(value, str):
        return ToolChoice(value)  # type: ignore[arg-type]  # the model's Literal checked it
    name = value.get("name")
    if value.get("type") == "function" and isinstance(name, str):
        return ToolChoice.named(name)
    raise InvalidRequest(
        "tool_choice must be 'none', 'auto', 'required' or {'type': 'function', 'name': ...}", param="tool_choice"
    )


def _echo_choice(value: str | dict[str, Any] | None) -> str | dict[str, Any]:
    if isinstance(value, dict):
        return {"type": "function", "name": value.get("name")}
    return value or "auto"


def input_messages(body: ResponsesRequest) -> list[ChatMessage]:
    """`instructions` and `input` as chat completion messages (a system message, then the items in order)."""
    messages: list[ChatMessage] = []
    if body.instructions:
        messages.append(ChatMessage(role="system", content=body.instructions))
    if isinstance(body.input, str):
        messages.append(ChatMessage(role="user", content=body.input))
        return messages
    for index, item in enumerate(body.input):
        _add_item(messages, item, index)
    if not messages:
        raise InvalidRequest("input holds no message", code="missing_field", param="input")
    return messages


def _add_item(messages: list[ChatMessage], item: dict[str, Any], index: int) -> None:
    where = f"input[{index}]"
    kind = item.get("type", "message")
    if kind == "message":
        messages.append(_message(item, where))
    elif kind == "function_call":
        call = {
            "id": _required(item, "call_id", where),
            "type": "function",
            "function": {"name": _required(item, "name", where), "arguments": item.get("arguments") or "{}"},
        }
        last = messages[-1] if messages else None
        if last is not None and last.role == "assistant":
            extra = last.model_extra if last.model_extra is not None else {}
            extra["tool_calls"] = [*(extra.get("tool_calls") or []), call]
        else:
            messages.append(ChatMessage.model_validate({"role": "assistant", "content": None, "tool_calls": [call]}))
    elif kind == "function_call_output":
        messages.append(
            ChatMessage.model_validate(
                {"role": "tool", "tool_call_id": _required(item, "call_id", where), "content": _output(item, where)}
            )
        )
    elif kind == "reasoning":
        return
    elif kind == "item_reference":
        raise InvalidRequest(NOT_STORED.format("`item_reference`"), code="unsupported_parameter", param=where)
    else:
        raise InvalidRequest(f"{where}: items of type {kind!r} are not supported", param=where)


def _message(item: dict[str, Any], where: str) -> ChatMessage:
    role = item.get("role")
    if role not in ROLES:
        raise InvalidRequest(f"{where}.role must be one of {sorted(ROLES)}", param=f"{where}.role")
    content = item.get("content")
    if isinstance(content, str):
        return ChatMessage(role=role, content=content)
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content must be a string or a list of parts", param=f"{where}.content")
    return ChatMessage(role=role, content=[_part(part, f"{where}.content[{i}]") for i, part in enumerate(content)])


def _part(part: Any, where: str) -> dict[str, Any]:
    """A Responses content part -> the chat completions part to_arena reads."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text")}
    if kind == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal")}
    if kind == "input_image":
        if part.get("image_url") is None:
            raise InvalidRequest(f"{where}: uploaded file ids are not supported; send image_url", param=where)
        return {"type": "image_url", "image_url": {"url": part["image_url"], "detail": part.get("detail") or "auto"}}
    if kind == "input_file":
        if part.get("file_data") is None:
            raise InvalidRequest(f"{where}: send the file inline as file_data (a data: URL)", param=where)
        return {"type": "file", "file": {"file_data": part["file_data"], "filename": part.get("filename")}}
    raise InvalidRequest(f"{where}: unsupported content part type {kind!r}", param=where)


def _output(item: dict[str, Any], where: str) -> str | list[dict[str, Any]]:
    output = item.get("output")
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return [_part(part, f"{where}.output[{i}]") for i, part in enumerate(output)]
    raise InvalidRequest(f"{where}.output must be a string or a list of parts", param=f"{where}.output")


def _required(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{where}.{key} is required", code="missing_field", param=f"{where}.{key}")
    return value
