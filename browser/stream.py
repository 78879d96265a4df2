"""Parse the arena's answer stream, one complete line at a time.

The page script splits the body into lines with a streaming decoder, so this
parser only ever sees whole lines, whatever the network's chunk boundaries.
It follows the first side (`a` or `b`) that speaks and ignores the other.
Codes follow protocol.md's table: `ae` (end of a step) never ends or fails an answer,
`a0:"hasArenaError"` and `ad:{"finishReason":"error"}` are failures inside a 200,
search citations (`ac` tool-call deltas with a `source`) come out as one `Citations`
event just before the `Finish`, and codes nobody knows are skipped and counted
(`unknown`, logged at debug level when the stream ends).
"""

from __future__ import annotations

import collections
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
class Citation:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Citations:
    """A search model's sources, in the order the arena sent them (no repeats)."""

    sources: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str  # OpenAI's: stop | length | content_filter
    usage: dict[str, int] | None = None


Event = TextDelta | ReasoningDelta | ImageResult | Citations | Finish


class StreamParser:
    """Turns stream lines into events; raises `ArenaFailure` for errors in the stream."""

    def __init__(self) -> None:
        self.side: str | None = None
        self.unknown: collections.Counter[str] = collections.Counter()
        self._tool_args: dict[str, str] = {}

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
        if kind not in _HANDLERS and kind != arena.TYPE_TOOL_DELTA:
            if kind not in _SKIPPED:
                self.unknown[kind] += 1
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
        if kind == arena.TYPE_TOOL_DELTA:
            self._tool_delta(value)
            return []
        events = _HANDLERS[kind](value)
        if events and isinstance(events[-1], Finish):
            self.log_unknown()
            citations = self.citations()
            return [citations, *events] if citations.sources else events
        return events

    def log_unknown(self) -> None:
        if self.unknown:
            log.debug("skipped unknown stream codes: %s", dict(self.unknown))

    def _tool_delta(self, value: Any) -> None:
        if isinstance(value, dict) and isinstance(value.get("argsTextDelta"), str):
            call = str(value.get("toolCallId", ""))
            self._tool_args[call] = self._tool_args.get(call, "") + value["argsTextDelta"]

    def citations(self) -> Citations:
        """The sources named by the tool calls so far (each call's arguments, once complete)."""
        found: dict[str, Citation] = {}
        for text in self._tool_args.values():
            try:
                args = json.loads(text)
            except ValueError:
                continue
            for source in _sources(args):
                found.setdefault(source.url, source)
        return Citations(tuple(found.values()))

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


def _sources(args: Any) -> list[Citation]:
    """`{"source": {"title", "url"}}` or `{"sources": [...]}` -> citations with an http(s) url."""
    if not isinstance(args, dict):
        return []
    items: list[Any] = args["sources"] if isinstance(args.get("sources"), list) else [args.get("source")]
    found = []
    for item in items:
        if (
            isinstance(item, dict)
            and isinstance(item.get("url"), str)
            and item["url"].startswith(("http://", "https://"))
        ):
            title = item.get("title")
            title = title.strip() if isinstance(title, str) and title.strip() else item["url"]
            found.append(Citation(str(title), item["url"]))
    return found


def _text(value: Any) -> list[Event]:
    if value == arena.ARENA_ERROR_TEXT:
        raise ArenaFailure(FailureKind.UPSTREAM, "the arena failed after it started answering (hasArenaError)")
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
    if data.get("finishReason") == arena.FINISH_ERROR:
        raise ArenaFailure(FailureKind.UPSTREAM, 'the arena ended the answer with finishReason "error"')
    reason = arena.FINISH_REASONS.get(str(data.get("finishReason", "stop")), "stop")
    usage = data.get("usage")
    counts = None
    if isinstance(usage, dict):
        counts = {
            "prompt_tokens": _count(usage.get("promptTokens")),
            "completion_tokens": _count(usage.get("completionTokens")),
        }
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
_SKIPPED = frozenset({arena.TYPE_STEP_START, arena.TYPE_STEP_END, *arena.TYPE_IGNORED})
