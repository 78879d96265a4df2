"""Every failure reaches the client as OpenAI's error envelope with the SPEC's status."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fake_arena import Reply

MODEL = "gpt-4o-2024-08-06"
HELLO = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


def error_of(bridge, body=None, *, content=None, headers=None):
    response = httpx.post(
        f"{bridge.url}/v1/chat/completions",
        json=body if content is None else None,
        content=content,
        headers=headers or {},
        timeout=30,
    )
    return response, response.json()["error"]


def assert_envelope(error):
    assert set(error) == {"message", "type", "code", "param"}
    assert error["message"]


def test_invalid_json_is_400_invalid_json(bridge):
    response, error = error_of(bridge, content=b'{"model": ', headers={"content-type": "application/json"})
    assert (response.status_code, error["code"], error["type"]) == (400, "invalid_json", "invalid_request_error")
    assert_envelope(error)


def test_missing_messages_is_400_missing_field_naming_it(bridge):
    response, error = error_of(bridge, {"model": MODEL})
    assert (response.status_code, error["code"], error["param"]) == (400, "missing_field", "messages")


def test_wrong_type_is_400_naming_the_field(bridge):
    response, error = error_of(bridge, {"model": MODEL, "messages": "hello"})
    assert (response.status_code, error["param"]) == (400, "messages")


def test_unknown_role_is_400(bridge):
    response, error = error_of(bridge, {"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]})
    assert response.status_code == 400
    assert error["param"].startswith("messages.0.role")


ARENA_ERRORS = [
    (Reply.error(401), 401, "authentication_error", "arena_unauthorized", "capture"),
    (Reply.error(404), 404, "invalid_request_error", "model_not_found", "models --refresh"),
    (Reply.error(413), 413, "invalid_request_error", "attachment_too_large", "5 MB"),
    (Reply.error(422), 422, "invalid_request_error", "content_flagged", "moderation"),
    (Reply.error(429, retry_after=7), 429, "rate_limit_error", "arena_rate_limited", "wait"),
    (Reply.error(500, "database on fire"), 502, "upstream_error", "arena_error", "database on fire"),
    (Reply.error(400, {"error": "bad shape"}), 502, "upstream_error", "arena_error", "bad shape"),
]


@pytest.mark.parametrize(("reply", "status", "kind", "code", "hint"), ARENA_ERRORS, ids=lambda v: str(v)[:20])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_arena_errors_map_to_their_status_before_the_stream_starts(
    bridge, arena, reply, status, kind, code, hint, stream
):
    arena.enqueue(reply)
    response, error = error_of(bridge, {**HELLO, "stream": stream})
    assert (response.status_code, error["type"], error["code"]) == (status, kind, code)
    assert hint in error["message"]
    assert_envelope(error)


def test_rate_limit_passes_the_arenas_retry_after_on(bridge, arena):
    arena.enqueue(Reply.error(429, retry_after=7))
    response, _ = error_of(bridge, HELLO)
    assert response.headers["retry-after"] == "7"


def test_cloudflare_challenge_from_the_endpoint_is_503_with_retry_after(bridge, arena):
    arena.enqueue(Reply.challenge())
    response, error = error_of(bridge, HELLO)
    assert (response.status_code, error["code"]) == (503, "cloudflare_challenge")
    assert int(response.headers["retry-after"]) > 0
    bridge.wait_healthy(timeout=40)


def test_official_client_raises_status_errors_with_the_code(client, arena):
    arena.enqueue(Reply.error(401))
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(**HELLO)
    assert caught.value.body["code"] == "arena_unauthorized"


def test_error_inside_a_started_stream_is_one_error_event_then_done(bridge, arena):
    arena.enqueue(Reply.in_stream_error("Resource exhausted. Please try again later.", before="partial"))
    with httpx.stream("POST", f"{bridge.url}/v1/chat/completions", json={**HELLO, "stream": True}, timeout=30) as r:
        assert r.status_code == 200
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert '"error"' in events[-2] and "Resource exhausted" in events[-2]
    assert '"partial"' in "".join(events[:-2])


def test_error_inside_the_stream_is_502_without_streaming(bridge, arena):
    arena.enqueue(Reply.in_stream_error("Resource exhausted", before="partial"))
    response, error = error_of(bridge, HELLO)
    assert (response.status_code, error["code"]) == (502, "arena_error")
    assert "Resource exhausted" in error["message"]


def test_silent_arena_gives_504_after_the_stream_timeout(bridge, arena):
    bridge.write_config(stream_response_timeout_seconds=1)
    arena.enqueue(Reply.hang(after_text="thinking"))
    response, error = error_of(bridge, HELLO)
    assert (response.status_code, error["code"], error["type"]) == (504, "arena_timeout", "timeout_error")


def test_silent_arena_mid_stream_gives_an_error_event(bridge, arena):
    bridge.write_config(stream_response_timeout_seconds=1)
    arena.enqueue(Reply.hang(after_text="thinking"))
    with httpx.stream("POST", f"{bridge.url}/v1/chat/completions", json={**HELLO, "stream": True}, timeout=30) as r:
        events = [line for line in r.iter_lines() if line]
    assert "arena_timeout" in events[-2] and events[-1] == "data: [DONE]"


def test_connection_dying_mid_answer_is_an_error_not_a_hang(bridge, arena):
    arena.enqueue(Reply.die(after_text="half an ans"))
    response, error = error_of(bridge, HELLO)
    assert response.status_code == 502
    assert error["type"] == "upstream_error"


def test_unknown_path_is_404_in_openai_shape(bridge):
    response = httpx.get(f"{bridge.url}/v1/nothing", timeout=10)
    assert response.status_code == 404
    assert_envelope(response.json()["error"])


def test_body_over_the_size_limit_is_413(bridge):
    bridge.write_config(max_request_bytes=2048)
    response, error = error_of(bridge, {**HELLO, "messages": [{"role": "user", "content": "x" * 5000}]})
    assert (response.status_code, error["code"]) == (413, "request_too_large")
