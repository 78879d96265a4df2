"""The OpenAI details clients rely on (issue 15), end to end: the real bridge process, real
Chromium, the fake arena, the official `openai` client (raw httpx where headers matter).
Every body and chunk is checked against the SDK's own types."""

from __future__ import annotations

import json
import time

import httpx
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.fake_arena import Reply

MODEL = "gpt-4o-2024-08-06"
HI = [{"role": "user", "content": "hi"}]


def checked(chunks):
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk.model_dump())
    return chunks


def test_a_stop_string_split_across_arena_lines_ends_the_answer_and_the_arena_fetch(client, arena):
    reply = Reply.text("Hello STOP-HERE world", pieces=["Hello ST", "OP-", "HERE world"], finish=None)
    reply.end = "hang"  # the arena would go on: only the stop string can end this answer
    arena.enqueue(reply)
    chunks = checked(list(client.chat.completions.create(model=MODEL, messages=HI, stop=["STOP-HERE"], stream=True)))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello "
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert arena.wait_for_disconnect(10)


def test_a_stop_string_split_across_arena_lines_ends_a_non_stream_answer(client, arena):
    arena.enqueue(Reply.text("Line one\nUser: more", pieces=["Line one\n", "Us", "er: more"]))
    completion = client.chat.completions.create(model=MODEL, messages=HI, stop="\nUser:")
    ChatCompletion.model_validate(completion.model_dump())
    assert (completion.choices[0].message.content, completion.choices[0].finish_reason) == ("Line one", "stop")


def test_a_silent_arena_gets_headers_and_keep_alive_comments_before_the_answer(bridge, arena):
    lines = b'a0:"late answer"\nad:{"finishReason":"stop"}\n'
    arena.enqueue(Reply(fragments=[b"\n", lines], delay=4.5))
    body = {"model": MODEL, "messages": HI, "stream": True}
    started = time.monotonic()
    with httpx.stream("POST", f"{bridge.url}/v1/chat/completions", json=body, timeout=30) as response:
        headers_after = time.monotonic() - started
        assert response.headers["content-type"].startswith("text/event-stream")
        received = [line for line in response.iter_lines() if line]
    assert headers_after < 4.5
    assert received[0] == ": keep-alive"
    chunks = [json.loads(line[6:]) for line in received[:-1] if line.startswith("data: ")]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "late answer"
    assert received[-1] == "data: [DONE]"


def test_include_usage_streams_the_arena_usage_in_a_last_chunk_without_choices(client, arena):
    arena.enqueue(Reply.text("Hello there", usage={"promptTokens": 7, "completionTokens": 3}))
    chunks = checked(
        list(
            client.chat.completions.create(
                model=MODEL, messages=HI, stream=True, stream_options={"include_usage": True}
            )
        )
    )
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens, chunks[-1].usage.total_tokens) == (
        7,
        3,
        10,
    )


def test_a_browser_preflight_passes_without_the_api_key_and_allows_authorization(bridge):
    bridge.write_config(api_key="sk-bridge-test")
    headers = {
        "Origin": "https://app.nextchat.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    response = httpx.options(f"{bridge.url}/v1/chat/completions", headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://app.nextchat.example")
    assert {"authorization", "content-type"} <= {
        h.strip() for h in response.headers["access-control-allow-headers"].lower().split(",")
    }


def test_n_2_makes_two_arena_requests_and_answers_two_indexed_choices(client, arena):
    completion = client.chat.completions.create(model=MODEL, messages=HI, n=2)
    ChatCompletion.model_validate(completion.model_dump())
    assert sorted(c.index for c in completion.choices) == [0, 1]
    assert all(c.message.content == "echo: hi" for c in completion.choices)
    assert len(arena.requests) == 2


def test_a_client_with_a_base_url_without_v1_still_chats(bridge, arena):
    with openai.OpenAI(base_url=bridge.url, api_key="unused", max_retries=0, timeout=60) as client:
        completion = client.chat.completions.create(model=MODEL, messages=HI)
    assert completion.choices[0].message.content == "echo: hi"


def test_head_on_the_model_list_is_200_without_a_body(bridge):
    response = httpx.head(f"{bridge.url}/v1/models", timeout=10)
    assert (response.status_code, response.content) == (200, b"")
