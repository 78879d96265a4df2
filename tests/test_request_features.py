"""The seed's request features, end to end: real server, real Chromium, the fake arena.

Each test asserts on the exact body (and URL) the fake arena received.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter

import httpx
import openai
import pytest

from tests.bridge_process import MESSAGE_ID, SESSION_ID, entry, ids

MODEL = "gpt-4o-2024-08-06"
IMAGE_MODEL = "dall-e-3"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n not really a png").decode()
PNG_URL = f"data:image/png;base64,{PNG}"
POSITION_RULE = "participantPosition mix"  # the fake arena's rule knows nothing of bypass's side a


@pytest.fixture
def endpoint_map(bridge):
    """Write the bridge's model_endpoint_map.json (atomically); removed after the test."""
    path = bridge.folder / "model_endpoint_map.json"

    def write(mapping: dict) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(mapping, indent=2))
        os.replace(tmp, path)

    yield write
    path.unlink(missing_ok=True)


def chat(client, messages, model=MODEL):
    return client.chat.completions.create(model=model, messages=messages)


def say(client, text="hello", model=MODEL):
    return chat(client, [{"role": "user", "content": text}], model)


def last_chain(arena):
    sent = arena.requests[-1]
    assert sent.problems == []
    return sent.body_json["messages"]


def roles_contents(chain):
    return [(m["role"], m["content"]) for m in chain]


def positions(chain):
    return [m["participantPosition"] for m in chain]


def error_of(raised: pytest.ExceptionInfo) -> dict:
    return raised.value.body


# ---------------------------------------------------------------- model_endpoint_map.json


def test_requests_spread_evenly_over_a_models_pool_of_sessions(client, arena, endpoint_map):
    endpoint_map({MODEL: [entry(1), entry(2)]})
    for _ in range(6):
        say(client)
    targets = Counter((r.session_id, r.message_id) for r in arena.requests)
    assert targets == {ids(1): 3, ids(2): 3}
    assert all(r.problems == [] for r in arena.requests)


def test_a_pool_entrys_battle_target_decides_the_positions(client, arena, endpoint_map):
    endpoint_map({MODEL: [entry(1, mode="battle", battle_target="B")]})
    chat(client, [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    assert positions(last_chain(arena)) == ["b", "b"]


def test_a_direct_chat_entry_ignores_a_global_battle_mode(bridge, client, arena, endpoint_map):
    bridge.write_config(id_updater_last_mode="battle", id_updater_battle_target="B")
    endpoint_map({MODEL: [entry(1, mode="direct_chat")]})
    chat(client, [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    assert positions(last_chain(arena)) == ["b", "a"]


def test_an_old_single_object_entry_gives_its_ids(client, arena, endpoint_map):
    endpoint_map({MODEL: entry(3)})
    say(client)
    sent = arena.requests[-1]
    assert (sent.session_id, sent.message_id) == ids(3)
    assert {m["evaluationSessionId"] for m in last_chain(arena)} == {ids(3)[0]}


def test_an_entry_without_mode_uses_the_global_mode_and_target(bridge, client, arena, endpoint_map):
    bridge.write_config(id_updater_last_mode="battle", id_updater_battle_target="B")
    endpoint_map({MODEL: entry(3)})
    chat(client, [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    assert positions(last_chain(arena)) == ["b", "b"]


def test_a_model_not_in_the_map_uses_the_global_ids(client, arena, endpoint_map):
    endpoint_map({"claude-3-5-sonnet-20241022": entry(1)})
    say(client)
    assert (arena.requests[-1].session_id, arena.requests[-1].message_id) == (SESSION_ID, MESSAGE_ID)


def test_a_model_not_in_the_map_is_404_naming_the_file_when_defaults_are_off(bridge, client, arena, endpoint_map):
    bridge.write_config(use_default_ids_if_mapping_not_found=False)
    endpoint_map({"claude-3-5-sonnet-20241022": entry(1)})
    with pytest.raises(openai.NotFoundError) as raised:
        say(client)
    assert error_of(raised)["code"] == "model_not_found"
    assert "model_endpoint_map.json" in error_of(raised)["message"]
    assert arena.requests == []


def test_placeholder_global_ids_are_400_saying_to_run_capture(bridge, client, arena):
    bridge.write_config(session_id="YOUR_SESSION_ID", message_id="YOUR_MESSAGE_ID", protocol="retry")
    with pytest.raises(openai.BadRequestError) as raised:
        say(client)
    assert error_of(raised)["code"] == "session_not_configured"
    assert "lmarena-bridge capture" in error_of(raised)["message"]
    assert arena.requests == []


def test_a_map_entry_without_ids_is_400_saying_to_run_capture(client, arena, endpoint_map):
    endpoint_map({MODEL: {"session_id": "", "message_id": "", "protocol": "retry"}})
    with pytest.raises(openai.BadRequestError) as raised:
        say(client)
    assert error_of(raised)["code"] == "session_not_configured"
    assert f"lmarena-bridge capture --model {MODEL}" in error_of(raised)["message"]
    assert arena.requests == []


# ---------------------------------------------------------------- tavern and bypass


def test_tavern_mode_merges_system_messages_into_one_leading_message(bridge, client, arena):
    bridge.write_config(tavern_mode_enabled=True)
    chat(
        client,
        [
            {"role": "system", "content": "rule one"},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "rule two"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "go"},
        ],
    )
    chain = last_chain(arena)
    assert roles_contents(chain) == [
        ("system", "rule one\n\nrule two"),
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "go"),
    ]
    assert positions(chain) == ["b", "a", "a", "a"]


def test_bypass_appends_one_blank_user_message_on_side_a(bridge, client, arena):
    bridge.write_config(bypass_enabled=True)
    answer = say(client, "tell me")
    chain = last_chain(arena)
    assert roles_contents(chain) == [("user", "tell me"), ("user", " ")]
    assert positions(chain) == ["a", "a"]
    assert [m["status"] for m in chain] == ["success", "pending"]
    assert answer.choices[0].message.content == "echo:  "


def test_bypass_message_stays_on_side_a_in_battle_b(bridge, client, arena):
    bridge.write_config(bypass_enabled=True, id_updater_last_mode="battle", id_updater_battle_target="B")
    chat(client, [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    sent = arena.requests[-1]
    assert [p for p in sent.problems if POSITION_RULE not in p] == []
    assert [(m["role"], m["content"], m["participantPosition"]) for m in sent.messages] == [
        ("system", "s", "b"),
        ("user", "u", "b"),
        ("user", " ", "a"),
    ]


def test_bypass_leaves_image_models_alone(bridge, client, arena):
    bridge.write_config(bypass_enabled=True)
    say(client, "a red cube", model=IMAGE_MODEL)
    chain = last_chain(arena)
    assert roles_contents(chain) == [("user", "a red cube")]
    assert chain[0]["status"] == "success"


def test_bypass_flag_moves_the_images_to_an_empty_assistant_message(client, arena):
    chat(
        client,
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is in it? --bypass"},
                    {"type": "image_url", "image_url": {"url": PNG_URL}},
                ],
            }
        ],
    )
    chain = last_chain(arena)
    assert roles_contents(chain) == [("user", "Hi"), ("assistant", ""), ("user", "what is in it?")]
    assert [m["experimental_attachments"] for m in chain] == [
        [],
        [{"name": "image_1.png", "contentType": "image/png", "url": PNG_URL}],
        [],
    ]


def test_bypass_flag_without_images_is_sent_as_written(client, arena):
    say(client, "just text --bypass")
    assert roles_contents(last_chain(arena)) == [("user", "just text --bypass")]


# ---------------------------------------------------------------- attachments


def test_every_kind_of_attachment_reaches_the_arena_in_order(client, arena):
    audio = base64.b64encode(b"ID3 fake mp3").decode()
    pdf = base64.b64encode(b"%PDF-1.4 fake").decode()
    link = "https://example.com/img/dog.webp"
    chat(
        client,
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look at"},
                    {"type": "image_url", "image_url": {"url": PNG_URL}},
                    {"type": "image_url", "image_url": {"url": link}},
                    {"type": "input_audio", "input_audio": {"data": audio, "format": "mp3"}},
                    {
                        "type": "file",
                        "file": {"file_data": f"data:application/pdf;base64,{pdf}", "filename": "notes.pdf"},
                    },
                    {"type": "text", "text": "these"},
                ],
            }
        ],
    )
    [message] = last_chain(arena)
    assert message["content"] == "look at\n\nthese"
    assert message["experimental_attachments"] == [
        {"name": "image_1.png", "contentType": "image/png", "url": PNG_URL},
        {"name": "dog.webp", "contentType": "image/webp", "url": link},
        {"name": "audio_3.mp3", "contentType": "audio/mpeg", "url": f"data:audio/mpeg;base64,{audio}"},
        {"name": "notes.pdf", "contentType": "application/pdf", "url": f"data:application/pdf;base64,{pdf}"},
    ]


def test_attachments_in_several_messages_stay_with_their_message(client, arena):
    chat(
        client,
        [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}]},
            {"role": "assistant", "content": "a picture"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "again"}, {"type": "image_url", "image_url": {"url": PNG_URL}}],
            },
        ],
    )
    assert [len(m["experimental_attachments"]) for m in last_chain(arena)] == [1, 0, 1]


def test_empty_user_text_becomes_a_single_space(client, arena):
    chat(client, [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}]}])
    assert roles_contents(last_chain(arena)) == [("user", " ")]


def test_invalid_base64_is_400_naming_the_part(client, arena):
    with pytest.raises(openai.BadRequestError) as raised:
        chat(
            client,
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "see"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@not base64@@"}},
                    ],
                }
            ],
        )
    error = error_of(raised)
    assert (error["code"], error["param"]) == ("invalid_attachment", "messages[0].content[1]")
    assert "base64" in error["message"]
    assert arena.requests == []


def test_an_unknown_mime_type_is_400_naming_the_part(client, arena):
    with pytest.raises(openai.BadRequestError) as raised:
        chat(
            client,
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "file", "file": {"file_data": f"data:application/x-no-such-type;base64,{PNG}"}},
                    ],
                }
            ],
        )
    error = error_of(raised)
    assert (error["code"], error["param"]) == ("invalid_attachment", "messages[0].content[0]")
    assert "application/x-no-such-type" in error["message"]
    assert arena.requests == []


def test_attachments_over_the_configured_limit_are_413_before_the_arena(bridge, client, arena):
    bridge.write_config(max_attachment_bytes=4096)
    payload = base64.b64encode(b"x" * 2400).decode()  # 3200 bytes of base64 each, 6400 together
    part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{payload}"}}
    with pytest.raises(openai.APIStatusError) as raised:
        chat(client, [{"role": "user", "content": [part, part]}])
    assert raised.value.status_code == 413
    assert error_of(raised)["code"] == "attachment_too_large"
    assert arena.requests == []


def test_the_default_attachment_limit_is_the_arenas_5_mb(client, arena):
    payload = "A" * (5 * 1024 * 1024 + 4)
    part = {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{payload}", "filename": "big.pdf"}}
    with pytest.raises(openai.APIStatusError) as raised:
        chat(client, [{"role": "user", "content": [part]}])
    assert raised.value.status_code == 413
    assert arena.requests == []


# ---------------------------------------------------------------- api_key


def post_chat(bridge, headers):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{bridge.url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def test_a_v1_call_without_the_api_key_is_401_in_openais_envelope(bridge, arena):
    bridge.write_config(api_key="open-sesame")
    response = post_chat(bridge, {})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(f"{bridge.url}/v1/models", timeout=30).status_code == 401
    assert arena.requests == []


def test_a_wrong_api_key_is_401(bridge, arena):
    bridge.write_config(api_key="open-sesame")
    with bridge.client(api_key="open-barley") as wrong, pytest.raises(openai.AuthenticationError):
        say(wrong)
    assert post_chat(bridge, {"Authorization": "Basic open-sesame"}).status_code == 401
    assert arena.requests == []


def test_the_right_api_key_is_let_through(bridge, arena):
    bridge.write_config(api_key="open-sesame")
    with bridge.client(api_key="open-sesame") as right:
        assert say(right, "knock").choices[0].message.content == "echo: knock"
        assert any(m.id == MODEL for m in right.models.list())


# ---------------------------------------------------------------- config reload


def test_a_config_edit_takes_effect_on_the_next_request(bridge, client, arena):
    say(client)
    assert len(last_chain(arena)) == 1
    bridge.write_config(bypass_enabled=True)
    say(client)
    assert len(last_chain(arena)) == 2


def test_a_broken_config_edit_keeps_the_last_good_settings_and_logs_why(bridge, client, arena):
    bridge.write_config(bypass_enabled=True)
    say(client)
    try:
        bridge.config_path.write_text('{"bypass_enabled": false, oops')
        say(client)
        assert len(last_chain(arena)) == 2
        assert "ignoring the edit" in bridge.log() and str(bridge.config_path) in bridge.log()
    finally:
        bridge.write_config()


def test_a_wrongly_typed_config_edit_keeps_the_last_good_settings(bridge, client, arena):
    bridge.write_config(bypass_enabled=True)
    say(client)
    try:
        bridge.config_path.write_text(json.dumps({**bridge.config, "bypass_enabled": "sometimes"}))
        say(client)
        assert len(last_chain(arena)) == 2
        assert "'bypass_enabled'" in bridge.log()
    finally:
        bridge.write_config()


def test_the_api_key_is_checked_before_the_body_is_parsed(bridge, arena):
    bridge.write_config(api_key="open-sesame")
    response = httpx.post(
        f"{bridge.url}/v1/chat/completions",
        content=b"{broken",
        timeout=10,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_a_request_to_another_host_name_is_refused_without_an_api_key(bridge, arena):
    """A web page that rebinds its own domain to 127.0.0.1 cannot drive the bridge."""
    response = httpx.get(f"{bridge.url}/v1/models", headers={"host": "attacker.example"}, timeout=10)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "loopback_only"


def test_a_web_page_cannot_post_to_internal(bridge, arena):
    response = httpx.post(
        f"{bridge.url}/internal/models/refresh", headers={"origin": "https://attacker.example"}, timeout=10
    )
    assert response.status_code == 403
    assert arena.requests == []
