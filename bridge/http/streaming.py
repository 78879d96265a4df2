"""Arena answers -> OpenAI chat responses: a stream of SSE chunks, or one object.

A stream waits at most `StreamTiming.headers_after` seconds for the first piece of the
answer: an error that comes before then keeps its HTTP status (SPEC, Errors); after it
the response starts anyway, with an SSE comment (`: keep-alive`), and another comment
follows each `keepalive_every` seconds of arena silence, so proxies that cut idle
connections (Cloudflare tunnels at 100 s, nginx, Clash) keep it open. From then on an
error is one `data: {"error": ...}` event followed by `data: [DONE]`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from ..errors import BridgeError
from .choices import TIMEOUT, Choices, Piece, as_chunk
from .disconnect import EventStream, unless_disconnected
from .openai_format import DONE, Completion, choice, sse
from .tool_calls import with_tool_calls

log = logging.getLogger(__name__)
KEEPALIVE = b": keep-alive\n\n"


@dataclass(frozen=True, slots=True)
class StreamTiming:
    """Seconds: arena silence before the SSE headers go out anyway; between two keep-alive comments."""

    headers_after: float = 3.0
    keepalive_every: float = 10.0


async def open_stream(request: Request, completion: Completion, choices: Choices, timing: StreamTiming) -> EventStream:
    """The SSE response, once the first piece came or `timing.headers_after` passed.

    Raises the BridgeError of a choice that failed before that (the caller renders its status).
    """
    try:
        first = await unless_disconnected(request, choices.next(timing.headers_after))
    except BaseException:
        await choices.aclose()
        raise
    held = [] if first == TIMEOUT else [first]
    return EventStream(stream_chunks(completion, choices, held, timing), choices)


async def stream_chunks(
    completion: Completion, choices: Choices, held: list[Any], timing: StreamTiming
) -> AsyncIterator[bytes]:
    """SSE: role chunks, deltas, one finish chunk per choice, the usage chunk if asked, [DONE].

    A search answer's sources end its content as a Markdown list; its finish chunk carries
    their URLs in `citations`. An error becomes one error event.
    """
    try:
        if not held:
            yield KEEPALIVE
        started = False
        while True:
            item = held.pop() if held else await choices.next(timing.keepalive_every)
            if item == TIMEOUT:
                yield KEEPALIVE
                continue
            if not isinstance(item, Piece):
                break
            if not started:
                started = True
                for index in range(len(choices.sources)):
                    yield sse(completion.chunk({"role": "assistant", "content": ""}, index=index))
            yield sse(completion.chunk(**as_chunk(item)))
        if completion.include_usage:
            yield sse(completion.usage_chunk(choices.usage()))
    except BridgeError as exc:
        log.warning("stream %s failed: %s", completion.id, exc.message)
        yield sse(exc.body())
    finally:
        await choices.aclose()
    yield DONE


async def collect(completion: Completion, choices: Choices) -> dict[str, Any]:
    """Every choice in full, as one `chat.completion` object."""
    try:
        while await choices.next() is not None:
            pass
    finally:
        await choices.aclose()
    answers = [choices.text(i) for i in range(len(choices.sources))]
    listed = [with_tool_calls(choice(i, *answer), choices.calls(i)) for i, answer in enumerate(answers)]
    return completion.completion(listed, choices.usage(), choices.citations())
