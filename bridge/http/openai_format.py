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


def estimate_tokens(text: str) -> int:
    """About four characters a token, the usual rule of thumb when the arena sends no usage."""
    return max(1, len(text) // 4) if text else 0


class Completion:
    """One answer under construction: builds stream chunks and the final object."""

    def __init__(self, model: str) -> None:
        self.id = new_id()
        self.model = model
        self.created = int(time.time())

    def chunk(
        self, delta: dict[str, Any], finish_reason: str | None = None, usage: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        if usage is not None:
            payload["usage"] = usage
        return payload

    def message(self, content: str, reasoning: str, finish_reason: str, usage: dict[str, int]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reasoning:
            message["reasoning_content"] = reasoning
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
            "usage": usage,
        }


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
