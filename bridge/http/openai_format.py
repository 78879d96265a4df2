"""OpenAI response shapes: chat completions, stream chunks, SSE framing."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

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
    ) -> dict[str, Any]:
        return self._chunk([{"index": index, "delta": delta, "finish_reason": finish_reason}], usage)

    def usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        """The last chunk before [DONE] when usage was asked for: no choices, the counts."""
        return self._chunk([], usage)

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if usage is not None or self.include_usage:
            payload["usage"] = usage
        return payload

    def message(self, content: str, reasoning: str, finish_reason: str, usage: dict[str, int]) -> dict[str, Any]:
        return self.completion([choice(0, content, reasoning, finish_reason)], usage)

    def completion(self, choices: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any]:
        """The `chat.completion` object with these choices (each from `choice()`)."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": usage,
        }


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
