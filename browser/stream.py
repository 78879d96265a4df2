"""Parse the arena's answer stream, one complete line at a time.

The page script splits the body into lines with a streaming decoder, so this
parser only ever sees whole lines, whatever the network's chunk boundaries.
It follows the first side (`a` or `b`) that speaks and ignores the other.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from . import arena
from .errors import ArenaFailure, FailureKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ImageResult:
    url: str


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str  # OpenAI's: stop | length | content_filter
    usage: dict[str, int] | None = None


Event = TextDelta | ReasoningDelta | ImageResult | Finish


class StreamParser:
    """Turns stream lines into events; raises `ArenaFailure` for errors in the stream."""

    def __init__(self) -> None:
        self.side: str | None = None

    def feed(self, line: str) -> list[Event]:
        line = line.rstrip("\r")
        if line.startswith(arena.SSE_WRAPPER):
            line = line[len(arena.SSE_WRAPPER) :]
        if not line.strip():
            return []
        match = arena.STREAM_LINE_RE.match(line)
        if match is None:
            self._check_foreign(line)
            return []
        side, kind, payload = match.groups()
        if kind not in _HANDLERS:
            return []
        if self.side is None:
            self.side = side
        elif side != self.side:
            return []
        try:
            value = json.loads(payload)
        except ValueError:
            log.debug("unparseable stream line %.200r", line)
            return []
        return _HANDLERS[kind](value)

    @staticmethod
    def _check_foreign(line: str) -> None:
        """A line outside the grammar: an error body or a challenge page, else noise."""
        if arena.is_challenge_body(line):
            raise ArenaFailure(FailureKind.CHALLENGE, "Cloudflare challenge in the answer stream")
        if line.lstrip().startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                return
            if isinstance(data, dict) and "error" in data:
                raise arena.classify_failure(200, {}, line)
        log.debug("ignoring stream line %.200r", line)


def _text(value: Any) -> list[Event]:
    return [TextDelta(value)] if isinstance(value, str) and value else []


def _reasoning(value: Any) -> list[Event]:
    return [ReasoningDelta(value)] if isinstance(value, str) and value else []


def _data(value: Any) -> list[Event]:
    items = value if isinstance(value, list) else [value]
    return [
        ImageResult(item["image"])
        for item in items
        if isinstance(item, dict) and item.get("type") == "image" and isinstance(item.get("image"), str)
    ]


def _error(value: Any) -> list[Event]:
    message = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    raise ArenaFailure(FailureKind.UPSTREAM, message or "the arena reported an error")


def _finish(value: Any) -> list[Event]:
    data = value if isinstance(value, dict) else {}
    reason = arena.FINISH_REASONS.get(str(data.get("finishReason", "stop")), "stop")
    usage = data.get("usage")
    counts = None
    if isinstance(usage, dict):
        counts = {"prompt_tokens": _count(usage.get("promptTokens")), "completion_tokens": _count(usage.get("completionTokens"))}
    return [Finish(reason, counts)]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


_HANDLERS = {
    arena.TYPE_TEXT: _text,
    arena.TYPE_REASONING: _reasoning,
    arena.TYPE_DATA: _data,
    arena.TYPE_ERROR: _error,
    arena.TYPE_FINISH: _finish,
}
