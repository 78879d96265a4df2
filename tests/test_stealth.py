"""The arena sees a person's browser (issue 12): a real bridge, a real Chromium, BotD in the page.

For each browser mode this machine can run (the default settings, plus the other of
`headless` / `virtual_display` when it can), a bridge starts on a fresh profile against
a fake arena with its Cloudflare-like gate (tests/fake_arena/gate.py): the browser must
pass the gate's page-side check (BotD 2.0.0 and the classic signals), then chat once
through the create-evaluation protocol, which mints a reCAPTCHA token in the page's own
world. The arena page's own scripts report what they see, at load and after the token.
"""

from __future__ import annotations

import base64
import shutil
import sys
from collections.abc import Iterator

import httpx
import pytest

from browser.modes import HEADLESS, VIRTUAL_DISPLAY, resolve_mode
from tests.bridge_process import BridgeProcess, wait_for
from tests.conftest import models_json
from tests.fake_arena import AUTH_COOKIE, FakeArena, RecordedRequest, Reply, png_bytes

DEFAULT = resolve_mode("auto")


def modes() -> list[str]:
    """ "default" (no browser_mode key), and each other mode this machine supports."""
    others = [HEADLESS] + ([VIRTUAL_DISPLAY] if sys.platform.startswith("linux") and shutil.which("Xvfb") else [])
    return ["default", *(mode for mode in others if mode != DEFAULT)]


class Run:
    def __init__(
        self,
        arena: FakeArena,
        bridge: BridgeProcess,
        mode: str,
        health: dict,
        chat_request: RecordedRequest,
        image: bytes,
    ) -> None:
        self.arena, self.bridge, self.mode, self.health = arena, bridge, mode, health
        self.chat_request, self.image = chat_request, image

    def reports(self, when: str) -> list[dict]:
        return [r for r in self.arena.gate.page_reports if r.get("when") == when]


@pytest.fixture(scope="module", params=modes())
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    config = {"protocol": "create"}
    if request.param != "default":
        config["browser_mode"] = request.param
    with FakeArena() as arena:
        folder = tmp_path_factory.mktemp(f"stealth-{request.param}")
        bridge = BridgeProcess(folder, arena.url, models=models_json(arena.models), **config).start()
        try:
            health = httpx.get(f"{bridge.url}/health", timeout=10).json()
            with bridge.client() as client:
                answer = client.chat.completions.create(
                    model="gpt-4o-2024-08-06", messages=[{"role": "user", "content": "hello"}]
                )
            assert answer.choices[0].message.content == "echo: hello"
            chat_request = arena.requests[-1]
            arena.enqueue(Reply.images([arena.image_url("red-fox")]))
            with bridge.client() as client:
                image = client.images.generate(model="dall-e-3", prompt="a fox", response_format="b64_json")
            yield Run(arena, bridge, request.param, health, chat_request, base64.b64decode(image.data[0].b64_json))
        finally:
            bridge.stop()


def test_health_and_the_log_say_which_browser_mode_runs(run):
    expected = DEFAULT if run.mode == "default" else run.mode
    assert run.health["browser_mode"] == expected
    assert f"browser mode: {expected}" in run.bridge.log()


def test_the_browser_passes_the_gates_bot_check_with_botd_saying_not_a_bot(run):
    verdicts = run.arena.gate.verdicts
    assert verdicts, "the fresh profile never met the challenge"
    assert verdicts[-1]["problems"] == []
    assert verdicts[-1]["report"]["botd"] == {"bot": False}


def test_the_arena_page_sees_botd_not_a_bot_webdriver_false_plugins_and_window_chrome(run):
    report = wait_for(lambda: run.reports("load"), "the arena page's own look at the browser")[-1]
    assert report["botd"] == {"bot": False}, report.get("botdHits")
    assert report["webdriver"] is False
    assert report["plugins"] > 0 and report["chrome"] is True
    assert report["languages"][0].startswith("en")
    inner_w, inner_h, outer_w, outer_h, screen_w, screen_h = report["window"]
    assert 0 < inner_w <= outer_w <= screen_w and 0 < inner_h <= outer_h <= screen_h


def test_no_request_the_arena_received_says_headless(run):
    agents = run.arena.gate.user_agents
    assert any(a.startswith("Mozilla/5.0") for a in agents)
    assert not [a for a in agents if "headless" in a.lower()]


def test_the_user_agent_and_client_hints_agree_with_what_the_page_sees(run):
    report = run.reports("load")[-1]
    assert "Headless" not in report["ua"] and "Headless" not in report["appVersion"]
    assert report["workerUa"] == report["ua"]
    assert not any("Headless" in brand for brand in report["brands"])
    create = run.chat_request
    assert create.headers["user-agent"] == report["ua"]
    sent_brands = [part.split(";")[0].strip().strip('"') for part in create.headers["sec-ch-ua"].split(",")]
    assert sent_brands == report["brands"]


def test_the_page_sees_no_bridge_globals_and_a_native_fetch_even_after_a_token_was_minted(run):
    after_mint = wait_for(lambda: run.reports("execute"), "the page's look after grecaptcha.execute")
    for report in [*run.reports("load"), *after_mint]:
        assert report["globals"] == [], report["when"]
        assert report["fetchNative"] is True, report["when"]


def test_the_bridges_fetch_leaves_from_the_page_origin_with_its_cookies(run):
    create = run.chat_request
    assert create.problems == []
    assert create.headers["origin"] == run.arena.url
    assert create.headers["sec-fetch-site"] == "same-origin"
    assert create.cookies[AUTH_COOKIE] == run.arena.auth_cookie_value
    assert "cf_clearance" in create.cookies


def test_an_image_downloaded_outside_the_page_gets_past_the_gate_with_the_pages_user_agent(run):
    assert run.image == png_bytes("red-fox")
