"""The request builder: OpenAI messages -> arena messages, the seed's transformations, the body."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bridge.chat import ChatRequest, ChatService, merge_system_messages, move_bypassed_images, prepare_messages
from bridge.config import Settings
from bridge.errors import InvalidRequest, RequestTooLarge
from bridge.http.messages import to_arena
from bridge.http.schemas import ChatCompletionRequest, ChatMessage
from bridge.models import ModelRegistry
from bridge.routing import ProtocolRouter
from browser.arena import ArenaMessage

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake png").decode()
PNG_URL = f"data:image/png;base64,{PNG}"
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()
LIMIT = 5 * 1024 * 1024
SESSION_ID = "0b0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"
MESSAGE_ID = "1c2d3e4f-5a6b-4c7d-9e8f-0a1b2c3d4e5f"
TEXT_MODEL_ID = "11111111-1111-4111-8111-111111111111"
IMAGE_MODEL_ID = "22222222-2222-4222-8222-222222222222"


def convert(*messages: dict, limit: int = LIMIT) -> list[ArenaMessage]:
    return to_arena([ChatMessage(**m) for m in messages], max_attachment_bytes=limit)


def user(*parts: dict) -> dict:
    return {"role": "user", "content": list(parts)}


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def image(url: str = PNG_URL, **extra: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url, **extra}}


def invalid(*messages: dict) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        convert(*messages)
    assert caught.value.status == 400
    return caught.value


# ---------------------------------------------------------------- to_arena


def test_text_parts_are_joined_with_a_blank_line():
    assert convert(user(text("one"), text("two")))[0].content == "one\n\ntwo"


def test_developer_is_system_and_tool_is_user():
    roles = [m.role for m in convert({"role": "developer", "content": "d"}, {"role": "tool", "content": "t"})]
    assert roles == ["system", "user"]


def test_a_data_url_image_becomes_one_attachment():
    [message] = convert(user(text("look"), image()))
    assert message.attachments == ({"name": "image_1.png", "contentType": "image/png", "url": PNG_URL},)


def test_an_http_image_url_is_passed_as_a_link():
    url = "https://example.com/pics/cat.jpg?size=big"
    [message] = convert(user(image(url)))
    assert message.attachments == ({"name": "cat.jpg", "contentType": "image/jpeg", "url": url},)


def test_the_seeds_file_name_in_detail_names_the_attachment():
    [message] = convert(user(image(detail="holiday.png")))
    assert message.attachments[0]["name"] == "holiday.png"
    [message] = convert(user(image(detail="high")))
    assert message.attachments[0]["name"] == "image_1.png"


def test_any_file_type_may_come_as_an_image_url_data_url():
    [message] = convert(user(image(f"data:application/pdf;base64,{PDF}")))
    assert message.attachments[0]["contentType"] == "application/pdf"
    assert message.attachments[0]["name"] == "file_1.pdf"


def test_input_audio_becomes_an_audio_data_url():
    audio = base64.b64encode(b"ID3 fake mp3").decode()
    [message] = convert(user({"type": "input_audio", "input_audio": {"data": audio, "format": "mp3"}}))
    assert message.attachments == (
        {"name": "audio_1.mp3", "contentType": "audio/mpeg", "url": f"data:audio/mpeg;base64,{audio}"},
    )


def test_a_file_part_keeps_its_file_name():
    part = {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "report.pdf"}}
    [message] = convert(user(part))
    assert message.attachments[0] == {
        "name": "report.pdf",
        "contentType": "application/pdf",
        "url": f"data:application/pdf;base64,{PDF}",
    }


def test_a_file_part_of_bare_base64_takes_its_type_from_the_file_name():
    part = {"type": "file", "file": {"file_data": PDF, "filename": "report.pdf"}}
    [message] = convert(user(part))
    assert message.attachments[0]["url"] == f"data:application/pdf;base64,{PDF}"


def test_several_attachments_of_several_kinds_keep_their_order():
    audio = base64.b64encode(b"RIFF").decode()
    parts = [image(), {"type": "input_audio", "input_audio": {"data": audio, "format": "wav"}}, image()]
    [message] = convert(user(text("all of these"), *parts))
    assert [a["name"] for a in message.attachments] == ["image_1.png", "audio_2.wav", "image_3.png"]


def test_empty_user_text_becomes_a_single_space():
    assert convert(user(image()))[0].content == " "
    assert convert({"role": "user", "content": ""})[0].content == " "
    assert convert({"role": "assistant", "content": None})[0].content == ""


def test_invalid_base64_is_400_naming_the_part():
    error = invalid(user(text("x"), image("data:image/png;base64,not*base64!")))
    assert error.code == "invalid_attachment" and error.param == "messages[0].content[1]"
    assert "messages[0].content[1]" in error.message and "base64" in error.message


def test_an_unknown_mime_type_is_400_naming_the_part():
    error = invalid({"role": "system", "content": "s"}, user(image(f"data:application/x-no-such-type;base64,{PNG}")))
    assert error.param == "messages[1].content[0]" and "application/x-no-such-type" in error.message


def test_an_unknown_audio_format_is_400():
    error = invalid(user({"type": "input_audio", "input_audio": {"data": PNG, "format": "xyz"}}))
    assert error.code == "invalid_attachment" and "xyz" in error.message


def test_a_url_that_is_neither_data_nor_http_is_400():
    assert invalid(user(image("ftp://example.com/a.png"))).code == "invalid_attachment"


def test_an_unknown_part_type_is_400_naming_it():
    error = invalid(user({"type": "hologram"}))
    assert "hologram" in error.message and error.param == "messages[0].content[0]"


def test_a_file_id_is_400_asking_for_inline_data():
    error = invalid(user({"type": "file", "file": {"file_id": "file-abc"}}))
    assert "file_data" in error.message


def test_attachments_over_the_limit_in_total_are_413():
    big = base64.b64encode(b"x" * 3000).decode()
    url = f"data:image/png;base64,{big}"
    convert(user(image(url)), limit=len(big))
    with pytest.raises(RequestTooLarge) as caught:
        convert(user(image(url)), user(image(url)), limit=len(big) * 2 - 1)
    assert (caught.value.status, caught.value.code) == (413, "attachment_too_large")


# ---------------------------------------------------------------- the seed's transformations


def test_tavern_mode_merges_every_system_message_into_one_leading_message():
    messages = [
        ArenaMessage("user", "u1"),
        ArenaMessage("system", "s1"),
        ArenaMessage("system", "s2"),
        ArenaMessage("assistant", "a1"),
    ]
    merged = merge_system_messages(messages)
    assert [(m.role, m.content) for m in merged] == [("system", "s1\n\ns2"), ("user", "u1"), ("assistant", "a1")]


def test_bypass_appends_a_blank_user_message_on_side_a_for_text_models():
    out = prepare_messages([ArenaMessage("user", "hi")], Settings(bypass_enabled=True), image=False)
    assert out[-1] == ArenaMessage("user", " ", position="a")


def test_bypass_leaves_image_models_alone():
    out = prepare_messages([ArenaMessage("user", "draw")], Settings(bypass_enabled=True), image=True)
    assert out == [ArenaMessage("user", "draw")]


def test_the_bypass_flag_moves_images_to_an_empty_assistant_message_after_a_hi():
    picture = {"name": "a.png", "contentType": "image/png", "url": PNG_URL}
    out = move_bypassed_images([ArenaMessage("user", "what is this? --bypass ", (picture,))])
    assert out == [
        ArenaMessage("user", "Hi"),
        ArenaMessage("assistant", "", (picture,)),
        ArenaMessage("user", "what is this?"),
    ]


def test_the_bypass_flag_adds_no_hi_when_the_chain_already_starts_with_a_user():
    picture = {"name": "a.png", "contentType": "image/png", "url": PNG_URL}
    out = move_bypassed_images(
        [ArenaMessage("user", "first"), ArenaMessage("assistant", "ok"), ArenaMessage("user", "--bypass", (picture,))]
    )
    assert [(m.role, m.content, len(m.attachments)) for m in out] == [
        ("user", "first", 0),
        ("assistant", "ok", 0),
        ("assistant", "", 1),
        ("user", " ", 0),
    ]


def test_the_bypass_flag_without_an_image_is_left_as_it_is():
    messages = [ArenaMessage("user", "hello --bypass")]
    assert move_bypassed_images(messages) == messages


# ---------------------------------------------------------------- ChatService.build


@pytest.fixture
def service(tmp_path: Path) -> ChatService:
    (tmp_path / "models.json").write_text(json.dumps({"text": TEXT_MODEL_ID, "painter": f"{IMAGE_MODEL_ID}:image"}))
    models = ModelRegistry(tmp_path / "models.json", tmp_path / "available_models.json")
    return ChatService(None, models, ProtocolRouter(tmp_path / "model_endpoint_map.json"))  # type: ignore[arg-type]


def build(service: ChatService, model: str, messages: list[dict], **settings) -> tuple[str, dict]:
    values = {"session_id": SESSION_ID, "message_id": MESSAGE_ID, **settings}
    settings = Settings(**values)
    body = ChatCompletionRequest(model=model, messages=messages)
    chat = ChatRequest(model, to_arena(body.messages, max_attachment_bytes=settings.max_attachment_bytes))
    request = service.build(chat, settings)
    return request.path, json.loads(request.body)


def test_the_builder_sends_bypass_on_side_a_even_in_battle_b(service):
    _, body = build(
        service,
        "text",
        [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        bypass_enabled=True,
        id_updater_last_mode="battle",
        id_updater_battle_target="B",
    )
    chain = body["messages"]
    assert [(m["role"], m["content"], m["participantPosition"]) for m in chain] == [
        ("system", "s", "b"),
        ("user", "u", "b"),
        ("user", " ", "a"),
    ]
    assert [m["status"] for m in chain] == ["success", "success", "pending"]
    assert body["modelId"] == TEXT_MODEL_ID


def test_the_builder_puts_the_bypassed_images_in_the_body(service):
    _, body = build(service, "text", [user(text("what? --bypass"), image())])
    chain = body["messages"]
    assert [(m["role"], m["content"]) for m in chain] == [("user", "Hi"), ("assistant", ""), ("user", "what?")]
    assert [len(m["experimental_attachments"]) for m in chain] == [0, 1, 0]


def test_the_builder_merges_system_messages_before_the_image_trick(service):
    _, body = build(
        service,
        "text",
        [{"role": "system", "content": "s1"}, user(image(), text("--bypass")), {"role": "system", "content": "s2"}],
        tavern_mode_enabled=True,
    )
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("system", "s1\n\ns2"),
        ("assistant", ""),
        ("user", " "),
    ]


def test_the_builder_marks_every_message_success_for_image_models_and_skips_bypass(service):
    _, body = build(service, "painter", [{"role": "user", "content": "a cat"}], bypass_enabled=True)
    assert [(m["content"], m["status"]) for m in body["messages"]] == [("a cat", "success")]
    assert body["modelId"] == IMAGE_MODEL_ID


def test_the_builder_targets_the_session_from_the_map(service, tmp_path):
    session_id = "feed0000-0000-4000-8000-000000000000"
    (tmp_path / "model_endpoint_map.json").write_text(
        json.dumps({"text": {"session_id": session_id, "message_id": MESSAGE_ID, "mode": "battle"}})
    )
    path, body = build(service, "text", [{"role": "user", "content": "u"}], id_updater_battle_target="B")
    assert path.endswith(f"/{session_id}/messages/{MESSAGE_ID}")
    assert body["messages"][0]["evaluationSessionId"] == session_id
    assert body["messages"][0]["participantPosition"] == "b"
