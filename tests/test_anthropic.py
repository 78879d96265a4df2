"""Anthropic's Messages API in-process: the real app around a `ScriptedPage`, the real `anthropic`
SDK over `httpx.ASGITransport`; raw SSE checked against the SDK's own event types."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import pytest
from anthropic.types import RawMessageStreamEvent
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from bridge.http.anthropic import IMAGE_TOKENS
from bridge.http.streaming import StreamTiming
from bridge.stops import StopMatcher
from browser import ArenaRequest
from browser.errors import ArenaFailure, FailureKind, PageNotReady, StreamTimeout
from browser.stream import Event, Finish, ReasoningDelta, TextDelta
from tests.fake_arena.models import png_bytes
from tests.scripted_page import ScriptedPage, in_process_app, says

MODEL_ID = "0199f060-b306-7e1f-aeae-0ebb4e3f1122"
MODEL = "claude-on-arena"  # what a user sets in ANTHROPIC_MODEL
MODELS = {MODEL: MODEL_ID}
HI = [{"role": "user", "content": "hi"}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_CALL = 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
EVENTS = TypeAdapter(RawMessageStreamEvent)


@pytest.fixture
def page() -> ScriptedPage:
    return ScriptedPage()


@pytest.fixture
def config() -> dict[str, Any]:
    return {}


@pytest.fixture
def app(tmp_path: Path, page: ScriptedPage, config: dict[str, Any]) -> FastAPI:
    return in_process_app(tmp_path, page, MODELS, protocol="create", **config)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client, for raw requests and raw SSE."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
async def sdk_http(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    """The transport the `anthropic` SDK takes (it is built on httpx2)."""
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def client(sdk_http: httpx2.AsyncClient) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="unused", base_url="http://127.0.0.1", http_client=sdk_http, max_retries=0)


def prompt(page: ScriptedPage, index: int = -1) -> str:
    return str(page.bodies()[index]["userMessage"]["content"])


async def raw_events(http: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    """The stream's events, each checked: `event:` names the data's type, the data is one of the SDK's types."""
    body = {"model": MODEL, "max_tokens": 100, "messages": HI, "stream": True, **body}
    async with http.stream("POST", "/v1/messages", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = (await response.aread()).decode()
    events = []
    for frame in text.strip().split("\n\n"):
        name_line, data_line = frame.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert name_line == f"event: {data['type']}"
        if data["type"] not in ("ping", "error"):
            EVENTS.validate_python(data)
        events.append(data)
    return events


def block_kinds(events: list[dict[str, Any]]) -> list[str]:
    """The event sequence with deltas named by their delta type and repeats folded."""
    names: list[str] = []
    for event in events:
        name = event["delta"]["type"] if event["type"] == "content_block_delta" else event["type"]
        if event["type"] == "content_block_start":
            name += ":" + event["content_block"]["type"]
        if not names or names[-1] != name:
            names.append(name)
    return names


@pytest.mark.anyio
async def test_a_message_is_the_scripted_answer_in_anthropic_shape(client, page):
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", MODEL)
    assert [(b.type, b.text) for b in message.content] == [("text", "Hello there")]
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert message.usage.input_tokens >= 1 and message.usage.output_tokens >= 1
    assert page.bodies()[0]["modelAId"] == MODEL_ID


@pytest.mark.anyio
async def test_a_stream_through_the_sdk_yields_the_pieces_and_the_same_final_message(client):
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert pieces == ["Hello", " there"]
    assert final.content[0].text == "Hello there"
    assert final.stop_reason == "end_turn"


@pytest.mark.anyio
async def test_the_raw_stream_follows_anthropics_event_sequence(http, page):
    page.answer = lambda _r: [
        ReasoningDelta("think"),
        ReasoningDelta("ing"),
        TextDelta("Hi"),
        TextDelta("!"),
        Finish("stop"),
    ]
    events = await raw_events(http)
    assert block_kinds(events) == [
        "message_start",
        "ping",
        "content_block_start:thinking",
        "thinking_delta",
        "signature_delta",
        "content_block_stop",
        "content_block_start:text",
        "text_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert [e["index"] for e in events if e["type"].startswith("content_block")] == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


@pytest.mark.anyio
async def test_arena_reasoning_becomes_a_signed_thinking_block_before_the_text(client, page):
    page.answer = lambda _r: [ReasoningDelta("Let me think."), TextDelta("42"), Finish("stop")]
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    thinking, text = message.content
    assert (thinking.type, thinking.thinking, text.text) == ("thinking", "Let me think.", "42")
    assert thinking.signature


@pytest.mark.anyio
async def test_an_arena_length_finish_is_stop_reason_max_tokens(client, page):
    page.answer = lambda _r: [TextDelta("cut"), Finish("length")]
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert message.stop_reason == "max_tokens"


@pytest.mark.anyio
async def test_a_stop_sequence_split_over_pieces_ends_the_answer_before_it(client, page):
    page.answer = says("Hello wo", "rld, and", " more")
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HI, stop_sequences=["END", "world"])
    assert message.content[0].text == "Hello "
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "world")


@pytest.mark.anyio
async def test_a_streamed_stop_sequence_never_sends_its_first_characters(client, page):
    page.answer = says("one ST", "OP two")
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI, stop_sequences=["STOP"]) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(pieces) == "one "
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "STOP")


@pytest.mark.anyio
async def test_the_start_of_a_stop_sequence_that_never_completes_is_sent(client, page):
    page.answer = says("Hello wo", "rk")
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HI, stop_sequences=["world"])
    assert (message.content[0].text, message.stop_reason) == ("Hello work", "end_turn")


@pytest.mark.anyio
async def test_count_tokens_estimates_four_characters_a_token(client):
    small = await client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x" * 400}])
    assert small.input_tokens == 100
    tools = await client.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "x" * 400}], tools=[WEATHER_TOOL]
    )
    assert tools.input_tokens > small.input_tokens


@pytest.mark.anyio
async def test_the_tools_reach_the_model_as_instructions_in_the_system_text(client, page):
    await client.messages.create(model=MODEL, max_tokens=100, messages=HI, tools=[WEATHER_TOOL], system="be brief")
    sent = prompt(page)
    assert "be brief" in sent and "get_weather" in sent and "<tool_call>" in sent


@pytest.mark.anyio
async def test_a_tool_call_in_the_answer_is_a_tool_use_block(client, page):
    page.answer = says(WEATHER_CALL)
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HI, tools=[WEATHER_TOOL])
    text, call = message.content
    assert text.text == "Let me check."
    assert (call.type, call.name, call.input) == ("tool_use", "get_weather", {"city": "Paris"})
    assert call.id.startswith("toolu_")
    assert message.stop_reason == "tool_use"


@pytest.mark.anyio
async def test_a_streamed_tool_call_arrives_as_input_json_and_text_before_it_streams(client, http, page):
    head, tail = WEATHER_CALL.split("<tool_")
    page.answer = says(head, "<tool_", tail)
    events = await raw_events(http, tools=[WEATHER_TOOL])
    kinds = block_kinds(events)
    assert kinds[2:] == [
        "content_block_start:text",
        "text_delta",
        "content_block_stop",
        "content_block_start:tool_use",
        "input_json_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI, tools=[WEATHER_TOOL]) as stream:
        final = await stream.get_final_message()
    assert final.content[1].input == {"city": "Paris"}


@pytest.mark.anyio
async def test_a_call_with_arguments_the_schema_refuses_stays_text(client, page):
    bad = '<tool_call>{"name": "get_weather", "arguments": {"town": 3}}</tool_call>'
    page.answer = says(bad)
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HI, tools=[WEATHER_TOOL])
    assert [(b.type, b.text) for b in message.content] == [("text", bad)]
    assert message.stop_reason == "end_turn"


@pytest.mark.anyio
async def test_tool_choice_none_leaves_a_call_shaped_answer_as_text(client, page):
    page.answer = says(WEATHER_CALL)
    message = await client.messages.create(
        model=MODEL, max_tokens=100, messages=HI, tools=[WEATHER_TOOL], tool_choice={"type": "none"}
    )
    assert message.content[0].text == WEATHER_CALL


@pytest.mark.anyio
async def test_an_agent_loop_runs_call_then_result_then_answer(client, page):
    answers = iter([says(WEATHER_CALL), says("It is sunny in Paris.")])
    page.answer = lambda request: next(answers)(request)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    first = await client.messages.create(model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER_TOOL])
    call = first.content[-1]
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 24 C"}]},
    ]
    final = await client.messages.create(model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER_TOOL])
    assert (final.content[0].text, final.stop_reason) == ("It is sunny in Paris.", "end_turn")
    sent = prompt(page)
    assert '"city": "Paris"' in sent and "sunny, 24 C" in sent and call.id in sent


@pytest.mark.anyio
async def test_claude_code_history_shapes_reach_the_arena_as_readable_text(client, page):
    """System blocks with cache_control, thinking kept in history, tool_result blocks with is_error;
    through the SDK's beta client, as Claude Code sends it (`/v1/messages?beta=true`, `anthropic-beta`)."""
    await client.beta.messages.create(
        betas=["interleaved-thinking-2025-05-14"],
        model=MODEL,
        max_tokens=4096,
        system=[
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Work in /repo."},
        ],
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "check", "cache_control": {"type": "ephemeral"}}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "secret musing", "signature": "abc"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01",
                        "is_error": True,
                        "content": [{"type": "text", "text": "service down"}],
                    },
                    {"type": "text", "text": "try again"},
                ],
            },
        ],
        metadata={"user_id": "someone"},
        extra_body={"temperature": 1, "top_k": 5},
    )
    sent = prompt(page)
    for part in ("You are Claude Code.", "Work in /repo.", "check", "Checking.", '"city": "Oslo"', "service down"):
        assert part in sent
    assert 'is_error="true"' in sent and 'name="get_weather"' in sent
    assert "secret musing" not in sent


@pytest.mark.anyio
async def test_images_in_base64_and_by_url_become_attachments(client, page):
    png = base64.b64encode(png_bytes()).decode()
    await client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                    {"type": "text", "text": "what are these?"},
                ],
            }
        ],
    )
    attachments = page.bodies()[0]["userMessage"]["experimental_attachments"]
    assert [(a["contentType"], a["url"]) for a in attachments] == [
        ("image/png", f"data:image/png;base64,{png}"),
        ("image/jpeg", "https://example.com/cat.jpg"),
    ]


@pytest.mark.anyio
async def test_a_request_without_max_tokens_is_an_invalid_request_error(http):
    response = await http.post("/v1/messages", json={"model": MODEL, "messages": HI})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]


@pytest.mark.anyio
async def test_an_unsupported_block_is_a_bad_request_naming_it(client):
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": [{"type": "video", "x": 1}]}]
        )
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert "messages[0].content[0]" in caught.value.message


@pytest.mark.anyio
async def test_an_unknown_model_is_not_found_error_naming_the_models_command(client):
    with pytest.raises(anthropic.NotFoundError) as caught:
        await client.messages.create(model="claude-opus-9", max_tokens=10, messages=HI)
    assert caught.value.body["error"]["type"] == "not_found_error"
    assert "lmarena-bridge models" in caught.value.message


@pytest.mark.anyio
async def test_an_arena_rate_limit_is_rate_limit_error_with_retry_after(client, page):
    page.answer = lambda _r: ArenaFailure(FailureKind.RATE_LIMITED, "slow down", status=429, retry_after=30)
    with pytest.raises(anthropic.RateLimitError) as caught:
        await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "30"


class FailingMidway(ScriptedPage):
    """Sends one piece, then the arena fails."""

    async def stream(self, request: ArenaRequest, *, timeout: float) -> AsyncGenerator[Event, None]:
        self.requests.append(request)
        yield TextDelta("partial")
        raise ArenaFailure(FailureKind.UPSTREAM, "boom", status=500)


@pytest.mark.anyio
@pytest.mark.parametrize("page", [FailingMidway()])
async def test_a_failure_after_the_stream_started_is_an_error_event(http, page):
    events = await raw_events(http)
    assert events[-1]["type"] == "error"
    assert events[-1]["error"]["type"] == "api_error"
    assert "boom" in events[-1]["error"]["message"]


@pytest.mark.anyio
@pytest.mark.parametrize("config", [{"api_key": "sekrit"}])
async def test_the_api_key_may_come_as_x_api_key_or_bearer(sdk_http):
    def sdk(**key: str) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url="http://127.0.0.1", http_client=sdk_http, max_retries=0, **key)

    with pytest.raises(anthropic.AuthenticationError) as caught:
        await sdk(api_key="wrong").messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "authentication_error"
    assert "x-api-key" in caught.value.body["error"]["message"]
    for key in ({"api_key": "sekrit"}, {"auth_token": "sekrit"}):
        message = await sdk(**key).messages.create(model=MODEL, max_tokens=10, messages=HI)
        assert message.content[0].text == "Hello there"


def split_at(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]


@given(
    st.text(alphabet="abST OP<>", max_size=40),
    st.lists(st.integers(min_value=0), max_size=8),
    st.lists(st.text(alphabet="abSTOP", min_size=1, max_size=4), max_size=3),
)
def test_stop_sequences_cut_at_the_first_match_however_the_text_is_split(text, cuts, stops):
    scanner = StopMatcher(stops)
    out = ""
    for piece in split_at(text, cuts):
        out += scanner.feed(piece)
        if scanner.matched is not None:
            break
    if scanner.matched is None:
        out += scanner.flush()
    first = min((text.find(s) for s in stops if s in text), default=len(text))
    assert out == text[:first]
    assert (scanner.matched is None) == (not any(s in text for s in stops))


@pytest.mark.anyio
async def test_a_pdf_document_is_an_attachment_and_text_documents_are_text(client, page):
    pdf = base64.b64encode(b"%PDF-1.4 tiny").decode()
    await client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes here"}},
                    {"type": "text", "text": "summarise"},
                ],
            }
        ],
    )
    attachments = page.bodies()[0]["userMessage"]["experimental_attachments"]
    assert [a["contentType"] for a in attachments] == ["application/pdf"]
    assert "notes here" in prompt(page)


@pytest.mark.anyio
async def test_count_tokens_adds_a_fixed_cost_per_image(client):
    png = base64.b64encode(png_bytes()).decode()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}
    counted = await client.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": [image, {"type": "text", "text": "x" * 40}]}]
    )
    assert counted.input_tokens == 10 + IMAGE_TOKENS


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("failure", "status", "error_type"),
    [
        (PageNotReady("cloudflare_challenge", "a challenge"), 503, "overloaded_error"),
        (ArenaFailure(FailureKind.UNAUTHORIZED, "stale ids", status=401), 401, "authentication_error"),
        (StreamTimeout(30), 504, "timeout_error"),
    ],
)
async def test_bridge_errors_keep_their_status_with_anthropics_error_type(http, page, failure, status, error_type):
    page.answer = lambda _r: failure
    response = await http.post("/v1/messages", json={"model": MODEL, "max_tokens": 10, "messages": HI})
    assert response.status_code == status
    assert response.json()["error"]["type"] == error_type


@pytest.mark.anyio
@pytest.mark.parametrize("config", [{"max_request_bytes": 2048}])
async def test_a_body_over_the_limit_is_request_too_large(http):
    big = [{"role": "user", "content": "x" * 4096}]
    response = await http.post("/v1/messages", json={"model": MODEL, "max_tokens": 10, "messages": big})
    assert (response.status_code, response.json()["error"]["type"]) == (413, "request_too_large")


@pytest.mark.anyio
async def test_the_routes_answer_without_v1_too(http):
    response = await http.post("/messages", json={"model": MODEL, "max_tokens": 10, "messages": HI})
    assert response.json()["content"] == [{"type": "text", "text": "Hello there"}]
    counted = await http.post("/messages/count_tokens", json={"model": MODEL, "messages": HI})
    assert counted.json() == {"input_tokens": 1}
    refused = await http.post("/messages", json={"model": MODEL, "messages": HI})
    assert refused.json()["error"]["type"] == "invalid_request_error"


CALL_FORMS = {
    "tagged": '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>',
    "fenced": '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
    "bare": '{"name": "get_weather", "arguments": {"city": "Paris"}}',
    "llama": '<function=get_weather>{"city": "Paris"}</function>',
    "mistral": '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]',
}
MALFORMED = {
    "broken-json": '<tool_call>{"name": "get_weather", "arguments": {"city": </tool_call>',
    "unknown-tool": '<tool_call>{"name": "launch_rocket", "arguments": {}}</tool_call>',
}


@pytest.mark.anyio
@pytest.mark.parametrize("form", list(CALL_FORMS))
async def test_each_accepted_call_form_streams_as_a_tool_use_block(client, page, form):
    page.answer = says(*split_at(CALL_FORMS[form], [7, 19, 30]))
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI, tools=[WEATHER_TOOL]) as stream:
        final = await stream.get_final_message()
    assert [(b.type, getattr(b, "input", None)) for b in final.content] == [("tool_use", {"city": "Paris"})]
    assert final.stop_reason == "tool_use"


@pytest.mark.anyio
@pytest.mark.parametrize("form", list(MALFORMED))
async def test_a_malformed_call_comes_back_as_text_not_an_error(client, page, form):
    page.answer = says(*split_at(MALFORMED[form], [5, 17]))
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI, tools=[WEATHER_TOOL]) as stream:
        final = await stream.get_final_message()
    assert [(b.type, b.text) for b in final.content] == [("text", MALFORMED[form])]
    assert final.stop_reason == "end_turn"


class SilentPage(ScriptedPage):
    """Silent for a while before its answer (a paced turn, a long think)."""

    async def stream(self, request: Any, *, timeout: float) -> AsyncGenerator[Any, None]:
        await asyncio.sleep(0.5)
        async for event in super().stream(request, timeout=timeout):
            yield event


@pytest.mark.anyio
async def test_a_stream_starts_and_pings_while_the_arena_is_silent(tmp_path):
    app = in_process_app(tmp_path, SilentPage(), MODELS, protocol="create")
    app.state.stream_timing = StreamTiming(headers_after=0.1, keepalive_every=0.1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        events = await raw_events(http)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[1:3] == ["ping", "ping"]
    assert kinds.index("content_block_start") > 2 and kinds[-1] == "message_stop"


@pytest.mark.anyio
async def test_messages_requests_appear_in_the_consoles_recent_requests(app, client):
    await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    [record] = app.state.request_log.recent()
    assert (record["surface"], record["model"], record["status"]) == ("messages", MODEL, 200)
    assert record["prompt"] is None


@pytest.mark.anyio
async def test_a_system_message_inside_messages_reaches_the_model_in_its_place(http, page):
    body = {
        "model": MODEL,
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "say hi"}]},
            {"role": "system", "content": "Available agent types: general"},
        ],
    }
    response = await http.post("/v1/messages", json=body)
    assert response.status_code == 200
    sent = prompt(page)
    assert sent.index("say hi") < sent.index("Available agent types: general")


@pytest.mark.anyio
async def test_claude_codes_billing_line_in_the_system_blocks_is_not_sent_to_the_model(http, page):
    system = [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=sdk-cli"},
        {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
    ]
    response = await http.post(
        "/v1/messages", json={"model": MODEL, "max_tokens": 10, "system": system, "messages": HI}
    )
    assert response.status_code == 200
    assert "You are Claude Code." in prompt(page) and "billing" not in prompt(page)
