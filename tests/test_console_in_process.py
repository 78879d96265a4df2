"""The console's rules in-process: the real app around a `ScriptedPage`, no browser."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from bridge.activity import LogBuffer
from browser.errors import ArenaFailure, FailureKind
from tests.scripted_page import ScriptedPage, in_process_app, says

MODELS = {"gpt-4o": "0199f060-b306-7e1f-aeae-0ebb4e3f1122"}
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "a secret question"}]}


def client_for(app, *, peer: str = "127.0.0.1", host: str = "127.0.0.1:5102") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url=f"http://{host}")


@pytest.mark.anyio
async def test_a_recaptcha_failure_tells_the_user_to_open_the_console(tmp_path: Path):
    page = ScriptedPage(lambda _: ArenaFailure(FailureKind.RECAPTCHA, "recaptcha validation failed", status=403))
    async with client_for(in_process_app(tmp_path, page, MODELS, protocol="create")) as http:
        response = await http.post("/v1/chat/completions", json=CHAT)
    error = response.json()["error"]
    assert error["code"] == "recaptcha_failed"
    assert "open http://127.0.0.1:5102/ui" in error["message"]


@pytest.mark.anyio
async def test_recent_requests_list_outcomes_without_text_unless_content_logging_is_on(tmp_path: Path):
    page = ScriptedPage(says("the answer"))
    app = in_process_app(tmp_path, page, MODELS, protocol="create")
    async with client_for(app) as http:
        await http.post("/v1/chat/completions", json=CHAT)
        await http.post("/v1/chat/completions", json={**CHAT, "model": "no-such-model"})
        recent = (await http.get("/ui/api/requests")).json()["requests"]
    assert [(r["model"], r["status"], r["code"]) for r in recent] == [
        ("no-such-model", 404, "model_not_found"),
        ("gpt-4o", 200, None),
    ]
    assert recent[1]["size"] == len("the answer") and recent[1]["ttft"] is not None
    assert recent[1]["prompt"] is None and recent[1]["answer"] is None


@pytest.mark.anyio
async def test_with_console_log_content_the_prompt_and_answer_are_kept(tmp_path: Path):
    app = in_process_app(
        tmp_path, ScriptedPage(says("the answer")), MODELS, protocol="create", console_log_content=True
    )
    async with client_for(app) as http:
        await http.post("/v1/chat/completions", json=CHAT)
        (record,) = (await http.get("/ui/api/requests")).json()["requests"]
    assert (record["prompt"], record["answer"]) == ("a secret question", "the answer")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("peer", "host", "headers"),
    [
        ("203.0.113.5", "127.0.0.1:5102", {}),  # another machine
        ("127.0.0.1", "evil.example:5102", {}),  # a DNS-rebound page on this machine
        ("127.0.0.1", "127.0.0.1:5102", {"X-Forwarded-For": "203.0.113.5"}),  # through a local proxy
    ],
)
async def test_without_an_api_key_the_console_answers_only_this_machine_directly(tmp_path: Path, peer, host, headers):
    app = in_process_app(tmp_path, ScriptedPage(), MODELS)
    async with client_for(app, peer=peer, host=host) as http:
        assert (await http.get("/ui", headers=headers)).status_code == 403
        assert (await http.get("/ui/api/status", headers=headers)).status_code == 403


@pytest.mark.anyio
async def test_an_action_from_another_origin_or_without_one_is_refused(tmp_path: Path):
    app = in_process_app(tmp_path, ScriptedPage(), MODELS)
    async with client_for(app) as http:
        assert (await http.post("/ui/api/models/refresh")).status_code == 403
        other = {"Origin": "http://127.0.0.1:9999"}
        assert (await http.post("/ui/api/models/refresh", headers=other)).status_code == 403
        same = {"Origin": "http://127.0.0.1:5102"}
        assert (await http.post("/ui/api/models/refresh", headers=same)).status_code == 200


@pytest.mark.anyio
async def test_the_status_never_shows_the_key_or_the_profile_path(tmp_path: Path):
    app = in_process_app(tmp_path, ScriptedPage(), MODELS, api_key="sk-hidden-key")
    async with client_for(app) as http:
        login = await http.post("/ui/login", json={"key": "sk-hidden-key"}, headers={"Origin": "http://127.0.0.1:5102"})
        assert login.status_code == 204
        text = (await http.get("/ui/api/status")).text
    assert "sk-hidden-key" not in text and "profile" not in text.replace("<profile>", "")


def test_the_log_buffer_keeps_the_last_lines_with_the_key_and_profile_replaced():
    buffer = LogBuffer(lambda: {"sk-hidden-key": "[api_key]", "/srv/data/profile": "<profile>"}, size=2)
    logger = logging.getLogger("tests.console.log_buffer")
    logger.addHandler(buffer)
    logger.setLevel(logging.INFO)
    try:
        for line in ("first", "key sk-hidden-key in use", "launching on profile /srv/data/profile"):
            logger.info(line)
    finally:
        logger.removeHandler(buffer)
    assert [line.split(": ", 1)[1] for line in buffer.tail()] == [
        "key [api_key] in use",
        "launching on profile <profile>",
    ]
