"""Tool use around a chat: the instructions into the conversation, the calls out of the answer.

`ToolSetup` is one request's tools as every API surface sees them after
converting its own shapes (bridge.tools). `instruct()` puts the tool
instructions into the arena conversation (appended to the leading system
message, or as a new one); `with_tool_calls()` wraps the arena's events so that
text which may be a call never leaves as text: it passes reasoning and images
through, streams text only as far as `streamable_prefix` allows, and at the end
yields the rest of the content, one `ToolCalls` event when the answer held valid
calls, and the `Finish` (reason "tool_calls" then).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

from browser.arena import ArenaMessage
from browser.stream import Event, Finish, TextDelta

from .tools import (
    AUTO,
    Tool,
    ToolCall,
    ToolChoice,
    allowed_tools,
    parse_tool_calls,
    streamable_prefix,
    tool_instructions,
)

TOOL_CALLS_FINISH = "tool_calls"
INSTRUCTIONS_JOINER = "\n\n"


@dataclass(frozen=True, slots=True)
class ToolCalls:
    """The calls an answer made, in order; comes after the answer's text and before its Finish."""

    calls: tuple[ToolCall, ...]


ToolEvent = Event | ToolCalls


@dataclass(frozen=True, slots=True)
class ToolSetup:
    """One request's tools, its tool choice, whether several calls may come at once, and the call id prefix."""

    tools: tuple[Tool, ...]
    choice: ToolChoice = AUTO
    parallel: bool = True
    id_prefix: str = field(default="call_")

    @property
    def parses(self) -> bool:
        """Whether answers are read for calls (some tool is allowed)."""
        return bool(allowed_tools(self.tools, self.choice))

    def instruct(self, messages: Sequence[ArenaMessage]) -> list[ArenaMessage]:
        """The conversation with the tool instructions in its leading system message."""
        text = tool_instructions(self.tools, self.choice, self.parallel)
        result = list(messages)
        if not text:
            return result
        if result and result[0].role == "system":
            first = result[0]
            joined = INSTRUCTIONS_JOINER.join(part for part in (first.content, text) if part.strip())
            result[0] = ArenaMessage("system", joined, first.attachments, first.position)
        else:
            result.insert(0, ArenaMessage("system", text))
        return result

    def parse(self, text: str) -> tuple[str, list[ToolCall]]:
        """A whole answer -> (content, calls); the text itself and no calls when it holds none."""
        return parse_tool_calls(text, self.tools, choice=self.choice, parallel=self.parallel, id_prefix=self.id_prefix)

    async def with_tool_calls(self, events: AsyncGenerator[Event, None]) -> AsyncGenerator[ToolEvent, None]:
        """The arena's events with calls read out of the text (see the module docstring); closes `events`."""
        async with aclosing(events):
            if not self.parses:
                async for event in events:
                    yield event
                return
            text, sent, finish = "", 0, None
            async for event in events:
                if isinstance(event, TextDelta):
                    text += event.text
                    safe = streamable_prefix(text, sent)
                    if safe > sent:
                        yield TextDelta(text[sent:safe])
                        sent = safe
                elif isinstance(event, Finish):
                    finish = event
                else:
                    yield event
        content, calls = self.parse(text)
        if len(content) > sent:
            yield TextDelta(content[sent:])
        if calls:
            yield ToolCalls(tuple(calls))
        if finish is not None:
            yield Finish(TOOL_CALLS_FINISH if calls else finish.reason, finish.usage)
