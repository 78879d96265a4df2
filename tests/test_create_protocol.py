"""The create-evaluation protocol: no captured ids, a reCAPTCHA token minted in the page.

Unit tests for the request (uuid7 ids, the folded transcript, the body) and the
protocol choice; fast checks of the fake's reCAPTCHA stand-in over plain HTTP; then
end to end through the real server, real Chromium and the fake arena.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
import openai
import pytest

from bridge.chat import ChatRequest, ChatService
from bridge.config import Settings
from bridge.errors import InvalidRequest, ModelNotFound
from bridge.models import ModelRegistry
from bridge.routing import ProtocolRouter
from browser.arena import (
    CREATE_PATH,
    RECAPTCHA_SITE_KEY_RE,
    ArenaMessage,
    build_create_request,
    find_site_key,
    fold_transcript,
    uuid7,
    uuid7s,
)
from tests.fake_arena import DALLE_ID, GPT4O_ID, Reply, default_models
from tests.fake_arena.create import check_create_body

MODEL = "gpt-4o-2024-08-06"
IMAGE_MODEL = "dall-e-3"
SESSION = "5e551051-0000-4000-8000-000000000000"
MESSAGE = "3e55a6e1-0000-4000-8000-000000000000"
IMAGE = {"name": "cat.png", "contentType": "image/png", "url": "data:image/png;base64,iVBORw0KGgo="}


# ---------------------------------------------------------------- uuid7


def test_uuid7_carries_version_7_the_rfc_variant_and_the_unix_milliseconds():
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after
    assert uuid7(0x0123456789AB).hex.startswith("0123456789ab7")


def test_uuid7s_of_one_request_are_distinct_and_in_increasing_order():
    ids = uuid7s(4)
    assert len(set(ids)) == 4 and ids == sorted(ids)
    assert all(uuid.UUID(i).version == 7 and str(uuid.UUID(i)) == i for i in ids)


# ---------------------------------------------------------------- the folded transcript


def test_a_lone_user_turn_is_sent_as_it_is():
    assert fold_transcript([ArenaMessage("user", "hello\n\nthere", (IMAGE,))]) == ("hello\n\nthere", [IMAGE])


def test_a_conversation_folds_into_labelled_turns_oldest_first_with_every_attachment():
    text, attachments = fold_transcript(
        [
            ArenaMessage("system", "be brief"),
            ArenaMessage("user", "first", (IMAGE,)),
            ArenaMessage("assistant", "reply one"),
            ArenaMessage("user", "second"),
        ]
    )
    assert text == "System: be brief\n\nUser: first\n\nAssistant: reply one\n\nUser: second"
    assert attachments == [IMAGE]


def test_blank_turns_are_left_out_of_the_transcript_but_keep_their_attachments():
    text, attachments = fold_transcript(
        [
            ArenaMessage("user", "Hi"),
            ArenaMessage("assistant", "", (IMAGE,)),
            ArenaMessage("user", " "),
        ]
    )
    assert (text, attachments) == ("Hi", [IMAGE])


# ---------------------------------------------------------------- the request


def filled(request) -> dict:
    """The body as the page sends it: with a token in its slot."""
    return {**json.loads(request.body), "recaptchaV3Token": "token"}


def test_the_create_request_is_a_post_whose_body_the_fake_accepts_once_the_page_adds_a_token():
    request = build_create_request([ArenaMessage("user", "hi")], GPT4O_ID)
    body = json.loads(request.body)
    assert (request.method, request.path) == ("POST", CREATE_PATH)
    assert (body["mode"], body["modality"], body["modelAId"]) == ("direct-battle", "chat", GPT4O_ID)
    assert {"modelAMessageId", "modelBMessageId"} <= set(body)
    assert body["userMessage"] == {"content": "hi", "experimental_attachments": [], "metadata": {}}
    assert body["recaptchaV3Token"] is None
    assert check_create_body(filled(request), default_models(), evaluation_id=None) == []


def test_the_page_is_told_to_mint_a_chat_submit_token_into_recaptchaV3Token():
    request = build_create_request([ArenaMessage("user", "hi")], GPT4O_ID)
    spec = request.recaptcha.to_page()
    assert spec["action"] == "chat_submit"
    assert spec["siteKeyPattern"] == RECAPTCHA_SITE_KEY_RE.pattern
    sent = request.with_token("tok-1")
    assert json.loads(sent.body)["recaptchaV3Token"] == "tok-1" and sent.recaptcha is None


def test_an_image_model_request_has_modality_image():
    request = build_create_request([ArenaMessage("user", "a cat")], DALLE_ID, modality="image")
    assert json.loads(request.body)["modality"] == "image"
    assert check_create_body(filled(request), default_models(), evaluation_id=None) == []


def test_a_follow_up_goes_to_post_to_evaluation_without_mode():
    evaluation = str(uuid7())
    request = build_create_request([ArenaMessage("user", "more")], GPT4O_ID, evaluation_id=evaluation)
    assert request.path == f"/nextjs-api/stream/post-to-evaluation/{evaluation}"
    assert "mode" not in json.loads(request.body)
    assert check_create_body(filled(request), default_models(), evaluation_id=evaluation) == []


@pytest.mark.parametrize(
    "source",
    [
        '<script src="https://www.google.com/recaptcha/enterprise.js?render=6Led_uYrAAAAAKjxDIF58fgFtX3t8loNAK85bW9I">',
        "https://www.recaptcha.net/recaptcha/enterprise.js?hl=en&render=6Led_uYrAAAAAKjxDIF58fgFtX3t8loNAK85bW9I",
        "https://www.google.com/recaptcha/enterprise/anchor?ar=1&k=6Led_uYrAAAAAKjxDIF58fgFtX3t8loNAK85bW9I&co=x",
        "<script>o=grecaptcha.enterprise.execute('6Led_uYrAAAAAKjxDIF58fgFtX3t8loNAK85bW9I', {})</script>",
    ],
)
def test_the_site_key_is_read_from_the_recaptcha_script_or_frame_url(source):
    assert find_site_key(source) == "6Led_uYrAAAAAKjxDIF58fgFtX3t8loNAK85bW9I"


def test_the_site_key_is_read_from_an_execute_call_in_the_pages_scripts():
    script = 'o=await grecaptcha.enterprise.execute("6Lf2Rk8rAAAAAB1sbBNbGgVvJ2Fl5qVb-1Zu-mkn",{action:"chat_submit"})'
    assert find_site_key(script) == "6Lf2Rk8rAAAAAB1sbBNbGgVvJ2Fl5qVb-1Zu-mkn"


# ---------------------------------------------------------------- choosing the protocol


def settings(folder: Path, **values) -> Settings:
    return Settings(**values, config_path=folder / "config.jsonc")


def picker(folder: Path, mapping: dict | None = None) -> ProtocolRouter:
    if mapping is not None:
        (folder / "model_endpoint_map.json").write_text(json.dumps(mapping))
    return ProtocolRouter(folder / "model_endpoint_map.json")


def test_auto_creates_when_no_ids_are_configured_anywhere(tmp_path):
    assert picker(tmp_path).route(settings(tmp_path), "m").protocol == "create"


def test_auto_retries_where_the_global_ids_exist(tmp_path):
    assert (
        picker(tmp_path).route(settings(tmp_path, session_id=SESSION, message_id=MESSAGE), "m").session.session_id
        == SESSION
    )


def test_auto_creates_for_a_pool_of_placeholders_and_retries_for_a_real_pool(tmp_path):
    chooser = picker(
        tmp_path,
        {"m": [{"session_id": "YOUR_ID", "message_id": ""}], "n": {"session_id": SESSION, "message_id": MESSAGE}},
    )
    assert chooser.route(settings(tmp_path), "m").protocol == "create"
    assert chooser.route(settings(tmp_path), "n").session.session_id == SESSION


def test_auto_keeps_the_404_for_an_unmapped_model_when_default_ids_are_off(tmp_path):
    with pytest.raises(ModelNotFound):
        picker(tmp_path, {}).route(settings(tmp_path, use_default_ids_if_mapping_not_found=False), "m")
    assert (
        picker(tmp_path, {})
        .route(settings(tmp_path, use_default_ids_if_mapping_not_found=False, protocol="create"), "m")
        .protocol
        == "create"
    )


def test_retry_without_ids_keeps_the_400_saying_to_capture(tmp_path):
    with pytest.raises(InvalidRequest) as caught:
        picker(tmp_path).route(settings(tmp_path, protocol="retry"), "m")
    assert (caught.value.status, caught.value.code) == (400, "session_not_configured")


def test_create_ignores_the_ids_it_does_not_need(tmp_path):
    chooser = picker(tmp_path, {"m": {"session_id": SESSION, "message_id": MESSAGE}})
    values = {"session_id": SESSION, "message_id": MESSAGE, "protocol": "create"}
    assert chooser.route(settings(tmp_path, **values), "m").protocol == "create"
    assert chooser.route(settings(tmp_path, **values), "other").protocol == "create"


def test_an_entrys_own_protocol_overrides_the_config(tmp_path):
    chooser = picker(
        tmp_path,
        {"m": {"protocol": "create"}, "n": {"session_id": SESSION, "message_id": MESSAGE, "protocol": "retry"}},
    )
    assert chooser.route(settings(tmp_path, protocol="retry"), "m").protocol == "create"
    assert chooser.route(settings(tmp_path, protocol="create"), "n").session.session_id == SESSION


def test_a_pool_may_mix_create_and_retry_entries_taken_in_turn(tmp_path):
    chooser = picker(tmp_path, {"m": [{"session_id": SESSION, "message_id": MESSAGE}, {"protocol": "create"}]})
    routes = [chooser.route(settings(tmp_path), "m") for _ in range(4)]
    assert [r.session.session_id if r.session else None for r in routes] == [SESSION, None, SESSION, None]


def test_an_unknown_entry_protocol_is_400_naming_the_file(tmp_path):
    with pytest.raises(InvalidRequest) as caught:
        picker(tmp_path, {"m": {"protocol": "magic"}}).route(settings(tmp_path), "m")
    assert caught.value.status == 400 and "model_endpoint_map.json" in caught.value.message


def test_create_for_a_model_without_an_arena_id_is_404_saying_to_refresh_the_models(tmp_path):
    (tmp_path / "models.json").write_text(json.dumps({"mystery": "null", MODEL: GPT4O_ID}))
    service = ChatService(
        None,  # type: ignore[arg-type]  (building needs no page)
        ModelRegistry(tmp_path / "models.json", tmp_path / "available_models.json"),
        ProtocolRouter(tmp_path / "model_endpoint_map.json"),
    )
    for name in ("mystery", "not-listed"):
        chat = ChatRequest(name, [ArenaMessage("user", "hi")])
        with pytest.raises(ModelNotFound) as caught:
            service.build(chat, settings(tmp_path, protocol="create"))
        assert "models.json" in caught.value.message and "lmarena-bridge models --refresh" in caught.value.message


# ---------------------------------------------------------------- the fake's reCAPTCHA stand-in (no browser)


@pytest.fixture
def http(arena):
    agent = "lmarena-bridge tests"
    cookies = arena.cleared_cookies(agent)
    with httpx.Client(base_url=arena.url, timeout=10, cookies=cookies, headers={"user-agent": agent}) as client:
        yield client


def mint(http, arena, action="chat_submit") -> str:
    response = http.get("/recaptcha/enterprise/token", params={"key": arena.recaptcha.site_key, "action": action})
    assert response.status_code == 200
    return response.json()["token"]


def post_create(http, token: str):
    body = filled(build_create_request([ArenaMessage("user", "hi")], GPT4O_ID)) | {"recaptchaV3Token": token}
    return http.post(CREATE_PATH, content=json.dumps(body), headers={"content-type": "text/plain;charset=UTF-8"})


def test_the_fake_page_loads_the_stand_in_with_its_site_key_in_the_script_url(http, arena):
    page = http.get("/").text
    assert find_site_key(page) == arena.recaptcha.site_key
    assert "grecaptcha" in http.get("/recaptcha/enterprise.js").text


def test_the_fake_mints_tokens_only_for_its_site_key(http):
    response = http.get("/recaptcha/enterprise/token", params={"key": "6Lwrong", "action": "chat_submit"})
    assert response.status_code == 400


def test_the_fake_answers_a_valid_create_with_an_echo(http, arena):
    response = post_create(http, mint(http, arena))
    texts = [json.loads(line[3:]) for line in response.text.splitlines() if line.startswith("a0:")]
    assert (response.status_code, "".join(texts)) == (200, "echo: hi")
    assert arena.requests[-1].problems == []


def test_the_fake_refuses_a_reused_token_with_403_and_a_problem(http, arena):
    token = mint(http, arena)
    assert post_create(http, token).status_code == 200
    response = post_create(http, token)
    assert (response.status_code, response.json()) == (403, {"error": "recaptcha validation failed"})
    assert "single use" in " ".join(arena.requests[-1].problems)


def test_the_fake_refuses_a_stale_token_and_one_minted_for_another_action(http, arena):
    other = mint(http, arena, action="login")
    arena.recaptcha.lifetime = 0
    assert post_create(http, mint(http, arena)).status_code == 403
    arena.recaptcha.lifetime = 120
    assert post_create(http, other).status_code == 403
    assert [len(r.problems) for r in arena.requests] == [1, 1]


def test_fail_tokens_makes_the_next_tokens_fail_without_blaming_the_client(http, arena):
    arena.fail_tokens = 1
    assert post_create(http, mint(http, arena)).status_code == 403
    assert post_create(http, mint(http, arena)).status_code == 200
    assert [r.problems for r in arena.requests] == [[], []]


# ---------------------------------------------------------------- end to end


@pytest.fixture
def no_ids(bridge):
    """The shared bridge with no session ids anywhere (the fixture restores its config)."""
    bridge.write_config(session_id="", message_id="")
    return bridge


@pytest.fixture
def endpoint_map(bridge):
    path = bridge.folder / "model_endpoint_map.json"
    yield path
    path.unlink(missing_ok=True)


def ask(client, messages=None, model=MODEL, **kwargs):
    messages = messages or [{"role": "user", "content": "hello"}]
    return client.chat.completions.create(model=model, messages=messages, **kwargs)


def assert_created(request, model_id=GPT4O_ID):
    assert (request.method, request.path, request.problems) == ("POST", CREATE_PATH, [])
    assert request.model_id == model_id and request.recaptcha_token


def test_non_stream_chat_works_with_no_session_ids_configured_anywhere(no_ids, client, arena):
    arena.enqueue(Reply.text("Hello there", usage={"promptTokens": 7, "completionTokens": 3}))
    answer = ask(client)
    assert answer.choices[0].message.content == "Hello there"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (7, 3)
    assert_created(arena.requests[-1])


def test_stream_chat_works_with_no_session_ids_configured_anywhere(no_ids, client, arena):
    chunks = list(ask(client, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hello"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert_created(arena.requests[-1])


def test_two_concurrent_requests_use_two_different_tokens(no_ids, arena):
    async def main():
        async with no_ids.async_client() as client:
            return await asyncio.gather(
                *(
                    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": f"q{i}"}])
                    for i in range(2)
                )
            )

    answers = asyncio.run(main())
    assert sorted(a.choices[0].message.content for a in answers) == ["echo: q0", "echo: q1"]
    sent = arena.requests
    assert len(sent) == 2 and all(r.problems == [] for r in sent)
    assert sent[0].recaptcha_token != sent[1].recaptcha_token


def test_a_refused_token_is_retried_once_with_a_fresh_token(no_ids, client, arena):
    arena.fail_tokens = 1
    arena.enqueue(Reply.text("second time lucky"))
    assert ask(client).choices[0].message.content == "second time lucky"
    first, second = arena.requests
    assert first.recaptcha_token != second.recaptcha_token
    assert (first.problems, second.problems) == ([], [])
    assert first.body_json["userMessage"] == second.body_json["userMessage"]


def test_a_token_refused_twice_falls_back_to_a_v2_token_in_the_retried_body(no_ids, client, arena):
    arena.fail_tokens = 2
    assert ask(client).choices[0].message.content == "echo: hello"
    first, second, third = arena.requests
    assert "recaptchaV3Token" in first.body_json and "recaptchaV3Token" in second.body_json
    assert "recaptchaV3Token" not in third.body_json and third.body_json["recaptchaV2Token"]
    assert [r.problems for r in arena.requests] == [[], [], []]
    assert first.body_json["userMessage"] == third.body_json["userMessage"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_v2_challenge_that_needs_a_person_is_a_403_saying_how_and_health_says_so(no_ids, client, arena, stream):
    arena.recaptcha.refuse_all = True
    arena.recaptcha_v2.challenge = True
    # A stream whose SSE headers already went out (StreamTiming.headers_after: the v3 retry and the
    # wait for a person take longer) gets the same error as its one error event instead of the 403.
    with pytest.raises(openai.APIError) as caught:
        answer = ask(client, stream=stream)
        if stream:
            list(answer)
    error = caught.value
    if isinstance(error, openai.APIStatusError) or not stream:
        assert (error.status_code, error.type, error.code) == (403, "permission_error", "recaptcha_failed")
    assert (error.type, error.code) == ("permission_error", "recaptcha_failed")
    assert "serve --headed" in error.message and "challenge" in error.message
    assert len(arena.requests) == 2
    health = httpx.get(f"{no_ids.url}/health", timeout=10).json()
    assert health["recaptcha"]["needs_person"] is True
    arena.recaptcha.refuse_all = arena.recaptcha_v2.challenge = False
    ask(client)
    assert "recaptcha" not in httpx.get(f"{no_ids.url}/health", timeout=10).json()


def test_a_429_prompt_failed_is_the_same_verdict_and_takes_the_same_fallback(no_ids, client, arena):
    arena.enqueue(Reply.error(429, "prompt failed"))
    arena.enqueue(Reply.error(429, "prompt failed"))
    assert ask(client).choices[0].message.content == "echo: hello"
    assert [("recaptchaV2Token" in r.body_json) for r in arena.requests] == [False, False, True]


def test_a_token_the_page_cannot_mint_is_a_502_that_quotes_the_page(no_ids, client, arena):
    loaded_key, arena.recaptcha.site_key = arena.recaptcha.site_key, "6L" + "x" * 38  # the page keeps the old key
    try:
        with pytest.raises(openai.APIStatusError) as caught:
            ask(client)
    finally:
        arena.recaptcha.site_key = loaded_key
    assert (caught.value.status_code, caught.value.code) == (403, "recaptcha_failed")
    assert "no reCAPTCHA token could be minted in the page" in caught.value.message
    assert "Invalid site key" in caught.value.message
    assert arena.requests == []


def test_an_image_model_goes_out_with_modality_image(no_ids, client, arena):
    answer = ask(client, [{"role": "user", "content": "a red fox"}], model=IMAGE_MODEL)
    assert answer.choices[0].message.content == f"![image]({arena.image_url('a-red-fox')})"
    sent = arena.requests[-1]
    assert_created(sent, DALLE_ID)
    assert sent.body_json["modality"] == "image"


def test_multi_turn_history_reaches_the_arena_folded_into_the_user_message(no_ids, client, arena):
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply one"},
        {"role": "user", "content": "second"},
    ]
    transcript = "System: be brief\n\nUser: first\n\nAssistant: reply one\n\nUser: second"
    assert ask(client, messages).choices[0].message.content == "echo: " + transcript
    assert arena.requests[-1].body_json["userMessage"]["content"] == transcript


def test_protocol_create_is_used_even_where_session_ids_exist(bridge, client, arena):
    bridge.write_config(protocol="create")
    ask(client)
    assert_created(arena.requests[-1])


def test_protocol_retry_without_ids_is_400_session_not_configured(no_ids, client, arena):
    no_ids.write_config(protocol="retry")
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client)
    assert caught.value.code == "session_not_configured"
    assert arena.requests == []


def test_an_entry_protocol_in_the_endpoint_map_sends_that_model_through_create(bridge, client, arena, endpoint_map):
    endpoint_map.write_text(json.dumps({MODEL: {"protocol": "create"}}))
    ask(client)
    assert_created(arena.requests[-1])
    ask(client, model="gemini-2.5-pro")
    assert arena.requests[-1].path.startswith("/nextjs-api/stream/retry-evaluation-session-message/")


def test_health_and_the_start_up_log_say_which_protocol_is_in_use(bridge):
    assert httpx.get(f"{bridge.url}/health", timeout=10).json()["protocol"] == "auto"
    assert "arena protocol: auto (" in bridge.log()
    bridge.write_config(protocol="create")
    assert httpx.get(f"{bridge.url}/health", timeout=10).json()["protocol"] == "create"
