"""Image generation through the real server, real Chromium and the fake arena, with the official client."""

from __future__ import annotations

import base64

import httpx
import openai
import pytest

from tests.fake_arena import CLAUDE_ID, DALLE_ID, GPT4O_ID, Reply, png_bytes
from tests.fake_arena.app import image_name

MODEL = "dall-e-3"
NAMES = ["red-fox", "blue-whale", "green-frog"]


def enqueue_images(arena, names):
    for name in names:
        arena.enqueue(Reply.images([arena.image_url(name)]))


def assert_image_requests(arena, count):
    """`count` arena requests, each a valid retry PUT for dall-e-3 with every status "success"."""
    sent = arena.requests
    assert len(sent) == count
    for request in sent:
        assert request.problems == []
        assert request.model_id == DALLE_ID
        assert {m["status"] for m in request.messages} == {"success"}


def test_generate_n3_returns_the_three_urls_the_arena_drew(client, arena):
    enqueue_images(arena, NAMES)
    result = client.images.generate(model=MODEL, prompt="three animals", n=3)
    assert sorted(item.url for item in result.data) == sorted(arena.image_url(n) for n in NAMES)
    assert result.created > 0
    assert_image_requests(arena, 3)
    assert all(r.messages[-1]["content"] == "three animals" for r in arena.requests)


def test_generate_n3_b64_json_returns_the_png_bytes_the_arena_served(client, arena):
    enqueue_images(arena, NAMES)
    result = client.images.generate(model=MODEL, prompt="three animals", n=3, response_format="b64_json")
    got = sorted(base64.b64decode(item.b64_json) for item in result.data)
    assert got == sorted(png_bytes(n) for n in NAMES)
    assert all(item.url is None for item in result.data)
    assert_image_requests(arena, 3)


def test_the_fake_serves_images_only_with_the_login_cookie_so_b64_bytes_came_through_the_browser(arena):
    assert httpx.get(arena.image_url("red-fox")).status_code == 403  # the gate: no clearance
    cleared = {"cf_clearance": arena.cleared_cookies("tests")["cf_clearance"]}
    assert httpx.get(arena.image_url("red-fox"), cookies=cleared, headers={"user-agent": "tests"}).status_code == 401


def test_size_is_accepted(client, arena):
    enqueue_images(arena, ["square"])
    result = client.images.generate(model=MODEL, prompt="a square", size="1024x1024")
    assert [item.url for item in result.data] == [arena.image_url("square")]


def test_without_a_queued_reply_the_fake_draws_an_image_named_after_the_prompt(client, arena):
    result = client.images.generate(model=MODEL, prompt="A Purple Cow")
    assert [item.url for item in result.data] == [arena.image_url(image_name("A Purple Cow"))]
    assert_image_requests(arena, 1)


def test_some_images_failing_returns_the_ones_that_succeeded(client, arena):
    enqueue_images(arena, NAMES[:2])
    arena.enqueue(Reply.error(500, {"error": "Internal Server Error"}))
    result = client.images.generate(model=MODEL, prompt="animals", n=3)
    assert sorted(item.url for item in result.data) == sorted(arena.image_url(n) for n in NAMES[:2])
    assert len(arena.requests) == 3


def test_all_images_failing_is_one_error_in_openais_envelope(client, arena):
    for _ in range(3):
        arena.enqueue(Reply.error(500, {"error": "Internal Server Error"}))
    with pytest.raises(openai.APIStatusError) as caught:
        client.images.generate(model=MODEL, prompt="animals", n=3)
    error = caught.value
    assert (error.status_code, error.type, error.code) == (502, "upstream_error", "arena_error")
    assert "all 3 image requests failed" in error.message and "Internal Server Error" in error.message


def test_a_rate_limited_arena_gives_429_with_retry_after(client, arena):
    arena.enqueue(Reply.error(429, retry_after=7))
    with pytest.raises(openai.RateLimitError) as caught:
        client.images.generate(model=MODEL, prompt="animals")
    assert caught.value.code == "arena_rate_limited"
    assert caught.value.response.headers["retry-after"] == "7"


def test_an_answer_without_an_image_is_an_upstream_error_quoting_the_arena(client, arena):
    arena.enqueue(Reply.text("I cannot draw that"))
    with pytest.raises(openai.APIStatusError) as caught:
        client.images.generate(model=MODEL, prompt="something odd")
    assert caught.value.status_code == 502
    assert "without an image" in caught.value.message and "I cannot draw that" in caught.value.message


def test_an_image_the_browser_cannot_download_fails_as_b64_json(client, arena):
    arena.enqueue(Reply.images([f"{arena.url}/favicon.ico"]))
    with pytest.raises(openai.APIStatusError) as caught:
        client.images.generate(model=MODEL, prompt="x", response_format="b64_json")
    assert (caught.value.status_code, caught.value.type) == (502, "upstream_error")
    assert "HTTP 404" in caught.value.message


def test_an_unknown_model_is_404_model_not_found(client, arena):
    with pytest.raises(openai.NotFoundError) as caught:
        client.images.generate(model="no-such-painter", prompt="x")
    assert (caught.value.code, caught.value.param) == ("model_not_found", "model")
    assert "dall-e-3" in caught.value.message
    assert arena.requests == []


def test_a_text_model_is_400_naming_the_image_models(client, arena):
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="gpt-4o-2024-08-06", prompt="x")
    assert caught.value.param == "model" and "dall-e-3" in caught.value.message
    assert arena.requests == []


@pytest.mark.parametrize("n", [0, 11])
def test_n_out_of_range_is_400(client, arena, n):
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model=MODEL, prompt="x", n=n)
    assert (caught.value.code, caught.value.param) == ("invalid_value", "n")
    assert arena.requests == []


def test_an_unknown_response_format_is_400(bridge, arena):
    body = {"model": MODEL, "prompt": "x", "response_format": "png"}
    response = httpx.post(f"{bridge.url}/v1/images/generations", json=body, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "response_format"


def test_without_a_model_the_first_image_model_of_models_json_is_used(make_bridge, arena):
    models = {"chat": GPT4O_ID, "painter": f"{DALLE_ID}:image", "painter-2": f"{CLAUDE_ID}:image"}
    bridge = make_bridge(models=models)
    body = {"prompt": "a lighthouse"}
    response = httpx.post(f"{bridge.url}/v1/images/generations", json=body, timeout=60)
    assert response.status_code == 200
    assert response.json()["data"] == [{"url": arena.image_url("a-lighthouse")}]
    assert [r.model_id for r in arena.requests] == [DALLE_ID]


def test_image_generation_needs_the_api_key_when_one_is_set(make_bridge, arena):
    bridge = make_bridge(api_key="s3cret")
    with bridge.client(api_key="wrong") as client, pytest.raises(openai.AuthenticationError):
        client.images.generate(model=MODEL, prompt="x")
    with bridge.client(api_key="s3cret") as client:
        assert len(client.images.generate(model=MODEL, prompt="x").data) == 1


def test_an_image_model_in_chat_answers_a_markdown_image(client, arena):
    url = arena.image_url("chat-cat")
    arena.enqueue(Reply.images([url]))
    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "a cat"}])
    assert answer.choices[0].message.content == f"![image]({url})"
    assert_image_requests(arena, 1)


def test_an_image_model_in_a_chat_stream_answers_a_markdown_image(client, arena):
    url = arena.image_url("stream-cat")
    arena.enqueue(Reply.images([url]))
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "user", "content": "draw"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "a cat"},
            ],
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"![image]({url})"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert_image_requests(arena, 1)
    assert len(arena.requests[0].messages) == 3


def test_a_client_that_gives_up_aborts_the_arena_requests(bridge, arena):
    arena.enqueue(Reply.hang())
    with bridge.client(timeout=2) as client, pytest.raises(openai.APITimeoutError):
        client.images.generate(model=MODEL, prompt="slow")
    assert arena.wait_for_disconnect(timeout=20)
