"""The arena as protocol.md's second edition describes it, through the real bridge and the fake arena:
search citations, failures inside a 200, uploads through server actions, the stop endpoint, the
model list in an RSC reply, `Models not found`, the old host's 301 and an unreachable arena."""

from __future__ import annotations

import base64
import json
import socket
import time

import httpx
import json5
import openai
import pytest

from browser.arena import CREATE_PATH, ArenaMessage, build_create_request
from tests.bridge_process import wait_for
from tests.fake_arena import GPT4O_ID, MODEL_IDS, Reply, png_bytes
from tests.fake_arena.create import BATTLE_TURN, DIRECT_REFUSED

MODEL = "gpt-4o-2024-08-06"
SEARCH_MODEL = "ppl-sonar-search"
SOURCES = [("Paris - Wikipedia", "https://en.wikipedia.org/wiki/Paris"), ("Paris [official]", "https://visit.paris/")]
SOURCES_TEXT = (
    "\n\n**Sources**\n1. [Paris - Wikipedia](https://en.wikipedia.org/wiki/Paris)\n"
    "2. [Paris (official)](https://visit.paris/)"
)


@pytest.fixture
def no_ids(bridge):
    bridge.write_config(session_id="", message_id="")
    return bridge


@pytest.fixture
def client(no_ids):
    with no_ids.client() as client:
        yield client


def ask(client, content="hello", model=MODEL, **kwargs):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": content}], **kwargs)


# ---------------------------------------------------------------- the fake, over plain HTTP


@pytest.fixture
def http(arena):
    agent = "tests of the protocol"
    cookies = arena.cleared_cookies(agent)
    with httpx.Client(base_url=arena.url, timeout=10, cookies=cookies, headers={"user-agent": agent}) as client:
        yield client


def create_body(http, arena, **changes):
    token = http.get("/recaptcha/enterprise/token", params={"key": arena.recaptcha.site_key, "action": "chat_submit"})
    body = json.loads(build_create_request([ArenaMessage("user", "hi")], GPT4O_ID).body)
    return {**body, "recaptchaV3Token": token.json()["token"], **changes}


def test_the_fake_refuses_mode_direct_for_a_new_conversation(http, arena):
    response = http.post(CREATE_PATH, content=json.dumps(create_body(http, arena, mode="direct")))
    assert (response.status_code, response.json()) == (400, {"error": DIRECT_REFUSED})


def test_a_fake_direct_battle_session_turns_into_a_battle_after_the_configured_turns(http, arena):
    arena.evaluations.battle_after = 1
    body = create_body(http, arena)
    assert http.post(CREATE_PATH, content=json.dumps(body)).status_code == 200
    follow_up = {k: v for k, v in create_body(http, arena, id=body["id"]).items() if k != "mode"}
    response = http.post(f"/nextjs-api/stream/post-to-evaluation/{body['id']}", content=json.dumps(follow_up))
    assert (response.status_code, response.json()) == (400, {"error": BATTLE_TURN})


# ---------------------------------------------------------------- search citations and in-200 failures


def test_a_search_answer_ends_with_its_sources_and_carries_citations(client, arena):
    arena.enqueue(Reply.search("Paris is the capital.", SOURCES))
    answer = ask(client, "capital of France?", model=SEARCH_MODEL)
    assert answer.choices[0].message.content == "Paris is the capital." + SOURCES_TEXT
    assert answer.model_extra["citations"] == [url for _, url in SOURCES]
    assert arena.requests[-1].body_json["modality"] == "search" and arena.requests[-1].problems == []


def test_a_streamed_search_answer_puts_the_citations_on_the_final_chunk(client, arena):
    chunks = list(ask(client, "capital of France?", model=SEARCH_MODEL, stream=True))
    source = "https://search.example/capital-of-france"
    expected = f"echo: capital of France?\n\n**Sources**\n1. [Fake search result]({source})"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == [source]


@pytest.mark.parametrize("how", ["text", "finish"])
def test_a_failure_inside_a_200_before_any_text_is_a_502(client, arena, how):
    arena.enqueue(Reply.arena_error(how=how))
    with pytest.raises(openai.APIStatusError) as caught:
        ask(client)
    assert (caught.value.status_code, caught.value.code) == (502, "arena_error")
    assert ("hasArenaError" if how == "text" else 'finishReason "error"') in caught.value.message
    assert arena.requests[-1].problems == []


def test_a_failure_inside_a_200_after_text_is_one_error_event_in_the_stream(no_ids, arena):
    arena.enqueue(Reply.arena_error(before="Half an answer", how="text"))
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = httpx.post(f"{no_ids.url}/v1/chat/completions", json=body, timeout=30)
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    contents = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[:-2]]
    assert contents == ["", "Half an answer"]
    assert json.loads(events[-2])["error"]["type"] == "upstream_error" and events[-1] == "[DONE]"


# ---------------------------------------------------------------- uploads


def image_part(name: str) -> dict:
    data = base64.b64encode(png_bytes(name)).decode()
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}


def ask_with_image(client, name="cat"):
    content = [{"type": "text", "text": "what is this?"}, image_part(name)]
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])


def test_an_attachment_is_uploaded_and_sent_as_its_signed_url(client, arena):
    ask_with_image(client)
    sent = arena.requests[-1]
    (attachment,) = sent.body_json["userMessage"]["experimental_attachments"]
    assert sent.problems == [] and attachment["url"].startswith(arena.upload_url)
    upload = arena.actions.uploads[attachment["name"]]
    assert (upload.content_type, upload.data) == ("image/png", png_bytes("cat"))


def test_after_a_redeploy_the_new_action_ids_are_read_from_the_page_and_the_upload_goes_through(client, arena):
    ask_with_image(client, "one")
    arena.redeploy()
    ask_with_image(client, "two")
    assert arena.requests[-1].problems == []
    names = [name for name, _ in arena.actions.calls]
    assert names[-5:] == ["generateUploadUrl", "getSignedUrl", "unknown", "generateUploadUrl", "getSignedUrl"]


# ---------------------------------------------------------------- stop, model list, Models not found


def test_a_client_leaving_a_stream_presses_the_sites_stop_for_that_answer(no_ids, arena):
    arena.enqueue(Reply.hang(after_text="thinking"))
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream("POST", f"{no_ids.url}/v1/chat/completions", json=body, timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                break
    assert arena.wait_for_disconnect(timeout=3)
    sent = arena.requests[-1].body_json
    assert wait_for(lambda: arena.stops == [(sent["id"], sent["modelAMessageId"])], "the stop request", timeout=5)


def test_a_model_the_arena_does_not_offer_is_404_and_marked_in_v1_models(client, arena):
    arena.unoffered = {GPT4O_ID}
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client)
    assert "Models not found" in caught.value.message
    listed = {m.id: m.model_extra.get("unusable") for m in client.models.list().data}
    assert "models --refresh" in listed[MODEL] and listed["gemini-2.5-pro"] is None


def test_the_model_list_comes_from_the_rsc_reply_when_the_page_has_none_and_only_usable_models_are_kept(
    make_bridge, arena
):
    hidden = {**arena.models[0], "id": "7e57a11d-0000-4000-8000-000000000001", "publicName": "hidden-model"}
    webdev = {**arena.models[0], "id": "7e57a11d-0000-4000-8000-000000000002", "publicName": "webdev-only"}
    hidden["userSelectable"] = False
    webdev["capabilities"] = {"inputCapabilities": {"text": True}, "outputCapabilities": {"web": True}}
    arena.models = [*arena.models, hidden, webdev]
    arena.models_in_rsc_only = True
    bridge = make_bridge(models={})
    response = httpx.post(f"{bridge.url}/internal/models/refresh", timeout=60)
    assert response.json() == {"models": len(arena.models), "added": list(MODEL_IDS)}
    written = json5.loads((bridge.folder / "models.json").read_text())
    assert written[SEARCH_MODEL].endswith(":search") and "hidden-model" not in written
    assert "RSC reply" in bridge.log()


# ---------------------------------------------------------------- hosts


def test_an_old_host_in_the_config_is_followed_once_and_chat_works_on_the_new_one(make_bridge, arena):
    bridge = make_bridge(arena_url=arena.old_url, session_id="", message_id="")
    with bridge.client() as client:
        assert ask(client).choices[0].message.content == "echo: hello"
    assert arena.requests[-1].problems == []
    assert f"arena_url {arena.old_url} redirects to {arena.url}" in bridge.log()
    assert httpx.get(f"{bridge.url}/health", timeout=10).json()["arena_url"].startswith(arena.url)


def test_an_arena_that_cannot_be_reached_shows_as_arena_unreachable_with_the_network_error(make_bridge):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    bridge = make_bridge(arena_url=f"http://127.0.0.1:{closed}", wait_healthy=False)
    deadline = time.monotonic() + 30
    body: dict = {}
    while time.monotonic() < deadline and body.get("reason") != "arena_unreachable":
        try:
            body = httpx.get(f"{bridge.url}/health", timeout=5).json()
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    assert body.get("reason") == "arena_unreachable" and "ERR_CONNECTION_REFUSED" in body["detail"]


# ---------------------------------------------------------------- a session that became a battle (in-process)


@pytest.mark.anyio
async def test_a_session_that_turned_into_a_battle_before_any_output_is_replaced_by_a_new_evaluation(tmp_path):
    from browser.errors import ArenaFailure, FailureKind
    from browser.stream import Finish, TextDelta
    from tests.scripted_page import ScriptedPage, in_process_app

    def answer(request):
        if len(page.requests) == 1:
            return ArenaFailure(FailureKind.BATTLE_TURN, BATTLE_TURN, status=400)
        return [TextDelta("fresh answer"), Finish("stop")]

    page = ScriptedPage(answer)
    app = in_process_app(tmp_path, page, {MODEL: GPT4O_ID}, protocol="create")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        client = openai.AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1/v1", http_client=http, max_retries=0)
        answer_ = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer_.choices[0].message.content == "fresh answer"
    first, second = page.bodies()
    assert first["id"] != second["id"] and second["mode"] == "direct-battle"
