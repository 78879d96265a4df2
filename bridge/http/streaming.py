"""Arena events -> OpenAI chat responses: a stream of SSE chunks, or one object."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from browser.stream import Citations, Event, Finish, ImageResult, ReasoningDelta, TextDelta

from ..errors import BridgeError
from .openai_format import (
    CONTENT_FILTER_NOTICE,
    DONE,
    Completion,
    citation_urls,
    estimate_tokens,
    image_markdown,
    sources_markdown,
    sse,
    usage,
)

log = logging.getLogger(__name__)


def _delta(event: Event) -> dict[str, str] | None:
    if isinstance(event, TextDelta):
        return {"content": event.text}
    if isinstance(event, ReasoningDelta):
        return {"reasoning_content": event.text}
    if isinstance(event, ImageResult):
        return {"content": image_markdown(event.url)}
    if isinstance(event, Citations) and event.sources:
        return {"content": sources_markdown(event.sources)}
    return None


async def stream_chunks(
    completion: Completion, first: Event | None, events: AsyncGenerator[Event, None]
) -> AsyncIterator[bytes]:
    """SSE: a role chunk, deltas, a finish chunk, [DONE]; an error becomes one error event.

    A search answer's sources end the content as a Markdown list; the finish chunk carries
    their URLs in `citations`.
    """
    finish = "stop"
    citations: list[str] = []
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
            if isinstance(event, Citations):
                citations = citation_urls(event.sources)
            delta = _delta(event)
            if delta:
                yield sse(completion.chunk(delta))
        yield sse(completion.chunk({}, finish, citations=citations))
    except BridgeError as exc:
        log.warning("stream %s failed: %s", completion.id, exc.message)
        yield sse(exc.body())
    finally:
        await events.aclose()
    yield DONE


async def collect(
    completion: Completion, first: Event | None, events: AsyncGenerator[Event, None], prompt_text: str
) -> dict[str, Any]:
    """The whole answer as one `chat.completion` object."""
    content: list[str] = []
    reasoning: list[str] = []
    finish, reported = "stop", None
    citations: list[str] = []
    try:
        event = first
        while event is not None:
            if isinstance(event, Finish):
                finish, reported = event.reason, event.usage
            elif isinstance(event, Citations) and event.sources:
                citations = citation_urls(event.sources)
                content.append(sources_markdown(event.sources))
            elif isinstance(event, ReasoningDelta):
                reasoning.append(event.text)
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
    return completion.message(text, "".join(reasoning), finish, counts, citations)
