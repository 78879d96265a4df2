"""Anthropic's Messages API through the real bridge process, real Chromium and the fake arena,
with the official `anthropic` SDK (as Claude Code would reach it at ANTHROPIC_BASE_URL)."""

from __future__ import annotations

import anthropic
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.fake_arena import Reply

MODEL = "gpt-4o-2024-08-06"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def claude(bridge):
    with anthropic.Anthropic(base_url=bridge.url, api_key="unused", max_retries=0, timeout=60) as client:
        yield client


def test_a_message_and_a_stream_come_back_in_anthropic_shape(claude, arena):
    arena.enqueue(Reply.text("Hello there", reasoning="hmm, a greeting"))
    message = claude.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert (message.content[0].thinking, message.content[1].text) == ("hmm, a greeting", "Hello there")
    assert arena.requests[-1].problems == []
    arena.enqueue(Reply.text("one two three", pieces=["one", " two", " three"]))
    with claude.messages.stream(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "go"}]) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["one", " two", " three"]
    assert (final.content[0].text, final.stop_reason) == ("one two three", "end_turn")


def test_an_agent_loop_completes_with_a_tool_call_and_its_result(claude, arena):
    arena.enqueue(Reply.text('<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'))
    arena.enqueue(Reply.text("Sunny in Paris."))
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    with claude.messages.stream(model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER_TOOL]) as stream:
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    call = first.content[-1]
    assert (call.name, call.input) == ("get_weather", {"city": "Paris"})
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "24 C, sunny"}]},
    ]
    final = claude.messages.create(model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER_TOOL])
    assert (final.content[0].text, final.stop_reason) == ("Sunny in Paris.", "end_turn")
    assert "24 C, sunny" in arena.requests[-1].body_text


def test_a_client_leaving_a_stream_aborts_the_arena_fetch(claude, arena):
    arena.enqueue(Reply.hang(after_text="thinking"))
    with claude.messages.stream(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}]) as stream:
        for _text in stream.text_stream:
            break  # the answer has started; the client leaves while the arena is still sending
    assert arena.wait_for_disconnect(timeout=5)


def test_x_api_key_is_checked_and_a_wrong_one_is_an_authentication_error(bridge, arena):
    bridge.write_config(api_key="open-sesame")
    hi = [{"role": "user", "content": "hi"}]
    with anthropic.Anthropic(base_url=bridge.url, api_key="open-barley", max_retries=0) as wrong:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            wrong.messages.create(model=MODEL, max_tokens=10, messages=hi)
    assert caught.value.body["error"]["type"] == "authentication_error"
    with anthropic.Anthropic(base_url=bridge.url, api_key="open-sesame", max_retries=0) as right:
        assert right.messages.count_tokens(model=MODEL, messages=hi).input_tokens >= 1
    assert arena.requests == []


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_fuzzed_requests_never_get_a_server_error_and_errors_are_in_anthropic_shape(shared_bridge, bridge, path):
    schema = schemathesis.openapi.from_dict(httpx.get(f"{shared_bridge.url}/openapi.json", timeout=10).json())

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=schema[path]["POST"].as_strategy())
    def check(case):
        response = case.call(base_url=bridge.url, timeout=30)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            body = response.json()
            assert body["type"] == "error" and set(body["error"]) == {"type", "message"}

    check()


@pytest.mark.parametrize("content", [b"", b"not json", b"null", b'{"model": "x"}', b'{"messages": "nope"}'])
def test_malformed_bodies_get_an_invalid_request_error(bridge, content):
    response = httpx.post(
        f"{bridge.url}/v1/messages", content=content, headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
