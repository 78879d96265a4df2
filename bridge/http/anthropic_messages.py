"""Anthropic Messages API requests -> the arena's messages (text plus attachments).

Request bodies (Anthropic's API reference, "Messages" and "Count tokens"): `system` is a
string or a list of text blocks (`cache_control` and other block fields are accepted and
ignored); each message's `content` is a string or a list of blocks:

    text                 -> text, joined with blank lines
    image                -> one attachment; `source` {type: base64, media_type, data} or {type: url, url}
    document             -> `source` base64 / url: an attachment; text / content: text
    tool_use             -> text: the assistant's call, as tools.py renders it
    tool_result          -> text: the result (string or blocks, `is_error`), as tools.py renders it;
                            images inside it become attachments
    thinking, redacted_thinking -> dropped (the arena cannot take them back)

Anything else is a 400 `invalid_request_error` naming the block. Sampling fields
(`temperature`, `top_p`, `top_k`), `metadata`, `thinking` and `service_tier` are
accepted; the arena has no use for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from browser.arena import ArenaMessage

from ..chat import EMPTY_USER_TEXT
from ..errors import InvalidRequest, RequestTooLarge
from ..tool_use import ToolSetup
from ..tools import (
    AUTO,
    NONE,
    REQUIRED,
    InvalidTool,
    Tool,
    ToolCall,
    ToolChoice,
    check_tools,
    render_tool_call,
    render_tool_result,
)
from .messages import TEXT_JOINER, _from_url, encoded_size

DROPPED_BLOCKS = ("thinking", "redacted_thinking")
CLIENT_METADATA_PREFIX = "x-anthropic-billing-header:"
TOOL_USE_ID_PREFIX = "toolu_"


class MessageParam(BaseModel):
    model_config = ConfigDict(extra="allow")

    # "system": Claude Code's mid-conversation system messages (beta `mid-conversation-system-2026-04-07`)
    role: Literal["user", "assistant", "system"]
    content: str | list[dict[str, Any]]


class CountTokensRequest(BaseModel):
    """`POST /v1/messages/count_tokens`: the conversation, without `max_tokens`."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None


class MessagesRequest(CountTokensRequest):
    """`POST /v1/messages`."""

    max_tokens: int = Field(ge=1)
    stop_sequences: list[str] | None = None
    stream: bool = False


def tool_setup(body: CountTokensRequest) -> ToolSetup:
    """`tools` ({name, description, input_schema}) and `tool_choice` ({type: auto | any | tool | none,
    name, disable_parallel_tool_use}) -> a ToolSetup with `toolu_` call ids; InvalidRequest for anything
    unusable."""
    tools = [_tool(i, t) for i, t in enumerate(body.tools or [])]
    choice, parallel = _choice(body.tool_choice)
    try:
        check_tools(tools, choice)
    except InvalidTool as exc:
        param = "tool_choice" if exc.index is None else f"tools[{exc.index}]"
        raise InvalidRequest(exc.message, code="invalid_value", param=param) from exc
    return ToolSetup(tuple(tools), choice, parallel, id_prefix=TOOL_USE_ID_PREFIX)


def _tool(index: int, tool: dict[str, Any]) -> Tool:
    where = f"tools[{index}]"
    if tool.get("type") not in (None, "custom"):
        raise _invalid(
            where,
            f"tool type {tool.get('type')!r} runs on Anthropic's servers; the bridge takes only custom tools (name, description, input_schema)",
        )
    schema = tool.get("input_schema", {"type": "object", "properties": {}})
    if not isinstance(schema, dict):
        raise _invalid(where + ".input_schema", "must be a JSON Schema object")
    description = tool.get("description", "")
    return Tool(_string(tool.get("name"), where + ".name"), description if isinstance(description, str) else "", schema)


def _choice(choice: dict[str, Any] | None) -> tuple[ToolChoice, bool]:
    if choice is None:
        return AUTO, True
    parallel = choice.get("disable_parallel_tool_use") is not True
    kind = choice.get("type")
    if kind == "auto":
        return AUTO, parallel
    if kind == "any":
        return REQUIRED, parallel
    if kind == "none":
        return NONE, parallel
    if kind == "tool":
        return ToolChoice.named(_string(choice.get("name"), "tool_choice.name")), parallel
    raise _invalid("tool_choice.type", f"unknown tool_choice type {kind!r} (use auto, any, tool or none)")


def to_arena(body: CountTokensRequest, *, max_attachment_bytes: int) -> list[ArenaMessage]:
    """The whole conversation for the arena; raises InvalidRequest naming the bad part.

    The tool instructions are not in it: ToolSetup.instruct() adds them.
    """
    system = _system_text(body.system)
    converted = [ArenaMessage("system", system)] if system else []
    names: dict[str, str] = {}
    converted += [_convert(i, m, names) for i, m in enumerate(body.messages)]
    total = sum(encoded_size(a["url"]) for m in converted for a in m.attachments)
    if total > max_attachment_bytes:
        raise RequestTooLarge(
            f"the images and documents add up to {total} bytes of base64, over the limit of {max_attachment_bytes} "
            "(max_attachment_bytes; the arena refuses about 5 MB): send smaller or fewer files",
            code="attachment_too_large",
            param="messages",
        )
    return converted


def _system_text(system: str | list[dict[str, Any]] | None) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    texts = []
    for index, block in enumerate(system):
        if block.get("type") != "text":
            raise _invalid(f"system[{index}]", f"system blocks must be text blocks, not {block.get('type')!r}")
        text = _string(block.get("text"), f"system[{index}].text")
        if not text.startswith(CLIENT_METADATA_PREFIX):  # Claude Code's billing line: not for the model
            texts.append(text)
    return TEXT_JOINER.join(texts)


class _Parts:
    """The text pieces and attachments of one message, in order; `names` maps tool_use ids to tool names."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.texts: list[str] = []
        self.attachments: list[dict[str, str]] = []

    def attach(self, url: str, where: str, name: str | None = None) -> None:
        self.attachments.append(_from_url(url, where, name, len(self.attachments) + 1))


def _convert(index: int, message: MessageParam, names: dict[str, str]) -> ArenaMessage:
    parts = _Parts(names)
    if isinstance(message.content, str):
        parts.texts.append(message.content)
    else:
        for block_index, block in enumerate(message.content):
            _block(parts, block, f"messages[{index}].content[{block_index}]", message.role)
    text = TEXT_JOINER.join(t for t in parts.texts if t)
    if message.role == "user" and not text.strip():
        text = EMPTY_USER_TEXT
    return ArenaMessage(message.role, text, tuple(parts.attachments))


def _block(parts: _Parts, block: dict[str, Any], where: str, role: str) -> None:
    kind = block.get("type")
    if kind == "text":
        parts.texts.append(_string(block.get("text"), where + ".text"))
    elif kind == "image":
        parts.attach(_source_url(block.get("source"), where + ".source", "image"), where)
    elif kind == "document":
        _document(parts, block, where)
    elif kind == "tool_use" and role == "assistant":
        parts.texts.append(_tool_use_text(parts, block, where))
    elif kind == "tool_result" and role == "user":
        parts.texts.append(_tool_result_text(parts, block, where))
    elif kind in DROPPED_BLOCKS:
        return
    else:
        allowed = {
            "assistant": "text, image, document, tool_use, thinking",
            "user": "text, image, document, tool_result",
        }.get(role, "text, image, document")
        raise _invalid(where, f"unsupported content block type {kind!r} in a {role} message (use {allowed})")


def _source_url(source: Any, where: str, kind: str) -> str:
    """A base64 or url `source` as a URL the arena takes (a data: URL or the link)."""
    if not isinstance(source, dict):
        raise _invalid(where, f"the {kind} needs a source object")
    source_type = source.get("type")
    if source_type == "base64":
        media_type = _string(source.get("media_type"), where + ".media_type")
        data = _string(source.get("data"), where + ".data")
        return f"data:{media_type};base64,{data}"
    if source_type == "url":
        return _string(source.get("url"), where + ".url")
    raise _invalid(where, f"source type {source_type!r} is not supported (use base64 or url)")


def _document(parts: _Parts, block: dict[str, Any], where: str) -> None:
    source = block.get("source")
    title = block.get("title") if isinstance(block.get("title"), str) else None
    if isinstance(source, dict) and source.get("type") == "text":
        parts.texts.append(_string(source.get("data"), where + ".source.data"))
    elif isinstance(source, dict) and source.get("type") == "content":
        parts.texts.append(_nested_text(parts, source.get("content"), where + ".source.content"))
    else:
        parts.attach(_source_url(source, where + ".source", "document"), where, title)


def _nested_text(parts: _Parts, content: Any, where: str) -> str:
    """A string, or blocks of text and images (as in tool_result content); images become attachments."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _invalid(where, "must be a string or a list of content blocks")
    texts = []
    for index, block in enumerate(content):
        inner = f"{where}[{index}]"
        if not isinstance(block, dict):
            raise _invalid(inner, "must be a content block object")
        kind = block.get("type")
        if kind == "text":
            texts.append(_string(block.get("text"), inner + ".text"))
        elif kind == "image":
            parts.attach(_source_url(block.get("source"), inner + ".source", "image"), inner)
        elif kind == "document":
            _document(parts, block, inner)
        else:
            raise _invalid(inner, f"unsupported content block type {kind!r} (use text, image or document)")
    return TEXT_JOINER.join(texts)


def _tool_use_text(parts: _Parts, block: dict[str, Any], where: str) -> str:
    name = _string(block.get("name"), where + ".name")
    call_id = block.get("id")
    call_id = call_id if isinstance(call_id, str) else ""
    arguments = block.get("input", {})
    if not isinstance(arguments, dict):
        raise _invalid(where + ".input", "must be an object")
    parts.names[call_id] = name
    return render_tool_call(ToolCall(call_id, name, arguments))


def _tool_result_text(parts: _Parts, block: dict[str, Any], where: str) -> str:
    call_id = _string(block.get("tool_use_id"), where + ".tool_use_id")
    content = block.get("content")
    text = _nested_text(parts, content if content is not None else "", where + ".content")
    return render_tool_result(call_id, text, name=parts.names.get(call_id), is_error=block.get("is_error") is True)


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{where} must be a string", code="invalid_value", param=where)
    return value


def _invalid(where: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"{where}: {why}", code="invalid_value", param=where)


def prompt_text(messages: Sequence[ArenaMessage]) -> str:
    """All the text the arena receives, for token estimates."""
    return "\n".join(m.content for m in messages)
