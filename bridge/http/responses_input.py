"""A Responses API request's `input`, `instructions` and `tools` -> chat messages and bridge.tools.

Input items (https://platform.openai.com/docs/api-reference/responses/create#responses-create-input):
messages (`role` user/assistant/system/developer; content a string or `input_text`,
`input_image`, `input_file`, `output_text`, `refusal` parts), `function_call` and
`custom_tool_call` (an assistant's call), `function_call_output` and
`custom_tool_call_output` (a result); `item_reference` is 400 (nothing is stored);
`reasoning` items and the items of OpenAI's hosted tools (`web_search_call`,
`local_shell_call`, ...) are left out. They become chat completions messages, so http/messages.py
to_arena renders them (attachments, `<tool_call>`/`<tool_result>` text).

Tools: `function` tools as they are; `custom` tools (free-text input, such as Codex
CLI's `apply_patch`) as a function with one string argument `input`, their answer going
back as `custom_tool_call` items; other types (`web_search`, `file_search`, ...) need
OpenAI's servers and are left out, with a log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest
from ..tool_use import ToolSetup
from ..tools import AUTO, InvalidTool, Tool, ToolChoice, check_tools
from .schemas import ChatMessage

log = logging.getLogger(__name__)

ROLES = {"user", "assistant", "system", "developer"}
CUSTOM_ARGUMENT = "input"
CUSTOM_NOTE = (
    'This tool takes free text. Here, call it with one argument, "input": the whole text as a JSON string '
    "(newlines escaped as \\n)."
)
NOT_STORED = (
    "{} is not supported: this bridge stores no responses or conversations (it is stateless). "
    "Send the whole conversation as `input` items instead"
)


@dataclass(frozen=True, slots=True)
class ResponsesTools:
    """The request's tools for the model, as the response echoes them, and which of them are custom tools."""

    setup: ToolSetup
    echoed: list[dict[str, Any]]
    custom: frozenset[str]


def responses_tools(tools: list[dict[str, Any]] | None, choice: Any, parallel: bool) -> ResponsesTools:
    """InvalidRequest for a malformed tool or a tool_choice naming no usable tool."""
    converted: list[Tool] = []
    echoed: list[dict[str, Any]] = []
    custom: set[str] = set()
    for index, spec in enumerate(tools or []):
        kind = spec.get("type")
        if kind not in ("function", "custom"):
            log.warning("tools[%d] of type %r cannot run through the arena; left out", index, kind)
            continue
        name = spec.get("name")
        description = spec.get("description") if isinstance(spec.get("description"), str) else ""
        parameters = spec.get("parameters")
        if not isinstance(name, str) or not isinstance(parameters, dict | None):
            raise InvalidRequest(
                f"tools[{index}]: a function tool is {{type: 'function', name, description, parameters}}",
                param=f"tools[{index}]",
            )
        if kind == "custom":
            custom.add(name)
            converted.append(Tool(name, _custom_description(description or "", spec.get("format")), _custom_schema()))
            echoed.append({"type": "custom", "name": name, "description": description, "format": spec.get("format")})
            continue
        converted.append(Tool(name, description or "", parameters or {"type": "object"}))
        echoed.append(
            {"type": "function", "name": name, "description": description, "parameters": parameters}
            | {"strict": spec.get("strict")}
        )
    setup = ToolSetup(tuple(converted), tool_choice(choice), parallel)
    try:
        check_tools(setup.tools, setup.choice)
    except InvalidTool as exc:
        raise InvalidRequest(exc.message, param="tool_choice" if exc.index is None else "tools") from exc
    return ResponsesTools(setup, echoed, frozenset(custom))


def _custom_description(description: str, format_: Any) -> str:
    parts = [description, CUSTOM_NOTE]
    if isinstance(format_, Mapping) and format_.get("type") == "grammar":
        parts.append(f"The text must follow this {format_.get('syntax')} grammar:\n{format_.get('definition')}")
    return "\n\n".join(p for p in parts if p)


def _custom_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {CUSTOM_ARGUMENT: {"type": "string"}},
        "required": [CUSTOM_ARGUMENT],
        "additionalProperties": False,
    }


def tool_choice(value: Any) -> ToolChoice:
    """`none` | `auto` | `required` | {type: function|custom, name}."""
    if value is None:
        return AUTO
    if value in ("none", "auto", "required"):
        return ToolChoice(value)
    if (
        isinstance(value, Mapping)
        and value.get("type") in ("function", "custom")
        and isinstance(value.get("name"), str)
    ):
        return ToolChoice.named(value["name"])
    raise InvalidRequest(
        "tool_choice must be 'none', 'auto', 'required' or {'type': 'function', 'name': ...}", param="tool_choice"
    )


def echo_choice(value: Any) -> str | dict[str, Any]:
    """tool_choice as the response repeats it."""
    if isinstance(value, Mapping):
        return {"type": value.get("type"), "name": value.get("name")}
    return value or "auto"


def text_format(text: Any) -> dict[str, Any] | None:
    """`text.format` (Responses' structured output) as chat completions' `response_format`, which
    messages.format_instruction approximates; InvalidRequest naming `text.format` when it is malformed."""
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind == "json_schema" and isinstance(fmt.get("schema"), dict):
        return {"type": "json_schema", "json_schema": {"name": fmt.get("name"), "schema": fmt["schema"]}}
    raise InvalidRequest(
        "text.format must be {type: 'text'}, {type: 'json_object'} or {type: 'json_schema', name, schema}",
        param="text.format",
    )


def input_messages(instructions: str | None, items: str | list[dict[str, Any]]) -> tuple[list[ChatMessage], list[str]]:
    """`instructions` and `input` as chat completion messages (a system message, then the items in order),
    and each message's name for errors (`instructions`, `input[i]`)."""
    messages: list[ChatMessage] = []
    labels: list[str] = []
    if instructions:
        messages.append(ChatMessage(role="system", content=instructions))
        labels.append("instructions")
    if isinstance(items, str):
        messages.append(ChatMessage(role="user", content=items))
        return messages, [*labels, "input"]
    for index, item in enumerate(items):
        where = f"input[{index}]"
        _add_item(messages, item, where)
        labels += [where] * (len(messages) - len(labels))
    if not messages:
        raise InvalidRequest("input holds no message", code="missing_field", param="input")
    return messages, labels


def _add_item(messages: list[ChatMessage], item: dict[str, Any], where: str) -> None:
    kind = item.get("type", "message")
    if kind == "message":
        messages.append(_message(item, where))
    elif kind in ("function_call", "custom_tool_call"):
        _add_call(messages, item, where, custom=kind == "custom_tool_call")
    elif kind in ("function_call_output", "custom_tool_call_output"):
        result = {"role": "tool", "tool_call_id": _required(item, "call_id", where), "content": _output(item, where)}
        messages.append(ChatMessage.model_validate(result))
    elif kind == "item_reference":
        raise InvalidRequest(NOT_STORED.format("`item_reference`"), code="unsupported_parameter", param=where)
    elif kind != "reasoning":
        log.warning("%s: an item of type %r has no meaning through the arena; left out", where, kind)


def _add_call(messages: list[ChatMessage], item: dict[str, Any], where: str, *, custom: bool) -> None:
    """An assistant's call, joined to the assistant message just before it when there is one."""
    if custom:
        arguments = json.dumps({CUSTOM_ARGUMENT: item.get("input") or ""}, ensure_ascii=False)
    else:
        arguments = item.get("arguments") or "{}"
    call = {
        "id": _required(item, "call_id", where),
        "type": "function",
        "function": {"name": _required(item, "name", where), "arguments": arguments},
    }
    last = messages[-1] if messages else None
    if last is not None and last.role == "assistant" and last.model_extra is not None:
        last.model_extra["tool_calls"] = [*(last.model_extra.get("tool_calls") or []), call]
    else:
        messages.append(ChatMessage.model_validate({"role": "assistant", "content": None, "tool_calls": [call]}))


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
