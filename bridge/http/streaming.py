"""Arena events -> OpenAI chat responses: a stream of SSE chunks, or one object."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from browser.stream import Finish, ImageResult, ReasoningDelta, TextDelta

from ..errors import BridgeError
from ..tool_use import ToolCalls, ToolEvent
from ..tools import ToolCall
from .openai_format import (
    CONTENT_FILTER_NOTICE,
    DONE,
    Completion,
    estimate_tokens,
    image_markdown,
    sse,
    usage,
)
from .tool_calls import openai_tool_calls, with_tool_calls

log = logging.getLogger(__name__)


def _delta(event: ToolEvent) -> dict[str, Any] | None:
    if isinstance(event, ToolCalls):
        return {"tool_calls": openai_tool_calls(event.calls, indexed=True)}
    if isinstance(event, TextDelta):
        return {"content": event.text}
    if isinstance(event, ReasoningDelta):
        return {"reasoning_content": event.text}
    if isinstance(event, ImageResult):
        return {"content": image_markdown(event.url)}
    return None


async def stream_chunks(
    completion: Completion, first: ToolEvent | None, events: AsyncGenerator[ToolEvent, None]
) -> AsyncIterator[bytes]:
    """SSE: a role chunk, deltas, a finish chunk, [DONE]; an error becomes one error event."""
    finish = "stop"
    try:
        yield sse(completion.chunk({"role": "assistant", "content": ""}))
        pending = [first] if first is not None else []
        while True:
            event = pending.pop() if pending else await anext(events, None)
            if event is None:
                break
            if isinstance(event, Finish):
                finish = event.reason
                if finish == "content_filter":
                    yield sse(completion.chunk({"content": CONTENT_FILTER_NOTICE}))
                continue
            delta = _delta(event)
            if delta:
                yield sse(completion.chunk(delta))
        yield sse(completion.chunk({}, finish))
    except BridgeError as exc:
        log.warning("stream %s failed: %s", completion.id, exc.message)
        yield sse(exc.body())
    finally:
        await events.aclose()
    yield DONE


async def collect(
    completion: Completion, first: ToolEvent | None, events: AsyncGenerator[ToolEvent, None], prompt_text: str
) -> dict[str, Any]:
    """The whole answer as one `chat.completion` object."""
    content: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    finish, reported = "stop", None
    try:
        event = first
        while event is not None:
            if isinstance(event, Finish):
                finish, reported = event.reason, event.usage
            elif isinstance(event, ReasoningDelta):
                reasoning.append(event.text)
            elif isinstance(event, ToolCalls):
                calls.extend(event.calls)
            elif (delta := _delta(event)) is not None:
                content.append(delta["content"])
            event = await anext(events, None)
    finally:
        await events.aclose()
    if finish == "content_filter":
        content.append(CONTENT_FILTER_NOTICE)
    text = "".join(content)
    if reported and (reported["prompt_tokens"] or reported["completion_tokens"]):
        counts = usage(reported["prompt_tokens"], reported["completion_tokens"])
    else:
        counts = usage(estimate_tokens(prompt_text), estimate_tokens(text))
    return with_tool_calls(completion.message(text, "".join(reasoning), finish, counts), calls)
