"""Fast checks (httpx, no browser) that the fake arena speaks shared/protocol.md."""

from __future__ import annotations

import json
import re
import socket
import ssl
import struct
import time
import uuid
import zlib
from datetime import UTC, datetime

import h2.connection
import h2.errors
import h2.events
import httpx
import pytest

from tests.fake_arena import (
    CLAUDE_ID,
    DALLE_ID,
    DEFAULT_MODELS,
    GPT4O_ID,
    MODEL_IDS,
    FakeArena,
    Reply,
)

TEXT_PLAIN = {"content-type": "text/plain;charset=UTF-8", "accept": "*/*"}


# ---------------------------------------------------------------- fixtures/helpers
@pytest.fixture(scope="module")
def _server():
    with FakeArena(gate=False) as arena:
        yield arena


@pytest.fixture
def arena(_server):
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def client(arena):
    with httpx.Client(base_url=arena.url, timeout=10) as c:
        c.cookies.set("arena-auth-prod-v1", arena.auth_cookie_value)
        yield c


@pytest.fixture(scope="module")
def h2_arena():
    with FakeArena(http2=True, gate=False) as arena:
        yield arena


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def chain(session_id, turns, *, position="a", image=False):
    """A valid message chain: turns = [(role, content), ...]."""
    messages, previous = [], None
    for index, (role, content) in enumerate(turns):
        last = index == len(turns) - 1
        message = {
            "role": role,
            "content": content,
            "id": str(uuid.uuid4()),
            "evaluationId": None,
            "evaluationSessionId": session_id,
            "parentMessageIds": [previous] if previous else [],
            "experimental_attachments": [],
            "failureReason": None,
            "metadata": None,
            "participantPosition": position,
            "createdAt": now_iso(),
            "updatedAt": now_iso(),
            "status": "pending" if last and not image else "success",
        }
        previous = message["id"]
        messages.append(message)
    return messages


def put(client, arena, messages, model_id=GPT4O_ID, session_id=None, **kwargs):
    session_id = session_id or (messages[0]["evaluationSessionId"] if messages else str(uuid.uuid4()))
    body = json.dumps({"messages": messages, "modelId": model_id})
    headers = kwargs.pop("headers", TEXT_PLAIN)
    return client.put(arena.retry_path(session_id), content=body, headers=headers, **kwargs)


def decode_stream(body: str):
    """A reference decoder: (text, reasoning, images, finish records, errors, sides)."""
    text, reasoning, images, finishes, errors, sides = "", "", [], [], [], set()
    for line in body.split("\n"):
        if line.startswith("data: "):
            line = line[6:]
        if not line:
            continue
        prefix, _, payload = line.partition(":")
        value = json.loads(payload)
        sides.add(prefix[0])
        kind = prefix[1:]
        if kind == "0":
            text += value
        elif kind == "g":
            reasoning += value
        elif kind == "2":
            images += [item["image"] for item in value if item.get("type") == "image"]
        elif kind == "3":
            errors.append(value)
        elif kind == "d":
            finishes.append(value)
    return text, reasoning, images, finishes, errors, sides


def conversation(session_id=None):
    sid = session_id or str(uuid.uuid4())
    return chain(
        sid,
        [
            ("system", "be brief"),
            ("user", "first"),
            ("assistant", "ok"),
            ("user", "héllo wörld 你好 😀"),
            ("assistant", ""),
        ],
    )


# ---------------------------------------------------------------- echo and auth
def test_fake_echoes_last_user_message_in_a_few_a0_lines_then_ad(arena, client):
    messages = conversation()
    for m in messages:
        if m["role"] == "system":
            m["participantPosition"] = "b"
    response = put(client, arena, messages)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.strip("\n").split("\n")
    assert len(lines) >= 3 and all(line.startswith("a0:") for line in lines[:-1])
    text, _, _, finishes, _, sides = decode_stream(response.text)
    assert text == "echo: héllo wörld 你好 😀"
    assert sides == {"a"}
    assert finishes[0]["finishReason"] == "stop"
    assert finishes[0]["usage"]["promptTokens"] > 0 and finishes[0]["usage"]["completionTokens"] > 0
    assert arena.requests[-1].problems == []


def test_fake_echo_answers_on_side_b_when_every_message_is_on_side_b(arena, client):
    response = put(client, arena, chain(str(uuid.uuid4()), [("user", "hi"), ("assistant", "")], position="b"))
    text, _, _, finishes, _, sides = decode_stream(response.text)
    assert (text, sides) == ("echo: hi", {"b"})
    assert response.text.rstrip("\n").split("\n")[-1].startswith("bd:")


def test_fake_answers_401_without_the_auth_cookie_and_still_records_the_request(arena):
    session_id = str(uuid.uuid4())
    with httpx.Client(base_url=arena.url) as anonymous:
        response = put(anonymous, arena, chain(session_id, [("user", "x"), ("assistant", "")]))
    assert response.status_code == 401
    assert response.json() == {"error": f"User anonymous does not have access to evaluation session {session_id}"}
    assert len(arena.requests) == 1 and arena.requests[0].session_id == session_id


def test_fake_accepts_the_auth_cookie_split_in_two_parts(arena):
    value = arena.auth_cookie_value
    with httpx.Client(base_url=arena.url) as c:
        c.cookies.set("arena-auth-prod-v1.0", value[:40])
        c.cookies.set("arena-auth-prod-v1.1", value[40:])
        response = put(c, arena, chain(str(uuid.uuid4()), [("user", "split"), ("assistant", "")]))
    assert response.status_code == 200
    assert decode_stream(response.text)[0] == "echo: split"


def test_page_load_sets_the_auth_and_cloudflare_cookies_when_auto_login(arena):
    with httpx.Client(base_url=arena.url) as c:
        page = c.get("/")
        assert page.status_code == 200 and "<title>LMArena</title>" in page.text
        assert c.cookies.get("arena-auth-prod-v1") == arena.auth_cookie_value
        assert c.cookies.get("__cf_bm")
        again = c.get("/")
        assert "arena-auth-prod-v1" not in again.headers.get("set-cookie", "")
        assert put(c, arena, chain(str(uuid.uuid4()), [("user", "a"), ("assistant", "")])).status_code == 200
    assert arena.page_loads == 2


def test_page_load_does_not_log_in_when_auto_login_is_off():
    with FakeArena(auto_login=False, gate=False) as arena, httpx.Client(base_url=arena.url) as c:
        c.get("/")
        assert c.cookies.get("arena-auth-prod-v1") is None
        assert put(c, arena, chain(str(uuid.uuid4()), [("user", "a"), ("assistant", "")])).status_code == 401


# ---------------------------------------------------------------- validation
def test_fake_records_no_problems_for_a_valid_chain_with_attachments(arena, client):
    messages = chain(str(uuid.uuid4()), [("user", "look"), ("assistant", "")])
    messages[0]["experimental_attachments"] = [
        {"name": "a.png", "contentType": "image/png", "url": "data:image/png;base64,AAAA"}
    ]
    assert put(client, arena, messages, model_id=CLAUDE_ID).status_code == 200
    request = arena.requests[-1]
    assert request.problems == []
    assert request.method == "PUT" and request.model_id == CLAUDE_ID
    assert request.body_json["messages"] == messages
    assert request.headers["content-type"] == "text/plain;charset=UTF-8"
    assert request.cookies["arena-auth-prod-v1"] == arena.auth_cookie_value


def test_fake_records_every_problem_of_a_malformed_chain_but_still_answers(arena, client):
    session_id = str(uuid.uuid4())
    messages = chain(session_id, [("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "")])
    messages[1]["parentMessageIds"] = []  # broken chain
    messages[2]["id"] = messages[0]["id"]  # duplicate id
    messages[3]["id"] = "not-a-uuid"
    messages[0]["evaluationSessionId"] = str(uuid.uuid4())
    messages[1]["status"] = "pending"
    messages[2]["extra"] = 1
    messages[3]["participantPosition"] = "c"
    messages[0]["createdAt"] = "yesterday"
    messages[1]["experimental_attachments"] = [{"url": "x"}]
    response = put(client, arena, messages, session_id=session_id, headers={"content-type": "application/json"})
    assert response.status_code == 200
    problems = "\n".join(arena.requests[-1].problems)
    for expected in (
        "content-type",
        "messages[1].parentMessageIds",
        "not unique",
        "messages[3].id must be a uuid4",
        "messages[0].evaluationSessionId",
        "messages[1].status",
        "extra ['extra']",
        "messages[3].participantPosition",
        "messages[0].createdAt",
        "experimental_attachments[0]",
    ):
        assert expected in problems, expected


def test_fake_flags_wrong_body_keys_and_a_non_uuid_model_id(arena, client):
    body = {"messages": [], "modelId": "gpt-4o", "mode": "direct"}
    client.put(arena.retry_path(), content=json.dumps(body), headers=TEXT_PLAIN)
    problems = "\n".join(arena.requests[-1].problems)
    assert "body keys" in problems and "modelId" in problems and "non-empty" in problems


def test_fake_expects_all_success_statuses_for_an_image_model(arena, client):
    sid = str(uuid.uuid4())
    put(client, arena, chain(sid, [("user", "a cat")], image=True), model_id=DALLE_ID)
    assert arena.requests[-1].problems == []
    put(client, arena, chain(sid, [("user", "a cat")]), model_id=DALLE_ID)
    assert any("status must be 'success'" in p for p in arena.requests[-1].problems)


def test_fake_answers_400_invalid_json_when_the_body_is_not_json(arena, client):
    response = client.put(arena.retry_path(), content="{not json", headers=TEXT_PLAIN)
    assert (response.status_code, response.json()) == (400, {"error": "Invalid JSON"})
    assert "body is not JSON" in arena.requests[-1].problems


# ---------------------------------------------------------------- challenge, page, png
def test_fake_serves_the_challenge_page_and_403s_the_api_while_challenge_is_on(arena, client):
    arena.challenge = True
    page = client.get("/")
    assert page.status_code == 403
    assert "<title>Just a moment...</title>" in page.text
    assert "Enable JavaScript and cookies to continue" in page.text
    api = put(client, arena, chain(str(uuid.uuid4()), [("user", "x"), ("assistant", "")]))
    assert api.status_code == 403 and "Just a moment..." in api.text
    arena.challenge = False
    assert client.get("/").status_code == 200


def test_page_embeds_models_parseable_by_a_flight_data_regex(arena, client):
    html = client.get("/").text
    chunks = re.findall(r'self\.__next_f\.push\(\[1,"((?:[^"\\]|\\.)*)"\]\)', html)
    assert len(chunks) >= 3
    flight = "".join(json.loads(f'"{chunk}"') for chunk in chunks)
    start = flight.index('"initialModels":') + len('"initialModels":')
    models, _ = json.JSONDecoder().raw_decode(flight, start)
    assert models == DEFAULT_MODELS == arena.models
    # the seed's style: objects found directly in the escaped HTML
    ids = re.findall(r'\{\\"id\\":\\"([a-f0-9-]{36})\\",\\"publicName\\":\\"([^"\\]+)\\"', html)
    assert dict((name, mid) for mid, name in ids) == MODEL_IDS
    dalle = next(m for m in models if m["id"] == DALLE_ID)
    assert dalle["capabilities"]["outputCapabilities"]["image"] == {"aspectRatios": ["1:1"]}
    assert any("organization" not in m for m in models)


def test_fake_image_path_serves_a_valid_png(arena, client):
    response = client.get("/fake/image/cat.png")
    data = response.content
    assert response.headers["content-type"] == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (8, 8)
    assert zlib.decompress(data[41:-12])  # IDAT payload inflates


# ---------------------------------------------------------------- replies
def test_queued_replies_are_served_in_fifo_order_then_the_echo_returns(arena, client):
    arena.enqueue(Reply.text("first"))
    arena.enqueue(Reply.error(429, retry_after=7))
    sid = str(uuid.uuid4())
    assert decode_stream(put(client, arena, chain(sid, [("user", "q"), ("assistant", "")])).text)[0] == "first"
    limited = put(client, arena, chain(sid, [("user", "q"), ("assistant", "")]))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert decode_stream(put(client, arena, chain(sid, [("user", "q"), ("assistant", "")])).text)[0] == "echo: q"


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text('Hi "there"\n\\ 你好 😀', reasoning="think 🤔 hard", side="b"),
        Reply.data_wrapped("wrapped ünïcode"),
        Reply.images(["https://x/1.png", "https://x/2.png"]),
        Reply.content_filter("cut ☂ here"),
        Reply.in_stream_error("Resource exhausted.", before="part"),
        Reply.trickle("abc", delay=0.001),
        Reply.big(20_000),
    ],
    ids=["text", "data", "images", "filter", "a3", "trickle", "big"],
)
def test_streamed_replies_decode_to_what_they_promise(arena, client, reply):
    arena.enqueue(reply)
    response = put(client, arena, chain(str(uuid.uuid4()), [("user", "q"), ("assistant", "")]))
    assert response.status_code == 200
    text, reasoning, images, finishes, errors, _ = decode_stream(response.text)
    assert (text, reasoning, images) == (reply.expected_text, reply.expected_reasoning, reply.expected_images)
    assert [f["finishReason"] for f in finishes] == ([reply.finish_reason] if reply.finish_reason else [])
    assert bool(errors) == (reply.fragments[-1][1:3] == b"3:")


def test_big_reply_is_over_100kb_of_deterministic_unicode_text():
    reply = Reply.big(100_000)
    assert len(reply.expected_text.encode()) >= 100_000 and reply.expected_text == Reply.big_text(100_000)
    assert len(reply.fragments) > 100 and any(ord(ch) > 0xFFFF for ch in reply.expected_text)


def test_error_replies_carry_the_protocol_default_bodies():
    assert json.loads(Reply.error(404).body) == {"error": "Model not found"}
    assert json.loads(Reply.error(400).body)["error"]["name"] == "ZodError"
    assert Reply.error(500).body == b"Internal Server Error"
    assert "Just a moment..." in Reply.challenge().body.decode() and Reply.challenge().status == 403


def test_fragmented_reply_splits_a_multibyte_character_and_an_escape_across_writes(arena, client):
    text = 'Grüße, 世界! "q"\n😀 end'
    reply = Reply.fragmented(text, seed=3)
    assert b"".join(reply.fragments) == Reply.text(text).body
    undecodable = 0
    for fragment in reply.fragments:
        try:
            fragment.decode("utf-8")
        except UnicodeDecodeError:
            undecodable += 1
    assert undecodable >= 1  # a multi-byte character is cut
    assert any(re.search(rb"\\u[0-9a-f]{0,3}$", f) for f in reply.fragments)  # an escape is cut
    arena.enqueue(reply)
    with client.stream(
        "PUT",
        arena.retry_path(),
        headers=TEXT_PLAIN,
        content=json.dumps({"messages": chain(str(uuid.uuid4()), [("user", "q")]), "modelId": GPT4O_ID}),
    ) as response:
        received = list(response.iter_raw())
    assert len(received) > 1
    assert decode_stream(b"".join(received).decode())[0] == text


# ---------------------------------------------------------------- abort, hang, die
def _stream_first_chunk_then_leave(arena, base_client):
    with base_client.stream(
        "PUT",
        arena.retry_path(),
        headers=TEXT_PLAIN,
        content=json.dumps({"messages": chain(str(uuid.uuid4()), [("user", "q")]), "modelId": GPT4O_ID}),
    ) as response:
        first = next(response.iter_raw())
    return first


@pytest.mark.parametrize("kind", ["hang", "trickle"])
def test_client_leaving_mid_stream_is_seen_as_a_disconnect(arena, client, kind):
    assert not arena.wait_for_disconnect(0)
    arena.enqueue(Reply.hang("partial") if kind == "hang" else Reply.trickle("x" * 200, delay=0.05))
    first = _stream_first_chunk_then_leave(arena, client)
    assert first.startswith(b"a0:")
    assert arena.wait_for_disconnect(5)
    assert arena.disconnects == 1


def test_finished_reply_is_not_counted_as_a_disconnect(arena, client):
    put(client, arena, chain(str(uuid.uuid4()), [("user", "q"), ("assistant", "")]))
    client.close()
    assert not arena.wait_for_disconnect(0.3)


def test_die_reply_aborts_the_connection_after_some_text(arena, client):
    arena.enqueue(Reply.die("half an ans"))
    received = b""
    with pytest.raises(httpx.TransportError):
        with client.stream("PUT", arena.retry_path(), headers=TEXT_PLAIN, content="{}") as response:
            for chunk in response.iter_raw():
                received += chunk
    assert decode_stream(received.decode())[0] == "half an ans"


def test_stop_does_not_wait_for_a_hanging_reply():
    arena = FakeArena(gate=False).start()
    arena.enqueue(Reply.hang())
    with httpx.Client(base_url=arena.url, timeout=10) as c:
        c.cookies.set("arena-auth-prod-v1", arena.auth_cookie_value)
        with c.stream("PUT", arena.retry_path(), headers=TEXT_PLAIN, content="{}") as response:
            assert response.status_code == 200
            started = time.monotonic()
            arena.stop()
            assert time.monotonic() - started < 5
    arena.stop()  # idempotent


# ---------------------------------------------------------------- HTTP/2
def test_fake_serves_http2_over_tls_with_streaming_and_disconnects(h2_arena):
    h2_arena.reset()
    assert h2_arena.url.startswith("https://127.0.0.1:")
    with httpx.Client(base_url=h2_arena.url, http2=True, verify=False, timeout=10) as c:
        page = c.get("/")
        assert page.http_version == "HTTP/2" and "LMArena" in page.text
        assert c.cookies.get("arena-auth-prod-v1") == h2_arena.auth_cookie_value
        text = "über 世界 😀"
        h2_arena.enqueue(Reply.fragmented(text))
        response = put(c, h2_arena, chain(str(uuid.uuid4()), [("user", "q"), ("assistant", "")]))
        assert response.http_version == "HTTP/2"
        assert decode_stream(response.text)[0] == text
        assert h2_arena.requests[-1].problems == []
        h2_arena.enqueue(Reply.die("gone"))
        with pytest.raises(httpx.TransportError):
            put(c, h2_arena, chain(str(uuid.uuid4()), [("user", "q"), ("assistant", "")]))


def _h2_put_first_data_then_reset(arena) -> bytes:
    """Like a browser aborting fetch() on HTTP/2: RST_STREAM(CANCEL) after the first data."""
    context = ssl.create_default_context(cafile=arena.ca_cert_path)
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", arena.port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            assert sock.selected_alpn_protocol() == "h2"
            conn = h2.connection.H2Connection()
            conn.initiate_connection()
            body = json.dumps({"messages": chain(str(uuid.uuid4()), [("user", "q")]), "modelId": GPT4O_ID})
            headers = [
                (":method", "PUT"),
                (":scheme", "https"),
                (":authority", f"127.0.0.1:{arena.port}"),
                (":path", arena.retry_path()),
                ("content-type", "text/plain;charset=UTF-8"),
                ("cookie", f"arena-auth-prod-v1={arena.auth_cookie_value}"),
            ]
            conn.send_headers(1, headers)
            conn.send_data(1, body.encode(), end_stream=True)
            sock.sendall(conn.data_to_send())
            while True:
                data = sock.recv(65536)
                assert data, "server closed the connection"
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        conn.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
                        sock.sendall(conn.data_to_send())
                        return event.data
                sock.sendall(conn.data_to_send())


def test_http2_stream_reset_mid_stream_is_seen_as_a_disconnect(h2_arena):
    h2_arena.reset()
    h2_arena.enqueue(Reply.hang("wait"))
    assert _h2_put_first_data_then_reset(h2_arena).startswith(b"a0:")
    assert h2_arena.wait_for_disconnect(5)


# ---------------------------------------------------------------- the Cloudflare-like gate (gate.py)
PERSON = {
    "botd": {"bot": False},
    "webdriver": False,
    "ua": "Mozilla/5.0 Chrome/156.0.0.0",
    "brands": ["Chromium"],
    "plugins": 5,
    "chrome": True,
}


@pytest.fixture(scope="module")
def gated():
    with FakeArena() as arena:
        yield arena


def test_the_gate_blocks_any_request_whose_headers_say_headless(gated):
    headless = {"user-agent": "Mozilla/5.0 HeadlessChrome/156.0.0.0", "sec-ch-ua": '"Chromium";v="156"'}
    hinted = {"user-agent": "Mozilla/5.0 Chrome/156.0.0.0", "sec-ch-ua": '"HeadlessChrome";v="156"'}
    for headers in (headless, hinted):
        with httpx.Client(
            base_url=gated.url, headers=headers, cookies=gated.cleared_cookies(headers["user-agent"])
        ) as c:
            page = c.get("/")
            assert page.status_code == 403 and "Sorry, you have been blocked" in page.text


def test_the_gate_challenges_the_page_and_the_api_until_cleared(gated):
    with httpx.Client(base_url=gated.url, cookies={"arena-auth-prod-v1": gated.auth_cookie_value}) as c:
        page = c.get("/")
        assert page.status_code == 403 and "<title>Just a moment...</title>" in page.text
        assert "botd.esm.js" in page.text and c.get("/fake/static/botd.esm.js").status_code == 200
        api = c.put(gated.retry_path(), content="{}", headers=TEXT_PLAIN)
        assert api.status_code == 403 and api.headers["cf-mitigated"] == "challenge"


def test_the_gate_clears_only_a_browser_whose_check_passed_and_only_for_its_user_agent(gated):
    agent = {"user-agent": PERSON["ua"]}
    with httpx.Client(base_url=gated.url, headers=agent) as c:
        bot = c.post("/cdn-cgi/challenge-platform/verify", content=json.dumps({**PERSON, "botd": {"bot": True}}))
        assert bot.status_code == 403 and "cf_clearance" not in c.cookies
        assert "BotD says" in gated.gate.verdicts[-1]["problems"][0]
        person = c.post("/cdn-cgi/challenge-platform/verify", content=json.dumps(PERSON))
        assert person.status_code == 200 and c.cookies["cf_clearance"]
        assert c.get("/").status_code == 200
        assert c.get("/", headers={"user-agent": "Mozilla/5.0 Firefox/130.0"}).status_code == 403


def test_a_plain_playwright_headless_chromium_does_not_get_past_the_gate(gated):
    from playwright.sync_api import sync_playwright

    from tests.conftest import system_chromium

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=system_chromium(), headless=True)
        try:
            page = browser.new_page()
            response = page.goto(gated.url)
            assert response.status == 403 and "Sorry, you have been blocked" in page.content()
        finally:
            browser.close()
