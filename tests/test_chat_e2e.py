"""Chat through the real server, real Chromium and the fake arena, with the official client."""

from __future__ import annotations

import pytest

from tests.fake_arena import Reply

MODEL = "gpt-4o-2024-08-06"


def ask(client, content="hello", **kwargs):
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}], **kwargs)


def streamed(client, messages=None, **kwargs):
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=messages or [{"role": "user", "content": "hi"}], stream=True, **kwargs
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return chunks, text


def test_non_stream_answer_is_one_chat_completion_with_arena_usage(client, arena):
    arena.enqueue(Reply.text("Hello there", usage={"promptTokens": 7, "completionTokens": 3}))
    answer = ask(client)
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.content == "Hello there"
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (7, 3, 10)
    assert arena.requests[-1].problems == []


def test_non_stream_usage_is_estimated_when_the_arena_sends_none(client, arena):
    arena.enqueue(Reply.text("x" * 40, usage=False))
    answer = ask(client, "y" * 80)
    assert answer.usage.completion_tokens == 10
    assert answer.usage.prompt_tokens == 20


def test_stream_sends_role_then_deltas_then_finish_reason(client, arena):
    arena.enqueue(Reply.text("one two three", pieces=["one", " two", " three"]))
    chunks, text = streamed(client)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert text == "one two three"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


def test_stream_ends_with_done_line(bridge, arena):
    import httpx

    arena.enqueue(Reply.text("done test"))
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": True}
    with httpx.stream("POST", f"{bridge.url}/v1/chat/completions", json=body, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"


def test_multi_turn_history_reaches_the_arena_as_a_chain(client, arena):
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply one"},
        {"role": "developer", "content": "dev note"},
        {"role": "user", "content": "second"},
    ]
    answer = client.chat.completions.create(model=MODEL, messages=messages)
    assert answer.choices[0].message.content == "echo: second"
    sent = arena.requests[-1]
    assert sent.problems == []
    chain = sent.body_json["messages"]
    assert [(m["role"], m["content"]) for m in chain] == [
        ("system", "be brief"),
        ("user", "first"),
        ("assistant", "reply one"),
        ("system", "dev note"),
        ("user", "second"),
    ]
    assert [m["participantPosition"] for m in chain] == ["b", "a", "a", "b", "a"]
    assert sent.body_json["modelId"] == arena.model_id(MODEL)


def test_unicode_survives_both_ways(client, arena):
    text = '你好, мир 🙂 \u2028 "quoted" \\ back\nslash é'
    arena.enqueue(Reply.text(text))
    assert ask(client, "问候 🙂").choices[0].message.content == text
    assert arena.requests[-1].body_json["messages"][-1]["content"] == "问候 🙂"


@pytest.mark.parametrize("seed", range(3))
def test_fragments_cut_inside_escapes_and_characters_are_reassembled(client, arena, seed):
    text = 'Ünïcödé \u4f60\u597d 🙂 line\nbreak "q" ' * 5
    arena.enqueue(Reply.fragmented(text, seed=seed))
    _, got = streamed(client)
    assert got == text


def test_an_answer_of_over_100_kb_arrives_intact(client, arena):
    reply = Reply.big(120_000)
    arena.enqueue(reply)
    assert ask(client).choices[0].message.content == reply.expected_text


def test_reasoning_is_sent_as_reasoning_content(client, arena):
    arena.enqueue(Reply.text("answer", reasoning="thinking hard"))
    chunks, text = streamed(client)
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks)
    assert (reasoning, text) == ("thinking hard", "answer")
    arena.enqueue(Reply.text("answer", reasoning="thinking hard"))
    message = ask(client).choices[0].message
    assert message.reasoning_content == "thinking hard"


def test_image_results_become_markdown_images(client, arena):
    url = arena.image_url("cat")
    arena.enqueue(Reply.images([url]))
    assert ask(client).choices[0].message.content == f"![image]({url})"


def test_side_b_answers_are_read(client, arena):
    arena.enqueue(Reply.text("from side b", side="b"))
    assert ask(client).choices[0].message.content == "from side b"


def test_content_filter_finish_appends_a_notice_and_reports_content_filter(client, arena):
    arena.enqueue(Reply.content_filter("partial answer"))
    choice = ask(client).choices[0]
    assert choice.finish_reason == "content_filter"
    assert choice.message.content.startswith("partial answer")
    assert "cut this answer short" in choice.message.content


def test_data_wrapped_lines_are_understood(client, arena):
    arena.enqueue(Reply.data_wrapped("wrapped text"))
    assert ask(client).choices[0].message.content == "wrapped text"


def test_slow_trickle_streams_every_piece(client, arena):
    arena.enqueue(Reply.trickle("slowly", delay=0.05))
    chunks, text = streamed(client)
    assert text == "slowly"
    assert sum(1 for c in chunks if c.choices[0].delta.content) == len("slowly")


def test_models_lists_models_json(client):
    ids = {m.id for m in client.models.list()}
    assert {MODEL, "claude-3-5-sonnet-20241022", "dall-e-3"} <= ids
