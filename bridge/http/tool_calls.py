"""OpenAI chat completions' tool shapes <-> bridge.tools (emulated tool calling).

Request (https://platform.openai.com/docs/api-reference/chat/create):
`tools: [{"type": "function", "function": {"name", "description", "parameters", "strict"}}]`,
`tool_choice: "none" | "auto" | "required" | {"type": "function", "function": {"name"}}`,
`parallel_tool_calls: bool` (default true). History: an assistant message's
`tool_calls: [{"id", "type": "function", "function": {"name", "arguments": "<JSON>"}}]`
and `{"role": "tool", "tool_call_id", "content"}` results, rendered as text by
bridge.tools. Answer: `message.tool_calls` with `finish_reason: "tool_calls"`; in
a stream one delta `{"tool_calls": [{"index", "id", "type", "function": {"name",
"arguments"}}]}` after the content. Bad tool definitions are InvalidRequest (400).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import InvalidRequest
from ..tool_use import ToolSetup
from ..tools import AUTO, InvalidTool, Tool, ToolCall, ToolChoice, check_tools

Mode = Literal["none", "auto", "required"]


class FunctionDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class FunctionTool(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function"]
    function: NamedFunction


class ChatTools(BaseModel):
    """The tool fields of a chat completion request (the rest of the body is ignored here)."""

    model_config = ConfigDict(extra="ignore")

    tools: list[FunctionTool] | None = None
    tool_choice: Mode | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None  # null or absent: true


def chat_tool_setup(body: Mapping[str, Any]) -> ToolSetup | None:
    """The request's tools, or None when it brings none; InvalidRequest naming the bad field otherwise."""
    try:
        fields = ChatTools.model_validate(dict(body))
    except ValidationError as exc:
        error = exc.errors()[0]
        param = ".".join(str(p) for p in error["loc"])
        raise InvalidRequest(
            f"{param}: {error['msg']} (tools are [{{'type': 'function', 'function': {{'name', 'description', "
            "'parameters'}}}}]; tool_choice is 'none', 'auto', 'required' or {'type': 'function', "
            "'function': {'name'}})",
            param=param,
        ) from exc
    if not fields.tools:
        return None
    tools = tuple(
        Tool(t.function.name, t.function.description or "", t.function.parameters or {"type": "object"})
        for t in fields.tools
    )
    choice = _choice(fields.tool_choice)
    setup = ToolSetup(tools, choice, fields.parallel_tool_calls is not False)
    try:
        check_tools(setup.tools, setup.choice)
    except InvalidTool as exc:
        param = "tool_choice" if exc.index is None else f"tools[{exc.index}].function"
        raise InvalidRequest(exc.message, param=param) from exc
    return setup


def _choice(value: Mode | NamedToolChoice | None) -> ToolChoice:
    if value is None:
        return AUTO
    if isinstance(value, NamedToolChoice):
        return ToolChoice.named(value.function.name)
    return ToolChoice(value)


def openai_tool_calls(calls: Iterable[ToolCall], *, indexed: bool = False) -> list[dict[str, Any]]:
    """Calls in OpenAI's shape; `indexed` adds each call's `index` (stream deltas)."""
    shaped = []
    for index, call in enumerate(calls):
        item: dict[str, Any] = {"index": index} if indexed else {}
        item |= {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments_json()}}
        shaped.append(item)
    return shaped


def with_tool_calls(choice: dict[str, Any], calls: Sequence[ToolCall]) -> dict[str, Any]:
    """A chat completion choice with the calls as its message's `tool_calls` (content null when empty)."""
    if calls:
        message = choice["message"]
        message["content"] = message["content"] or None
        message["tool_calls"] = openai_tool_calls(calls)
    return choice


def call_names(messages: Sequence[Any]) -> dict[str, str]:
    """Tool call id -> tool name over the assistant messages' `tool_calls` (tool results carry only the id)."""
    names: dict[str, str] = {}
    for message in messages:
        for call in calls_of(message):
            if call.id:
                names[call.id] = call.name
    return names


def calls_of(message: Any) -> list[ToolCall]:
    """An assistant message's `tool_calls` (and the older `function_call`) as ToolCalls, for rendering."""
    extra = getattr(message, "model_extra", None) or {}
    raw = extra.get("tool_calls") or []
    if isinstance(extra.get("function_call"), dict):
        raw = [*raw, {"id": "", "function": extra["function_call"]}]
    calls = []
    for item in raw if isinstance(raw, list) else []:
        function = item.get("function") if isinstance(item, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            calls.append(ToolCall(str(item.get("id") or ""), function["name"], _arguments(function.get("arguments"))))
    return calls


def _arguments(value: Any) -> Any:
    """The arguments JSON string as an object; a string that is no JSON stays as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else {}
        except ValueError:
            return value
    return value if value is not None else {}
