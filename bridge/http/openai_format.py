"""OpenAI response shapes: chat completions, stream chunks, SSE framing."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from browser.stream import Citation

DONE = b"data: [DONE]\n\n"
CONTENT_FILTER_NOTICE = (
    "\n\n[lmarena-bridge: the arena cut this answer short, most likely its moderation or the context length]"
)


def new_id(prefix: str = "chatcmpl") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def image_markdown(url: str) -> str:
    return f"![image]({url})"


CHARS_PER_TOKEN = 4
SOURCES_HEADING = "\n\n**Sources**\n"


def sources_markdown(sources: Sequence[Citation]) -> str:
    """A search answer's sources as a numbered list of Markdown links, to end the answer with."""
    lines = [f"{number}. [{_link_text(s.title)}]({_link_url(s.url)})" for number, s in enumerate(sources, 1)]
    return SOURCES_HEADING + "\n".join(lines)


def citation_urls(sources: Sequence[Citation]) -> list[str]:
    """The `citations` field (Perplexity's shape, which OpenAI-compatible clients know): the URLs, in order."""
    return [s.url for s in sources]


def _link_url(url: str) -> str:
    return url.replace(")", "%29").replace(" ", "%20")


def _link_text(title: str) -> str:
    return " ".join(title.replace("[", "(").replace("]", ")").split())


def estimate_tokens(text: str) -> int:
    """About four characters a token, the usual rule of thumb when the arena sends no usage."""
    return max(1, len(text) // CHARS_PER_TOKEN) if text else 0


class Completion:
    """One answer under construction: builds stream chunks and the final object.

    `include_usage` (the request's `stream_options.include_usage`): every chunk carries
    `"usage": null` and `usage_chunk()` makes the final `choices: []` chunk with the counts
    (OpenAI API reference, "The chat completion chunk object").
    """

    def __init__(self, model: str, *, include_usage: bool = False) -> None:
        self.id = new_id()
        self.model = model
        self.created = int(time.time())
        self.include_usage = include_usage

    def chunk(
        self,
        delta: dict[str, Any],
        finish_reason: str | None = None,
        usage: dict[str, Any] | None = None,
        *,
        index: int = 0,
        citations: list[str] | None = None,
    ) -> dict[str, Any]:
        return self._chunk([{"index": index, "delta": delta, "finish_reason": finish_reason}], usage, citations)

    def usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        """The last chunk before [DONE] when usage was asked for: no choices, the counts."""
        return self._chunk([], usage)

    def _chunk(
        self, choices: list[dict[str, Any]], usage: dict[str, Any] | None, citations: list[str] | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if usage is not None or self.include_usage:
            payload["usage"] = usage
        if citations:
            payload["citations"] = citations
        return payload

    def message(
        self,
        content: str,
        reasoning: str,
        finish_reason: str,
        usage: dict[str, int],
        citations: list[str] | None = None,
    ) -> dict[str, Any]:
        return self.completion([choice(0, content, reasoning, finish_reason)], usage, citations)

    def completion(
        self, choices: list[dict[str, Any]], usage: dict[str, int], citations: list[str] | None = None
    ) -> dict[str, Any]:
        """The `chat.completion` object with these choices (each from `choice()`); `citations`
        (a search answer's source URLs) when there are any."""
        completion: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": usage,
        }
        if citations:
            completion["citations"] = citations
        return completion


def choice(index: int, content: str, reasoning: str, finish_reason: str) -> dict[str, Any]:
    """One entry of a chat completion's `choices`; `reasoning_content` only when there was reasoning."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message["reasoning_content"] = reasoning
    return {"index": index, "message": message, "finish_reason": finish_reason, "logprobs": None}


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
