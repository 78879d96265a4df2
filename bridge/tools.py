"""Tool calling emulated over the arena's text models: no HTTP shapes here.

The arena's models know nothing of tools, so the bridge teaches them in text
(`tool_instructions`, sent with the system text) and reads their answer back
(`parse_tool_calls`). Every API surface (OpenAI chat completions, OpenAI
Responses, Anthropic Messages) converts its own shapes to `Tool`, `ToolChoice`
and `ToolCall` and back.

The format the instructions ask for is Hermes/Qwen's, which many models already
know: one block per call,

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

`parse_tool_calls` also accepts what models emit on their own: a fenced block
(```json, ```tool_call, a bare ``` or any language tag) holding `{"name", "arguments"}` or a list of
them, an answer that is only such JSON, Llama's `<function=NAME>{...}</function>`,
Mistral's `[TOOL_CALLS] [...]`, `parameters` for `arguments`, arguments as a JSON
string, OpenAI's `{"type": "function", "function": {...}}` and `{"tool_calls":
[...]}` wrappers, and JSON5 (single quotes, trailing commas). The arguments are
checked against the tool's JSON Schema (the `jsonschema` library). All or nothing:
an unknown tool, JSON that does not parse or arguments the schema refuses leave
the whole text as content and no calls. Text before the first call is content;
text after a call is dropped (it is the model guessing at results it has not seen).

Errors:

    ValueError
    └── InvalidTool   a tool definition or tool choice a client sent is unusable
                      (`index`: the tool's place in the list, None for the choice)
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import json5
import jsonschema
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

log = logging.getLogger(__name__)

ChoiceMode = Literal["none", "auto", "required", "tool"]
EMPTY_PARAMETERS: Mapping[str, Any] = {"type": "object", "properties": {}}
NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
TAG_OPEN_RE = re.compile(r"<tool_call(?:\s[^>]*)?>", re.IGNORECASE)
TAG_CLOSE_RE = re.compile(r"\s*</tool_call\s*>", re.IGNORECASE)
FENCE_RE = re.compile(r"```[ \t]*([\w+.-]*)[ \t]*\n(.*?)```", re.DOTALL)
LLAMA_RE = re.compile(r"<function=([^>\s]+)>(.*?)(?:</function>|$)", re.DOTALL)
MISTRAL_MARKER = "[TOOL_CALLS]"
OPEN_FENCE_END_RE = re.compile(r"```[\w-]*\s*$")  # a fence the call opened inside of, left dangling
STREAM_MARKERS = ("<tool_call", "```", "<function=", MISTRAL_MARKER.lower())
MARKER_REACH = max(map(len, STREAM_MARKERS))  # how far back a marker ending after a point may begin
JSON_START_RE = re.compile(r"\s*(?:[{\[]|$)")  # nothing yet but whitespace, or an answer opening with JSON
INNER_FENCE_RE = re.compile(r"^\s*```[\w-]*[ \t]*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


class InvalidTool(ValueError):
    """A tool definition or tool choice that cannot be used; `index` is the tool's place (None: the choice)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call: its name, what it does, its arguments' JSON Schema (an object schema)."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: dict(EMPTY_PARAMETERS))


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """Whether the model may, must or must not call a tool: none | auto | required | tool (the one named)."""

    mode: ChoiceMode = "auto"
    name: str | None = None

    @classmethod
    def named(cls, name: str) -> ToolChoice:
        return cls("tool", name)


AUTO = ToolChoice("auto")
NONE = ToolChoice("none")
REQUIRED = ToolChoice("required")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model made: an id for the API (`call_...` by default), the tool's name, its arguments."""

    id: str
    name: str
    arguments: dict[str, Any]

    def arguments_json(self) -> str:
        """The arguments as the JSON string OpenAI's APIs carry."""
        return json.dumps(self.arguments, ensure_ascii=False)


def new_call_id(prefix: str = "call_") -> str:
    """A fresh call id: the prefix and 24 hex digits (OpenAI uses `call_`, Anthropic `toolu_`)."""
    return prefix + uuid.uuid4().hex[:24]


def check_tools(tools: Sequence[Tool], choice: ToolChoice = AUTO) -> None:
    """Raise InvalidTool for a bad name, parameters that are not an object, a repeated name, or a tool
    choice naming no given tool ("required"/a named tool with no tools at all included).

    A schema that is not valid JSON Schema (MCP servers write some) is no error: the tool stays
    usable, its arguments are only checked to be an object, and a warning says so."""
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        if not NAME_RE.match(tool.name):
            raise InvalidTool(f"tool name {tool.name!r} must be 1-128 letters, digits, '_', '-', '.' or ':'", index)
        if tool.name in seen:
            raise InvalidTool(f"tool name {tool.name!r} is given twice", index)
        seen.add(tool.name)
        if not isinstance(tool.parameters, Mapping):
            raise InvalidTool(f"the parameters of tool {tool.name!r} must be a JSON Schema object", index)
        if (problem := _schema_problem(tool.parameters)) is not None:
            log.warning(
                "the arguments of tool %r will not be checked: its schema is not valid (%s)", tool.name, problem
            )
    if choice.mode in ("required", "tool") and not tools:
        raise InvalidTool(f"tool_choice {choice.mode!r} needs at least one tool")
    if choice.mode == "tool" and choice.name not in seen:
        raise InvalidTool(f"tool_choice names {choice.name!r}, which is not among the tools")


def tool_instructions(tools: Sequence[Tool], choice: ToolChoice = AUTO, parallel: bool = True) -> str:
    """The system-prompt text that teaches the model the tools and the one format to call them in.

    Empty when there are no tools. With choice "none" only a line saying not to call any.
    """
    if not tools:
        return ""
    if choice.mode == "none":
        return "Tools are not available for this answer: answer in plain text, without any <tool_call> block."
    listing = "\n".join(
        json.dumps({"name": t.name, "description": t.description, "parameters": t.parameters}, ensure_ascii=False)
        for t in tools
    )
    lines = [
        "# Tools",
        "",
        "You can call the following tools (functions). Each is given as JSON: its name, what it does, "
        "and the JSON Schema its arguments must match.",
        "",
        "<tools>",
        listing,
        "</tools>",
        "",
        "To call a tool, write a block in exactly this form (the arguments are a JSON object):",
        "<tool_call>",
        '{"name": "<tool name>", "arguments": {"<argument>": <value>}}',
        "</tool_call>",
        "",
        "You may write a short sentence before the block. After your tool call(s), stop: the results come back "
        "to you in the next message inside <tool_result> blocks. Never write a tool result yourself.",
        _parallel_rule(parallel),
        _choice_rule(choice),
    ]
    return "\n".join(lines)


def _parallel_rule(parallel: bool) -> str:
    if parallel:
        return "To call several tools at once, write one <tool_call> block per call, one after another."
    return "Call at most one tool in an answer."


def _choice_rule(choice: ToolChoice) -> str:
    if choice.mode == "required":
        return "In this answer you must call at least one tool."
    if choice.mode == "tool":
        return f"In this answer you must call the tool {choice.name!r}."
    return "Call a tool only when it helps; otherwise answer normally, in plain text with no <tool_call> block."


def render_tool_call(call: ToolCall) -> str:
    """An earlier call as the model would have written it (the instructed format), for history."""
    body = json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def render_tool_result(call_id: str, content: str, *, name: str | None = None, is_error: bool = False) -> str:
    """A tool's result as readable text for the model: a <tool_result> block naming the call it answers."""
    attributes = f' name="{name}"' if name else ""
    attributes += f' call_id="{call_id}"' if call_id else ""
    attributes += ' is_error="true"' if is_error else ""
    return f"<tool_result{attributes}>\n{content}\n</tool_result>"


def streamable_prefix(text: str, start: int = 0) -> int:
    """How many leading characters of a partial answer are surely content, whatever follows.

    For streaming while a call may still come: everything before the first place a
    call could start (`<tool_call`, a ``` fence, `<function=`, `[TOOL_CALLS]`, or the
    answer opening with JSON), without trailing whitespace (which parse_tool_calls
    strips before a call), and without a partial marker at the end. What is streamed
    is always a prefix of the content parse_tool_calls finally returns for the whole
    answer. `start`: a value this returned for an earlier prefix of `text`; the scan
    begins there (the result is the same, found in time linear in the new text).
    """
    if JSON_START_RE.match(text):
        return 0
    scan_from = max(0, start - MARKER_REACH)
    window = text[scan_from:].lower()
    end = scan_from + min(_marker_start(window, marker) for marker in STREAM_MARKERS)
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _marker_start(lowered: str, marker: str) -> int:
    """Where `marker` (or, at the very end, a beginning of it) first starts; len(lowered) when nowhere."""
    found = lowered.find(marker)
    if found >= 0:
        return found
    for size in range(len(marker) - 1, 0, -1):
        if lowered.endswith(marker[:size]):
            return len(lowered) - size
    return len(lowered)


def allowed_tools(tools: Sequence[Tool], choice: ToolChoice) -> list[Tool]:
    """The tools an answer may call under the choice: none for "none", only the named one for a named choice."""
    if choice.mode == "none":
        return []
    if choice.mode == "tool":
        return [t for t in tools if t.name == choice.name]
    return list(tools)


def parse_tool_calls(
    text: str,
    tools: Sequence[Tool],
    *,
    choice: ToolChoice = AUTO,
    parallel: bool = True,
    id_prefix: str = "call_",
) -> tuple[str, list[ToolCall]]:
    """The model's answer -> (content before the first call, calls); (text, []) when it holds no valid call.

    `choice` limits the tools accepted (see allowed_tools); with `parallel` False only the first call is kept.
    """
    by_name = {t.name: t for t in allowed_tools(tools, choice)}
    if not by_name:
        return text, []
    found = _tagged(text) or _llama(text) or _mistral(text) or _fenced(text) or _bare(text)
    if found is None:
        return text, []
    start, payloads = found
    calls: list[ToolCall] = []
    for payload in payloads:
        call = _call(payload, by_name, id_prefix)
        if call is None:
            return text, []
        calls.append(call)
    if not calls:
        return text, []
    return OPEN_FENCE_END_RE.sub("", text[:start]).rstrip(), calls if parallel else calls[:1]


def _tagged(text: str) -> tuple[int, list[Any]] | None:
    """<tool_call>JSON</tool_call> blocks (the closing tag may be missing at the end); a bad one -> no payloads."""
    opens = list(TAG_OPEN_RE.finditer(text))
    if not opens:
        return None
    payloads: list[Any] = []
    for match in opens:
        end_match = TAG_CLOSE_RE.search(text, match.end())
        body = text[match.end() : end_match.start() if end_match else len(text)]
        inner = INNER_FENCE_RE.match(body)
        value = _json(inner.group(1) if inner else body)
        if value is _INVALID:
            log.info("a <tool_call> block holds no valid JSON; the answer stays text")
            return opens[0].start(), [_INVALID]
        payloads.extend(_flatten(value))
    return opens[0].start(), payloads


def _llama(text: str) -> tuple[int, list[Any]] | None:
    """Llama 3.1's <function=NAME>{arguments}</function> calls."""
    matches = list(LLAMA_RE.finditer(text))
    if not matches:
        return None
    payloads = [{"name": m.group(1), "arguments": _json(m.group(2).strip() or "{}")} for m in matches]
    return matches[0].start(), [p if p["arguments"] is not _INVALID else _INVALID for p in payloads]


def _mistral(text: str) -> tuple[int, list[Any]] | None:
    """Mistral's [TOOL_CALLS] marker followed by a JSON list (or object) of calls."""
    start = text.find(MISTRAL_MARKER)
    if start < 0:
        return None
    rest = text[start + len(MISTRAL_MARKER) :].strip()
    try:
        value, _ = json.JSONDecoder(strict=False).raw_decode(rest)
    except ValueError:
        return start, [_INVALID]
    return start, _flatten(value)


def _fenced(text: str) -> tuple[int, list[Any]] | None:
    """The first fenced block whose JSON is call-shaped, with any call-shaped fences after it."""
    start: int | None = None
    payloads: list[Any] = []
    for match in FENCE_RE.finditer(text):
        value = _json(match.group(2))
        flat = _flatten(value) if value is not _INVALID else []
        if flat and all(_call_shaped(p) for p in flat):
            start = match.start() if start is None else start
            payloads.extend(flat)
    return (start, payloads) if start is not None else None


def _bare(text: str) -> tuple[int, list[Any]] | None:
    """An answer that is nothing but call-shaped JSON."""
    value = _json(text)
    flat = _flatten(value) if value is not _INVALID else []
    if flat and all(_call_shaped(p) for p in flat):
        return len(text) - len(text.lstrip()), flat
    return None


_INVALID = object()


def _json(text: str) -> Any:
    """JSON, or failing that JSON5 (single quotes, trailing commas: what models write by hand); else _INVALID."""
    try:
        return json.loads(text, strict=False)  # raw newlines inside strings, as models write patches
    except ValueError:
        pass
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return _INVALID
    try:
        return json5.loads(stripped)
    except (ValueError, TypeError, RecursionError):
        return _INVALID


def _flatten(value: Any) -> list[Any]:
    """A payload -> the call objects in it: a list, {"tool_calls": [...]}, or one object."""
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    if isinstance(value, list):
        return [item for entry in value for item in _flatten(entry)] if value else [value]
    return [value]


def _call_shaped(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    payload = _unwrap(payload)
    return isinstance(payload.get("name"), str) and ("arguments" in payload or "parameters" in payload)


def _unwrap(payload: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's {"type": "function", "function": {"name", "arguments"}} -> the inner object."""
    inner = payload.get("function")
    return inner if isinstance(inner, dict) and "name" in inner else payload


def _call(payload: Any, by_name: Mapping[str, Tool], id_prefix: str) -> ToolCall | None:
    """One payload -> a checked ToolCall, or None (logged) when it names no allowed tool or its arguments are bad."""
    if not isinstance(payload, dict):
        log.info("a tool call is not a JSON object; the answer stays text")
        return None
    payload = _unwrap(payload)
    name = payload.get("name")
    tool = by_name.get(name) if isinstance(name, str) else None
    if tool is None:
        log.info("the model called %r, which is not an allowed tool; the answer stays text", name)
        return None
    arguments = payload.get("arguments", payload.get("parameters"))
    if isinstance(arguments, str):
        arguments = _json(arguments) if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        log.info("the arguments of a call to %r are not a JSON object; the answer stays text", name)
        return None
    problem = _argument_problem(tool.parameters, arguments)
    if problem is not None:
        log.info("the arguments of a call to %r fail its schema (%s); the answer stays text", name, problem)
        return None
    return ToolCall(new_call_id(id_prefix), tool.name, arguments)


def _schema_problem(schema: Mapping[str, Any]) -> str | None:
    """Why `schema` is not valid JSON Schema (its own $schema draft, else 2020-12), or None."""
    try:
        validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    return None


def _argument_problem(schema: Mapping[str, Any], arguments: dict[str, Any]) -> str | None:
    """Why the arguments fail the schema, or None; a schema that cannot be checked (invalid, or with a
    $ref nothing resolves) lets every object through."""
    if _schema_problem(schema) is not None:
        return None
    try:
        error = best_match(validator_for(schema)(schema).iter_errors(arguments))
    except Exception as exc:  # jsonschema's referencing errors (Unresolvable, ...) have no common base
        log.warning(
            "a tool schema could not be applied (%s: %s); its arguments are not checked", type(exc).__name__, exc
        )
        return None
    return error.message if error is not None else None
