"""OpenAI chat messages -> the arena's messages (text plus attachments).

Roles: `developer` is treated as `system`; `tool`/`function` results are sent
as user text. Content parts: `text`, `image_url`, `input_audio`, `file`; each
non-text part becomes one `experimental_attachments` entry.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Sequence
from typing import Any

from browser.arena import ArenaMessage

from .errors import InvalidRequest, RequestTooLarge
from .schemas import ChatMessage

ROLE_MAP = {"developer": "system", "tool": "user", "function": "user"}
DATA_URL_RE = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*)(;base64)?,(.*)$", re.DOTALL)
AUDIO_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg", "flac": "audio/flac", "m4a": "audio/mp4"}
EMPTY_USER_TEXT = " "


def to_arena(messages: Sequence[ChatMessage], *, max_attachment_bytes: int) -> list[ArenaMessage]:
    """Convert the whole conversation; raises InvalidRequest naming the bad part."""
    converted = [_convert(i, m) for i, m in enumerate(messages)]
    total = sum(_decoded_size(a["url"]) for m in converted for a in m.attachments)
    if total > max_attachment_bytes:
        raise RequestTooLarge(
            f"attachments add up to {total} bytes, over the limit of {max_attachment_bytes}; "
            "send smaller or fewer files",
            code="attachment_too_large",
        )
    return converted


def _convert(index: int, message: ChatMessage) -> ArenaMessage:
    role = ROLE_MAP.get(message.role, message.role)
    content = message.content
    texts: list[str] = []
    attachments: list[dict[str, str]] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for part_index, part in enumerate(content):
            where = f"messages[{index}].content[{part_index}]"
            kind = part.get("type")
            if kind == "text":
                texts.append(_string(part.get("text"), where + ".text"))
            else:
                attachments.append(_attachment(kind, part, where, len(attachments)))
    text = "\n".join(texts)
    if role == "user" and not text.strip():
        text = EMPTY_USER_TEXT
    return ArenaMessage(role, text, tuple(attachments))


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{where} must be a string", code="invalid_value", param=where)
    return value


def _attachment(kind: Any, part: dict[str, Any], where: str, number: int) -> dict[str, str]:
    if kind == "image_url":
        image = part.get("image_url")
        url = _string(image.get("url") if isinstance(image, dict) else image, where + ".image_url.url")
        return _from_url(url, where, f"image_{number + 1}")
    if kind == "input_audio":
        audio = part.get("input_audio") if isinstance(part.get("input_audio"), dict) else {}
        data = _string(audio.get("data"), where + ".input_audio.data")
        fmt = _string(audio.get("format", "wav"), where + ".input_audio.format").lower()
        mime = AUDIO_TYPES.get(fmt) or mimetypes.types_map.get(f".{fmt}")
        if mime is None:
            raise _invalid(where, f"unknown audio format {fmt!r}")
        _check_base64(data, where)
        return {"name": f"audio_{number + 1}.{fmt}", "contentType": mime, "url": f"data:{mime};base64,{data}"}
    if kind == "file":
        file = part.get("file") if isinstance(part.get("file"), dict) else {}
        url = _string(file.get("file_data"), where + ".file.file_data")
        name = file.get("filename") if isinstance(file.get("filename"), str) else f"file_{number + 1}"
        if not url.startswith("data:"):
            mime = mimetypes.guess_type(name)[0]
            if mime is None:
                raise _invalid(where, f"cannot tell the type of {name!r}; send file_data as a data: URL")
            _check_base64(url, where)
            url = f"data:{mime};base64,{url}"
        return _from_url(url, where, name)
    raise _invalid(where, f"unsupported content part type {kind!r} (use text, image_url, input_audio or file)")


def _from_url(url: str, where: str, name: str) -> dict[str, str]:
    if url.startswith("data:"):
        match = DATA_URL_RE.match(url)
        if match is None or not match.group(1):
            raise _invalid(where, "not a data URL with a MIME type (data:<type>;base64,...)")
        mime = match.group(1).lower()
        if mimetypes.guess_extension(mime) is None and not mime.startswith(("image/", "audio/", "video/", "text/")):
            raise _invalid(where, f"unknown MIME type {mime!r}")
        if not match.group(3):
            raise _invalid(where, "the data URL must be base64 encoded")
        _check_base64(match.group(4), where)
        if "." not in name:
            name += mimetypes.guess_extension(mime) or ""
        return {"name": name, "contentType": mime, "url": url}
    if url.startswith(("http://", "https://")):
        mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/png"
        return {"name": url.rsplit("/", 1)[-1].split("?", 1)[0] or name, "contentType": mime, "url": url}
    raise _invalid(where, "the URL must be a data: URL or an http(s) URL")


def _check_base64(data: str, where: str) -> None:
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid(where, "invalid base64 data") from exc


def _decoded_size(url: str) -> int:
    if not url.startswith("data:"):
        return 0
    payload = url.partition(",")[2]
    return len(payload) * 3 // 4


def _invalid(where: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"{where}: {why}", code="invalid_attachment", param=where)
