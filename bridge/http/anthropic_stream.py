"""Arena events -> Anthropic's stream events; the non-stream message is the fold of the same events.

`Assembler` turns each arena event into the Messages API stream events it implies
(Anthropic's API reference, "Streaming messages"): arena reasoning becomes a `thinking`
block (`thinking_delta`s, then one `signature_delta`), text a `text` block
(`text_delta`s), tool calls `tool_use` blocks (one `input_json_delta` with the whole
input). Blocks are opened and closed one after another, indexed from 0.

With tools, the events come through bridge/tool_use.py (text streams only as far as it
cannot be a call); its `ToolCalls` event becomes the `tool_use` blocks, and its
"tool_calls" finish `stop_reason` `tool_use`.

Stop sequences are honoured across pieces (bridge/stops.py): the answer ends before the
first match (`stop_reason` `stop_sequence`, `stop_sequence` the match), and the arena
fetch is then closed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from browser.stream import Finish, ImageResult, ReasoningDelta, TextDelta

from ..errors import BridgeError
from ..stops import StopMatcher
from ..tool_use import ToolCalls, ToolEvent
from ..tools import ToolCall
from .anthropic_format import PING, STOP_REASONS, MessageShape, error_body, new_id, signature, sse
from .disconnect import SILENT, Lookahead
from .openai_format import CONTENT_FILTER_NOTICE, estimate_tokens, image_markdown

log = logging.getLogger(__name__)


class Assembler:
    """The stream events of one answer, event by event; `done` once a stop sequence ended it."""

    def __init__(self, shape: MessageShape, stop_sequences: Sequence[str], input_tokens: int) -> None:
        self.shape = shape
        self.scanner = StopMatcher(stop_sequences)
        self.calls: list[ToolCall] = []
        self.input_tokens = input_tokens
        self.index = -1
        self.open: str | None = None
        self.thinking: list[str] = []  # the open thinking block's text, for its signature
        self.output: list[str] = []  # everything generated, for the token estimate
        self.reported: dict[str, int] | None = None
        self.reason = "stop"

    @property
    def done(self) -> bool:
        return self.scanner.stopped

    def start(self) -> list[dict[str, Any]]:
        return [self.shape.start(self.input_tokens), PING]

    def on(self, event: ToolEvent) -> list[dict[str, Any]]:
        if isinstance(event, ReasoningDelta) and event.text:
            return self._thinking(event.text)
        if isinstance(event, TextDelta):
            return self._text(self.scanner.feed(event.text))
        if isinstance(event, ImageResult):
            return self._text(self.scanner.feed(image_markdown(event.url)))
        if isinstance(event, ToolCalls):
            return self._tool_uses(event.calls)
        if isinstance(event, Finish):
            self.reason, self.reported = event.reason, event.usage
        return []

    def finish(self) -> list[dict[str, Any]]:
        """The closing events: held-back text, the open block's stop, message_delta, message_stop."""
        events = [] if self.done else self._text(self.scanner.flush())
        if self.reason == "content_filter" and not self.done:
            events += self._text(CONTENT_FILTER_NOTICE)
        events += self._close()
        stop_reason = "stop_sequence" if self.done else STOP_REASONS.get(self.reason, "end_turn")
        stop_reason = "tool_use" if self.calls else stop_reason
        delta = self.shape.delta(stop_reason, self.scanner.matched, self.output_tokens())
        if self.reported and self.reported.get("prompt_tokens"):
            delta["usage"]["input_tokens"] = self.reported["prompt_tokens"]
        return events + [delta, self.shape.stop()]

    def output_tokens(self) -> int:
        if self.reported and self.reported.get("completion_tokens"):
            return self.reported["completion_tokens"]
        return estimate_tokens("".join(self.output))

    def _thinking(self, text: str) -> list[dict[str, Any]]:
        events = self._switch("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        self.thinking.append(text)
        self.output.append(text)
        return events + [self.shape.block_delta(self.index, {"type": "thinking_delta", "thinking": text})]

    def _tool_uses(self, calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
        """Held-back text first (a stop sequence's possible start), then one tool_use block per call."""
        events = self._text(self.scanner.flush())
        for call in calls:
            block = {"type": "tool_use", "id": call.id or new_id("toolu"), "name": call.name, "input": {}}
            events += self._close() + self._switch("tool_use", block)
            arguments = call.arguments_json()
            self.output.append(arguments)
            events.append(self.shape.block_delta(self.index, {"type": "input_json_delta", "partial_json": arguments}))
            self.calls.append(call)
        return events

    def _text(self, text: str) -> list[dict[str, Any]]:
        if not text:
            return []
        events = self._switch("text", {"type": "text", "text": ""})
        self.output.append(text)
        return events + [self.shape.block_delta(self.index, {"type": "text_delta", "text": text})]

    def _switch(self, kind: str, block: dict[str, Any]) -> list[dict[str, Any]]:
        if self.open == kind:
            return []
        events = self._close()
        self.index += 1
        self.open = kind
        if kind == "thinking":
            self.thinking = []
        return events + [self.shape.block_start(self.index, block)]

    def _close(self) -> list[dict[str, Any]]:
        if self.open is None:
            return []
        events = []
        if self.open == "thinking":
            sig = signature("".join(self.thinking))
            events.append(self.shape.block_delta(self.index, {"type": "signature_delta", "signature": sig}))
        self.open = None
        return events + [self.shape.block_stop(self.index)]


async def _events(
    assembler: Assembler, first: Any, pull: Callable[[], Awaitable[Any]]
) -> AsyncIterator[dict[str, Any]]:
    """All stream events of the answer; stops reading the arena at a stop sequence. `first` and
    what `pull()` returns: an arena event, None at the end, or SILENT (a `ping` goes out)."""
    for out in assembler.start():
        yield out
    event = first
    while event is not None and not assembler.done:
        if event is SILENT:
            yield PING
        else:
            for out in assembler.on(event):
                yield out
        event = None if assembler.done else await pull()
    for out in assembler.finish():
        yield out


async def stream_sse(
    assembler: Assembler, first: Any, events: Lookahead, keepalive_every: float
) -> AsyncIterator[bytes]:
    """SSE bytes, a `ping` after each `keepalive_every` s of arena silence (proxies cut idle
    connections); a failure after the start becomes one `error` event."""
    try:
        async for out in _events(assembler, first, lambda: events.next(keepalive_every)):
            yield sse(out)
    except BridgeError as exc:
        log.warning("stream %s failed: %s", assembler.shape.id, exc.message)
        yield sse(error_body(exc))
    finally:
        await events.aclose()


async def collect(
    assembler: Assembler, first: ToolEvent | None, events: AsyncGenerator[ToolEvent, None]
) -> dict[str, Any]:
    """The whole answer as one message object: the fold of the stream events."""
    content: list[dict[str, Any]] = []
    message: dict[str, Any] = {}
    try:
        async for out in _events(assembler, first, lambda: anext(events, None)):
            fold(message, content, out)
    finally:
        await events.aclose()
    return message


def fold(message: dict[str, Any], content: list[dict[str, Any]], event: dict[str, Any]) -> None:
    """Apply one stream event to the message being built (as Anthropic's SDKs accumulate them)."""
    kind = event["type"]
    if kind == "message_start":
        message.update(event["message"], content=content)
    elif kind == "content_block_start":
        content.append(dict(event["content_block"]))
    elif kind == "content_block_delta":
        block, delta = content[event["index"]], event["delta"]
        if delta["type"] == "text_delta":
            block["text"] += delta["text"]
        elif delta["type"] == "thinking_delta":
            block["thinking"] += delta["thinking"]
        elif delta["type"] == "signature_delta":
            block["signature"] = delta["signature"]
        elif delta["type"] == "input_json_delta":
            block["_json"] = block.get("_json", "") + delta["partial_json"]
    elif kind == "content_block_stop":
        _finish_block(content[event["index"]])
    elif kind == "message_delta":
        message.update(event["delta"])
        message["usage"] = {**message["usage"], **event["usage"]}


def _finish_block(block: dict[str, Any]) -> None:
    if "_json" in block:
        block["input"] = json.loads(block.pop("_json") or "{}")
