"""OpenAI chat messages -> the arena's messages (text plus attachments).

Roles: `developer` is treated as `system`; `tool`/`function` results are sent
as user text, each in a `<tool_result name call_id>` block, and an assistant's
`tool_calls` follow its text as `<tool_call>` blocks (bridge.tools renders both).
Content parts: `text` (and an assistant's `refusal`) are joined with blank
lines, as the seed did; `image_url` (a data: URL of any file type, or an http(s)
URL), `input_audio` (base64 + format) and `file` (`file_data` + `filename`) each
become one `experimental_attachments` entry `{name, contentType, url}`. A user
message left without text is sent as " ". A message's `name` (SillyTavern's
`example_user`, a character's name) becomes a speaker label in front of its
text: `<name>: <text>`; a tool result's `name` is the tool's instead.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
from collections.abc import Sequence
from typing import Any

from browser.arena import ArenaMessage

from ..chat import EMPTY_USER_TEXT
from ..errors import InvalidRequest, RequestTooLarge
from ..tools import render_tool_call, render_tool_result
from .schemas import ChatMessage
from .tool_calls import call_names, calls_of

ROLE_MAP = {"developer": "system", "tool": "user", "function": "user"}
DATA_URL_RE = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*)(;base64)?,(.*)$", re.DOTALL)
AUDIO_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg", "flac": "audio/flac", "m4a": "audio/mp4"}
WELL_KNOWN_KINDS = ("image/", "audio/", "video/", "text/")
NAME_PREFIXES = {"image": "image", "audio": "audio", "video": "video"}
IMAGE_DETAILS = ("auto", "low", "high")
TEXT_JOINER = "\n\n"
JSON_INSTRUCTION = "Answer with one valid JSON object and nothing else: no other text, no Markdown code fence."


def to_arena(
    messages: Sequence[ChatMessage], *, max_attachment_bytes: int, labels: Sequence[str] | None = None
) -> list[ArenaMessage]:
    """Convert the whole conversation; raises InvalidRequest naming the bad part.

    The limit counts the attachments as sent (their base64), as the arena does.
    `labels[i]` names message i in errors (default `messages[i]`; the Responses API names its input items).
    """
    names = call_names(messages)
    labels = labels or [f"messages[{i}]" for i in range(len(messages))]
    converted = [_convert(label, m, names) for label, m in zip(labels, messages)]
    total = sum(encoded_size(a["url"]) for m in converted for a in m.attachments)
    if total > max_attachment_bytes:
        raise RequestTooLarge(
            f"the attachments add up to {total} bytes of base64, over the limit of {max_attachment_bytes} "
            "(max_attachment_bytes; the arena refuses about 5 MB): send smaller or fewer files",
            code="attachment_too_large",
            param="messages",
        )
    return converted


def format_instruction(response_format: dict[str, Any] | None) -> ArenaMessage | None:
    """OpenAI's `response_format`, approximated: the arena has no structured output, so the model
    is told in a leading system message (`json_object`, or `json_schema` with its schema); the
    answer is not checked. `text` or none: None. Another type: InvalidRequest."""
    kind = (response_format or {}).get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        return ArenaMessage("system", JSON_INSTRUCTION)
    if kind == "json_schema":
        spec = (response_format or {}).get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise InvalidRequest(
                "response_format.json_schema.schema must be a JSON Schema object",
                param="response_format.json_schema.schema",
            )
        text = f"{JSON_INSTRUCTION} It must match this JSON Schema:\n{json.dumps(schema, ensure_ascii=False)}"
        return ArenaMessage("system", text)
    raise InvalidRequest(
        f"response_format.type {kind!r} is not one of text, json_object, json_schema", param="response_format.type"
    )


def encoded_size(url: str) -> int:
    """The bytes a data: URL's payload takes upstream; 0 for links."""
    return len(url.partition(",")[2]) if url.startswith("data:") else 0


def _convert(label: str, message: ChatMessage, names: dict[str, str]) -> ArenaMessage:
    role = ROLE_MAP.get(message.role, message.role)
    content = message.content
    texts: list[str] = []
    attachments: list[dict[str, str]] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for part_index, part in enumerate(content):
            where = f"{label}.content[{part_index}]"
            kind = part.get("type")
            if kind in ("text", "refusal"):
                texts.append(_string(part.get(kind), f"{where}.{kind}"))
            else:
                attachments.append(_attachment(kind, part, where, len(attachments) + 1))
    text = TEXT_JOINER.join(texts)
    if message.role in ("tool", "function"):
        call_id = str((message.model_extra or {}).get("tool_call_id") or "")
        text = render_tool_result(call_id, text, name=names.get(call_id) or message.name)
    elif message.name and message.name.strip() and text.strip():
        text = f"{message.name.strip()}: {text}"
    if message.role == "assistant" and (calls := calls_of(message)):
        text = TEXT_JOINER.join([text] * bool(text.strip()) + [render_tool_call(call) for call in calls])
    if role == "user" and not text.strip():
        text = EMPTY_USER_TEXT
    return ArenaMessage(role, text, tuple(attachments))


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{where} must be a string", code="invalid_value", param=where)
    return value


def _attachment(kind: Any, part: dict[str, Any], where: str, number: int) -> dict[str, str]:
    if kind == "image_url":
        return _image(part, where, number)
    if kind == "input_audio":
        return _audio(part, where, number)
    if kind == "file":
        return _file(part, where, number)
    raise _invalid(where, f"unsupported content part type {kind!r} (use text, image_url, input_audio or file)")


def _image(part: dict[str, Any], where: str, number: int) -> dict[str, str]:
    image = part.get("image_url")
    url = _string(image.get("url") if isinstance(image, dict) else image, where + ".image_url.url")
    detail = image.get("detail") if isinstance(image, dict) else None
    # The seed's clients sent the original file name in `detail`.
    name = detail if isinstance(detail, str) and detail.strip() and detail not in IMAGE_DETAILS else None
    return _from_url(url, where, name, number)


def _audio(part: dict[str, Any], where: str, number: int) -> dict[str, str]:
    audio = part.get("input_audio")
    audio = audio if isinstance(audio, dict) else {}
    data = _string(audio.get("data"), where + ".input_audio.data")
    fmt = _string(audio.get("format", "wav"), where + ".input_audio.format").lower()
    mime = AUDIO_TYPES.get(fmt) or mimetypes.types_map.get(f".{fmt}")
    if mime is None or not mime.startswith("audio/"):
        raise _invalid(where, f"unknown audio format {fmt!r} (use one of {', '.join(AUDIO_TYPES)})")
    _check_base64(data, where)
    return {"name": f"audio_{number}.{fmt}", "contentType": mime, "url": f"data:{mime};base64,{data}"}


def _file(part: dict[str, Any], where: str, number: int) -> dict[str, str]:
    file = part.get("file")
    file = file if isinstance(file, dict) else {}
    if "file_data" not in file and "file_id" in file:
        raise _invalid(where, "uploaded file ids are not supported; send the file inline as file.file_data")
    data = _string(file.get("file_data"), where + ".file.file_data")
    filename = file.get("filename")
    name = filename if isinstance(filename, str) and filename.strip() else None
    if not data.startswith("data:"):
        mime = mimetypes.guess_type(name or "")[0]
        if mime is None:
            raise _invalid(where, f"cannot tell the type of {name or 'the file'!r}; send file_data as a data: URL")
        _check_base64(data, where)
        data = f"data:{mime};base64,{data}"
    return _from_url(data, where, name, number)


def _from_url(url: str, where: str, name: str | None, number: int) -> dict[str, str]:
    if url.startswith("data:"):
        match = DATA_URL_RE.match(url)
        if match is None or not match.group(1):
            raise _invalid(where, "not a data URL with a MIME type (data:<type>;base64,...)")
        mime = match.group(1).lower()
        if mimetypes.guess_extension(mime) is None and not mime.startswith(WELL_KNOWN_KINDS):
            raise _invalid(where, f"unknown MIME type {mime!r}")
        if not match.group(3):
            raise _invalid(where, "the data URL must be base64 encoded (data:<type>;base64,...)")
        _check_base64(match.group(4), where)
        return {"name": name or _default_name(mime, number), "contentType": mime, "url": url}
    if url.startswith(("http://", "https://")):
        path_name = url.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
        mime = mimetypes.guess_type(path_name)[0] or "image/png"
        return {"name": name or path_name or _default_name(mime, number), "contentType": mime, "url": url}
    raise _invalid(where, "the URL must be a data: URL or an http(s) URL")


def _default_name(mime: str, number: int) -> str:
    prefix = NAME_PREFIXES.get(mime.split("/", 1)[0], "file")
    return f"{prefix}_{number}{mimetypes.guess_extension(mime) or ''}"


def _check_base64(data: str, where: str) -> None:
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid(where, "invalid base64 data") from exc


def _invalid(where: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"{where}: {why}", code="invalid_attachment", param=where)
