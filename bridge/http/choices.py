"""The `n` choices of one chat completion: arena answers run in parallel, cut as the request asks.

Each choice is one arena request (`ChatService.events`, wrapped by
`ToolSetup.with_tool_calls` when the request has tools). Its events become `Piece`s:
content and reasoning deltas, a `tool_calls` delta, then one finish. A search answer's `Citations` end its content
as a "Sources" Markdown list and their URLs ride on the finish piece (`citations`). The request's `stop` strings and its
`max_tokens` / `max_completion_tokens` end a choice early (finish_reason `stop` /
`length`); closing its event generator then aborts the in-page fetch.

    Choices(sources, cut, prompt_text)
      .next(timeout) -> Piece | None (every choice finished) | TIMEOUT; raises the first BridgeError
      .usage()       -> {"prompt_tokens", "completion_tokens", "total_tokens"}
      .aclose()      -> cancels the runs still going (their arena fetches are aborted)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Final

from browser.stream import Citations, Finish, ImageResult, ReasoningDelta, TextDelta

from ..errors import BridgeError
from ..stops import StopMatcher
from ..tool_use import ToolCalls, ToolEvent
from ..tools import ToolCall
from .openai_format import (
    CHARS_PER_TOKEN,
    CONTENT_FILTER_NOTICE,
    citation_urls,
    estimate_tokens,
    image_markdown,
    sources_markdown,
    usage,
)
from .tool_calls import openai_tool_calls

log = logging.getLogger(__name__)
TIMEOUT: Final = "timeout"


@dataclass(frozen=True, slots=True)
class Cut:
    """Where a choice ends early: before any of `stops`, or after about `max_tokens` tokens of content."""

    stops: tuple[str, ...] = ()
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Piece:
    """One step of choice `index`: a delta ({"content"}, {"reasoning_content"} or {"tool_calls"}) or its finish
    (with the answer's source URLs in `citations`, if it had any)."""

    index: int
    delta: dict[str, Any] | None = None
    finish: str | None = None
    citations: tuple[str, ...] = ()


@dataclass(slots=True)
class _Tally:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    finish: str = "stop"
    reported: dict[str, int] | None = None
    cut: bool = False
    chars: int = 0
    citations: Citations | None = None

    def add(self, text: str) -> None:
        self.content.append(text)
        self.chars += len(text)

    def counts(self) -> dict[str, int] | None:
        """The arena's token counts for the whole answer, if it sent any and the answer was not cut short."""
        if self.cut or not self.reported or not (self.reported["prompt_tokens"] or self.reported["completion_tokens"]):
            return None
        return self.reported


class _Ended:
    pass


class Choices:
    """`sources[i]` is the arena answer for choice i; run all at once, pieces in arrival order."""

    def __init__(self, sources: Sequence[AsyncGenerator[ToolEvent, None]], cut: Cut, prompt_text: str) -> None:
        self.sources = list(sources)
        self.cut = cut
        self.prompt_text = prompt_text
        self.tallies = [_Tally() for _ in self.sources]
        self._queue: asyncio.Queue[Piece | BridgeError | _Ended] = asyncio.Queue()
        self._running = len(self.sources)
        self._tasks = [asyncio.create_task(self._run(i), name=f"choice-{i}") for i in range(len(self.sources))]

    async def next(self, timeout: float | None = None) -> Piece | str | None:
        """The next piece; None once every choice has finished; TIMEOUT after `timeout` s of silence."""
        while self._running:
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                return TIMEOUT
            if isinstance(item, _Ended):
                self._running -= 1
                continue
            if isinstance(item, BridgeError):
                raise item
            return item
        return None

    def text(self, index: int) -> tuple[str, str, str]:
        """Choice `index` as collected so far: (content, reasoning, finish_reason)."""
        tally = self.tallies[index]
        return "".join(tally.content), "".join(tally.reasoning), tally.finish

    def calls(self, index: int) -> list[ToolCall]:
        """The tool calls choice `index` made (bridge.tool_use), in order."""
        return list(self.tallies[index].calls)

    def citations(self) -> list[str]:
        """The source URLs of the first choice that has any (the `citations` field); [] if none."""
        return next((citation_urls(t.citations.sources) for t in self.tallies if t.citations), [])

    def usage(self) -> dict[str, int]:
        """Token counts: the arena's where it sent them, else estimated (`estimate_tokens`).

        As OpenAI counts `n` choices: the prompt once, the completions added up.
        """
        reported = [t.counts() for t in self.tallies]
        prompt = next((r["prompt_tokens"] for r in reported if r and r["prompt_tokens"]), None)
        completion = sum(
            r["completion_tokens"] if r else estimate_tokens("".join(t.content) + _calls_text(t.calls))
            for r, t in zip(reported, self.tallies)
        )
        return usage(prompt if prompt is not None else estimate_tokens(self.prompt_text), completion)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for source in self.sources:
            await source.aclose()

    async def _run(self, index: int) -> None:
        try:
            async with aclosing(self._pieces(index)) as pieces:
                async for piece in pieces:
                    await self._queue.put(piece)
        except BridgeError as exc:
            await self._queue.put(exc)
        except Exception as exc:
            log.exception("choice %d failed", index)
            await self._queue.put(BridgeError(f"internal error ({type(exc).__name__}); see the server log"))
        finally:
            await self._queue.put(_Ended())

    async def _pieces(self, index: int) -> AsyncGenerator[Piece, None]:
        tally, events = self.tallies[index], self.sources[index]
        stops = StopMatcher(self.cut.stops)
        budget = self.cut.max_tokens * CHARS_PER_TOKEN if self.cut.max_tokens is not None else None
        try:
            async for event in events:
                if isinstance(event, Finish):
                    tally.finish, tally.reported = event.reason, event.usage
                    continue
                if isinstance(event, Citations):
                    tally.citations = event if event.sources else None
                    continue
                if isinstance(event, ReasoningDelta):
                    tally.reasoning.append(event.text)
                    yield Piece(index, {"reasoning_content": event.text})
                    continue
                if isinstance(event, ToolCalls):
                    tally.calls.extend(event.calls)
                    yield Piece(index, {"tool_calls": openai_tool_calls(event.calls, indexed=True)})
                    continue
                text = _content(event)
                if text is None:
                    continue
                text = stops.feed(text)
                if budget is not None and tally.chars + len(text) > budget:
                    text = text[: max(0, budget - tally.chars)]
                    tally.finish, tally.cut = "length", True
                elif stops.stopped:
                    tally.finish, tally.cut = "stop", True
                if text:
                    tally.add(text)
                    yield Piece(index, {"content": text})
                if tally.cut:
                    break
        finally:
            await events.aclose()
        tail = [stops.flush()] if not tally.cut else []
        if tally.citations is not None and not tally.cut:
            tail.append(sources_markdown(tally.citations.sources))
        if tally.finish == "content_filter":
            tail.append(CONTENT_FILTER_NOTICE)
        for text in filter(None, tail):
            tally.add(text)
            yield Piece(index, {"content": text})
        urls = citation_urls(tally.citations.sources) if tally.citations is not None else []
        yield Piece(index, finish=tally.finish, citations=tuple(urls))


def _calls_text(calls: Sequence[ToolCall]) -> str:
    return "".join(call.name + call.arguments_json() for call in calls)


def _content(event: ToolEvent) -> str | None:
    if isinstance(event, TextDelta):
        return event.text
    if isinstance(event, ImageResult):
        return image_markdown(event.url)
    return None


def as_chunk(piece: Piece) -> dict[str, Any]:
    """The chunk fields of a piece (for `Completion.chunk`)."""
    return {
        "delta": piece.delta or {},
        "finish_reason": piece.finish,
        "index": piece.index,
        "citations": list(piece.citations) or None,
    }
