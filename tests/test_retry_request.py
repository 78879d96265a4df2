"""The retry protocol's request body, built from arena messages."""

import json
import uuid

from browser.arena import ArenaMessage, SessionIds, build_retry_request, parse_retry_url

SESSION = SessionIds("11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000")


def body_of(messages, session=SESSION, model_id="m-1", image=False):
    request = build_retry_request(messages, session, model_id, image=image)
    return request, json.loads(request.body)


def test_request_is_a_put_to_the_retry_path_with_both_ids_and_text_plain():
    request, _ = body_of([ArenaMessage("user", "hi")])
    assert request.method == "PUT"
    assert request.path == (
        f"/nextjs-api/stream/retry-evaluation-session-message/{SESSION.session_id}/messages/{SESSION.message_id}"
    )
    assert request.headers["Content-Type"] == "text/plain;charset=UTF-8"
    assert parse_retry_url("https://lmarena.ai" + request.path) == (SESSION.session_id, SESSION.message_id)


def test_messages_are_chained_by_parent_ids_with_fresh_uuid4s():
    _, body = body_of([ArenaMessage("system", "s"), ArenaMessage("user", "u"), ArenaMessage("assistant", "a")])
    chain = body["messages"]
    assert chain[0]["parentMessageIds"] == []
    assert [m["parentMessageIds"] for m in chain[1:]] == [[chain[0]["id"]], [chain[1]["id"]]]
    assert len({m["id"] for m in chain}) == 3
    assert all(uuid.UUID(m["id"]).version == 4 for m in chain)
    assert all(m["evaluationSessionId"] == SESSION.session_id and m["evaluationId"] is None for m in chain)


def test_every_message_but_the_last_is_success_and_the_last_pending():
    _, body = body_of([ArenaMessage("user", "1"), ArenaMessage("assistant", "2"), ArenaMessage("user", "3")])
    assert [m["status"] for m in body["messages"]] == ["success", "success", "pending"]


def test_image_model_requests_mark_every_message_success():
    _, body = body_of([ArenaMessage("user", "draw")], image=True)
    assert [m["status"] for m in body["messages"]] == ["success"]


def test_direct_chat_puts_everything_on_a_except_system_on_b():
    _, body = body_of([ArenaMessage("system", "s"), ArenaMessage("user", "u"), ArenaMessage("assistant", "a")])
    assert [m["participantPosition"] for m in body["messages"]] == ["b", "a", "a"]


def test_battle_mode_puts_every_message_on_the_target_side():
    session = SessionIds(SESSION.session_id, SESSION.message_id, "battle", "B")
    _, body = body_of([ArenaMessage("system", "s"), ArenaMessage("user", "u")], session=session)
    assert [m["participantPosition"] for m in body["messages"]] == ["b", "b"]


def test_model_id_and_attachments_are_carried():
    attachment = {"name": "a.png", "contentType": "image/png", "url": "data:image/png;base64,AAAA"}
    _, body = body_of([ArenaMessage("user", "look", (attachment,))], model_id=None)
    assert body["modelId"] is None
    assert body["messages"][0]["experimental_attachments"] == [attachment]
    assert set(body) == {"messages", "modelId"}
