"""OpenAI Responses API shapes: the `response` object and its stream events, built from arena events.

Source: https://platform.openai.com/docs/api-reference/responses (the object) and
.../responses-streaming (the events); field names follow the `openai` SDK's
`types.responses` models. `ResponseBuilder.feed()` turns each arena event
(bridge.tool_use.ToolEvent) into the stream events it causes, in the API's order:

    response.created, response.in_progress,
    per output item: response.output_item.added,
        message:   response.content_part.added, response.output_text.delta..., response.output_text.done,
                   response.content_part.done
        reasoning: response.content_part.added, response.reasoning_text.delta..., response.reasoning_text.done,
                   response.content_part.done
        function_call: response.function_call_arguments.delta, response.function_call_arguments.done
        custom_tool_call: response.custom_tool_call_input.delta, response.custom_tool_call_input.done
    response.output_item.done, ..., then response.completed (or response.incomplete)

and `response()` is the object itself (the non-stream answer, and the payload of
the first and last events). Every event carries a `sequence_number` from 0.
A failure mid-stream is an `error` event then `response.failed`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from browser.stream import Finish, ImageResult, ReasoningDelta, TextDelta

from ..errors import BridgeError, InvalidRequest, RateLimited
from ..tool_use import ToolCalls, ToolEvent
from ..tools import ToolCall
from .openai_format import estimate_tokens, image_markdown

INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_item_id(prefix: str) -> str:
    """An id in OpenAI's style: `resp_`, `msg_`, `rs_`, `fc_` and 48 hex digits."""
    return f"{prefix}_{uuid.uuid4().hex}{uuid.uuid4().hex[:16]}"


def sse_event(payload: dict[str, Any]) -> bytes:
    """One Responses stream event: `event: <type>` and its JSON `data:` line."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"event: {payload['type']}\ndata: {data}\n\n".encode()


class ResponseBuilder:
    """One response under construction; `echo` holds the request fields a response repeats
    (instructions, tools, tool_choice, parallel_tool_calls, temperature, top_p, max_output_tokens, metadata)."""

    def __init__(
        self, model: str, echo: dict[str, Any], prompt_text: str, *, custom_tools: frozenset[str] = frozenset()
    ) -> None:
        self.id = new_item_id("resp")
        self.custom_tools = custom_tools  # their calls are custom_tool_call items (responses_input.py)
        self.model = model
        self.created_at = int(time.time())
        self.echo = echo
        self.prompt_text = prompt_text
        self.output: list[dict[str, Any]] = []
        self.status = "in_progress"
        self.finish: Finish | None = None
        self.counts: dict[str, int] | None = None
        self.error: dict[str, Any] | None = None
        self._open: dict[str, Any] | None = None  # the message or reasoning item text is going into
        self._sequence = 0

    # --- the object ---

    def response(self) -> dict[str, Any]:
        """The `response` object as it stands."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "completed_at": int(time.time()) if self.status == "completed" else None,
            "error": self.error,
            "incomplete_details": self._incomplete_details(),
            "model": self.model,
            "output": [dict(item) for item in self.output],
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": False,
            "text": {"format": {"type": "text"}},
            "truncation": "disabled",
            "usage": self._usage() if self.status != "in_progress" else None,
            "user": None,
        }
        return body | self.echo

    def _incomplete_details(self) -> dict[str, str] | None:
        if self.status != "incomplete" or self.finish is None:
            return None
        return {"reason": INCOMPLETE_REASONS.get(self.finish.reason, "max_output_tokens")}

    def _usage(self) -> dict[str, Any]:
        reported = self.counts or (self.finish.usage if self.finish else None)
        if reported and (reported["prompt_tokens"] or reported["completion_tokens"]):
            prompt, completion = reported["prompt_tokens"], reported["completion_tokens"]
        else:
            prompt, completion = estimate_tokens(self.prompt_text), estimate_tokens(self._output_text())
        return {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }

    def _output_text(self) -> str:
        parts: list[str] = []
        for item in self.output:
            if item["type"] in ("message", "reasoning"):
                parts.extend(part["text"] for part in item["content"])
            elif item["type"] == "function_call":
                parts.append(item["name"] + item["arguments"])
            elif item["type"] == "custom_tool_call":
                parts.append(item["name"] + item["input"])
        return "".join(parts)

    # --- the events ---

    def start(self) -> list[dict[str, Any]]:
        """response.created and response.in_progress."""
        return [self._event("response.created", response=self.response()), self._in_progress()]

    def _in_progress(self) -> dict[str, Any]:
        return self._event("response.in_progress", response=self.response())

    def feed(self, event: ToolEvent) -> list[dict[str, Any]]:
        """The stream events one arena event causes (none for the Finish, which end() reports)."""
        if isinstance(event, TextDelta):
            return self._text("message", event.text) if event.text else []
        if isinstance(event, ImageResult):
            return self._text("message", image_markdown(event.url))
        if isinstance(event, ReasoningDelta):
            return self._text("reasoning", event.text) if event.text else []
        if isinstance(event, ToolCalls):
            return [e for call in event.calls for e in self._call(call)]
        if isinstance(event, Finish):
            self.finish = event
        return []

    def end(self, counts: dict[str, int] | None = None) -> list[dict[str, Any]]:
        """Close what is open; response.completed, or response.incomplete when the arena cut the answer.

        `counts`: the chat usage (`prompt_tokens`, `completion_tokens`) to report; estimated when None.
        """
        self.counts = counts
        events = self._close()
        incomplete = self.finish is not None and self.finish.reason in INCOMPLETE_REASONS
        self.status = "incomplete" if incomplete else "completed"
        kind = "response.incomplete" if incomplete else "response.completed"
        return [*events, self._event(kind, response=self.response())]

    def fail(self, error: BridgeError) -> list[dict[str, Any]]:
        """An `error` event (the bridge's own code) then response.failed."""
        if self._open is not None:
            self._open["status"] = "incomplete"
            self._open = None
        self.status = "failed"
        self.error = {"code": _failure_code(error), "message": error.message}
        body = error.body()["error"]
        return [
            self._event("error", code=body["code"], message=body["message"], param=body["param"]),
            self._event("response.failed", response=self.response()),
        ]

    def _text(self, kind: str, text: str) -> list[dict[str, Any]]:
        events = []
        if self._open is None or self._open["type"] != kind:
            events += self._close()
            events += self._open_item(kind)
        assert self._open is not None
        part = self._open["content"][0]
        part["text"] += text
        index = len(self.output) - 1
        item_id = self._open["id"]
        if kind == "message":
            events.append(
                self._event(
                    "response.output_text.delta",
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    delta=text,
                    logprobs=[],
                )
            )
        else:
            events.append(
                self._event(
                    "response.reasoning_text.delta", item_id=item_id, output_index=index, content_index=0, delta=text
                )
            )
        return events

    def _open_item(self, kind: str) -> list[dict[str, Any]]:
        item: dict[str, Any]
        part: dict[str, Any]
        if kind == "message":
            item = {"id": new_item_id("msg"), "type": "message", "role": "assistant", "status": "in_progress"}
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        else:
            item = {"id": new_item_id("rs"), "type": "reasoning", "summary": [], "status": "in_progress"}
            part = {"type": "reasoning_text", "text": ""}
        item["content"] = []
        self.output.append(item)
        index = len(self.output) - 1
        events = [self._event("response.output_item.added", output_index=index, item=_copy(item))]
        item["content"].append(part)
        events.append(
            self._event(
                "response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=_copy(part)
            )
        )
        self._open = item
        return events

    def _close(self) -> list[dict[str, Any]]:
        item, self._open = self._open, None
        if item is None:
            return []
        index = self.output.index(item)
        part = item["content"][0]
        done = "response.output_text.done" if item["type"] == "message" else "response.reasoning_text.done"
        extra: dict[str, Any] = {"logprobs": []} if item["type"] == "message" else {}
        item["status"] = "completed"
        return [
            self._event(done, item_id=item["id"], output_index=index, content_index=0, text=part["text"], **extra),
            self._event(
                "response.content_part.done", item_id=item["id"], output_index=index, content_index=0, part=_copy(part)
            ),
            self._event("response.output_item.done", output_index=index, item=_copy(item)),
        ]

    def _call(self, call: ToolCall) -> list[dict[str, Any]]:
        """A function_call item (its arguments a JSON string) or, for a custom tool, a custom_tool_call
        item (its free-text `input`), with the added / delta / done events."""
        events = self._close()
        if call.name in self.custom_tools:
            prefix, kind, field, value = "ctc", "custom_tool_call", "input", str(call.arguments.get("input", ""))
            delta, done, extra = "response.custom_tool_call_input.delta", "response.custom_tool_call_input.done", {}
        else:
            prefix, kind, field, value = "fc", "function_call", "arguments", call.arguments_json()
            delta, done = "response.function_call_arguments.delta", "response.function_call_arguments.done"
            extra = {"name": call.name}
        item = {"id": new_item_id(prefix), "type": kind, "status": "in_progress", "call_id": call.id, "name": call.name}
        item[field] = ""
        self.output.append(item)
        index = len(self.output) - 1
        events.append(self._event("response.output_item.added", output_index=index, item=_copy(item)))
        events.append(self._event(delta, item_id=item["id"], output_index=index, delta=value))
        item |= {field: value, "status": "completed"}
        events.append(self._event(done, item_id=item["id"], output_index=index, **{field: value}, **extra))
        events.append(self._event("response.output_item.done", output_index=index, item=_copy(item)))
        return events

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event


def _copy(item: dict[str, Any]) -> dict[str, Any]:
    """A snapshot for an event (the item keeps changing afterwards)."""
    copied: dict[str, Any] = json.loads(json.dumps(item))
    return copied


def _failure_code(error: BridgeError) -> str:
    """The nearest of the codes a `response.error` may carry (the SDK's ResponseError.code)."""
    if isinstance(error, RateLimited):
        return "rate_limit_exceeded"
    if isinstance(error, InvalidRequest):
        return "invalid_prompt"
    return "server_error"
