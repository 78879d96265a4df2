"""Anthropic Messages API shapes: the message object, stream events, SSE framing, errors.

Sources: Anthropic's API reference, "Messages" (the message object, `stop_reason`
values `end_turn | max_tokens | stop_sequence | tool_use`), "Streaming messages" (each
event is `event: <type>` + `data: <json with the same type>`; order `message_start`,
blocks each as `content_block_start` / `content_block_delta`... / `content_block_stop`,
`message_delta`, `message_stop`, any number of `ping`s; failures mid-stream as one
`error` event) and "Errors" (`{"type": "error", "error": {"type", "message"}}`).

Bridge errors keep their HTTP status; their Anthropic `error.type` follows the status:

    400 invalid_request_error   401 authentication_error   403 permission_error
    404 not_found_error         413 request_too_large      422 invalid_request_error
    429 rate_limit_error        500/502 api_error          503/529 overloaded_error
    504 timeout_error           other 4xx invalid_request_error, other 5xx api_error
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from ..errors import BridgeError

ANTHROPIC_PATHS = ("/v1/messages",)
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "content_filter": "end_turn", "tool_calls": "tool_use"}
SIGNATURE_PREFIX = "lmarena-bridge:"  # thinking from the arena is not signed by Anthropic


def is_anthropic_path(path: str) -> bool:
    """Whether a request path belongs to the Messages API (its errors use Anthropic's shape)."""
    return any(path == p or path.startswith(p + "/") for p in ANTHROPIC_PATHS)


def error_type(status: int) -> str:
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "invalid_request_error" if status < 500 else "api_error"


def error_body(error: BridgeError, *, message: str | None = None) -> dict[str, Any]:
    """`{"type": "error", "error": {"type", "message"}}` for a bridge error (`message` replaces its own)."""
    return {"type": "error", "error": {"type": error_type(error.status), "message": message or error.message}}


def new_id(prefix: str) -> str:
    """An id in Anthropic's style: `msg_...` for messages, `toolu_...` for tool uses."""
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def signature(thinking: str) -> str:
    """The `signature` of a thinking block: a digest of its text, marked as the bridge's own."""
    return SIGNATURE_PREFIX + hashlib.sha256(thinking.encode()).hexdigest()


def sse(event: dict[str, Any]) -> bytes:
    """One SSE event: `event: <type>` then `data: <json>` (the JSON carries the same `type`)."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    """Anthropic's usage object; the arena has no prompt cache, so the cache counts are 0."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


class MessageShape:
    """One answer under construction: the message object and the stream events around it."""

    def __init__(self, model: str) -> None:
        self.id = new_id("msg")
        self.model = model

    def message(
        self,
        content: list[dict[str, Any]],
        stop_reason: str | None,
        stop_sequence: str | None,
        counts: dict[str, int],
    ) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "usage": counts,
        }

    def start(self, input_tokens: int) -> dict[str, Any]:
        return {"type": "message_start", "message": self.message([], None, None, usage(input_tokens, 0))}

    @staticmethod
    def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_start", "index": index, "content_block": block}

    @staticmethod
    def block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": index, "delta": delta}

    @staticmethod
    def block_stop(index: int) -> dict[str, Any]:
        return {"type": "content_block_stop", "index": index}

    @staticmethod
    def delta(stop_reason: str, stop_sequence: str | None, output_tokens: int) -> dict[str, Any]:
        return {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
            "usage": {"output_tokens": output_tokens},
        }

    @staticmethod
    def stop() -> dict[str, Any]:
        return {"type": "message_stop"}


PING = {"type": "ping"}
