"""The web console (/ui) in a real Chromium, against real bridge processes and the fake arena.

The bridge's own browser is headless; the test's Chromium is a person's browser elsewhere:
it sees the arena page only through the console's live view and acts only through it.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from playwright.sync_api import sync_playwright

from tests.bridge_process import BridgeProcess, wait_for
from tests.conftest import system_chromium
from tests.fake_arena import FakeArena
from tests.fake_arena.gate import CLEARANCE_COOKIE

MODEL = "gpt-4o-2024-08-06"
KEY = "sk-console-test"
ROUTES = [
    ("GET", "/ui/api/status"),
    ("GET", "/ui/api/models"),
    ("POST", "/ui/api/models/refresh"),
    ("GET", "/ui/api/requests"),
    ("GET", "/ui/api/log"),
    ("POST", "/ui/api/accounts/0/reload"),
    ("POST", "/ui/api/accounts/0/front"),
]
# How many colours a frame must show to count as a picture of the page, not a blank.
COLOURS_JS = """(img) => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length; i += 4 * 97) seen.add((data[i] >> 4) << 8 | (data[i + 1] >> 4) << 4 | data[i + 2] >> 4);
  return seen.size;
}"""


def health(bridge: BridgeProcess) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{bridge.url}/health", timeout=10)
    return response.status_code, response.json()


def websocket_handshake(bridge: BridgeProcess, *, origin: str | None, cookie: str | None = None) -> int:
    """The HTTP status a WebSocket upgrade of /ui/ws/live gets (101 when accepted)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /ui/ws/live?account=0 HTTP/1.1",
        f"Host: 127.0.0.1:{bridge.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    lines += [f"Origin: {origin}"] if origin else []
    lines += [f"Cookie: {cookie}"] if cookie else []
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A person's browser (its own short-lived Playwright: see tests/headed.py attach)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=system_chromium())
        yield browser
        browser.close()


@pytest.fixture
def person(chromium: Any, tmp_path: Path) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1100, "height": 1300})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def login_arena() -> Iterator[FakeArena]:
    with FakeArena(auto_login=False) as arena:
        yield arena


@pytest.fixture(scope="module")
def logged_out_bridge(tmp_path_factory: pytest.TempPathFactory, login_arena: FakeArena) -> Iterator[BridgeProcess]:
    bridge = BridgeProcess(tmp_path_factory.mktemp("console"), login_arena.url).start(wait_healthy=False)
    wait_for(lambda: health(bridge)[1].get("reason") == "logged_out", "the bridge to say logged_out")
    yield bridge
    bridge.stop()


def frame_box(person: Any) -> dict[str, float]:
    return person.locator("#frame").bounding_box()


def click_in_frame(person: Any, page_x: float, page_y: float) -> None:
    """Click the live view where the arena page's CSS pixel (page_x, page_y) is shown."""
    frame = person.locator("#frame")
    width, height = float(frame.get_attribute("data-width")), float(frame.get_attribute("data-height"))
    box = frame_box(person)
    person.mouse.click(box["x"] + page_x / width * box["width"], box["y"] + page_y / height * box["height"])


def layout(chromium: Any, arena: FakeArena, person: Any, parts: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Where a person sees parts of the arena's page: their centres, in CSS pixels of a viewport
    the size of the live view's page. `parts` maps names to functions page -> locator. The
    reference browser is let past the gate with a clearance only (no login), as the bridge's was."""
    frame = person.locator("#frame")
    width, height = float(frame.get_attribute("data-width")), float(frame.get_attribute("data-height"))
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"
    context = chromium.new_context(viewport={"width": int(width), "height": int(height)}, user_agent=agent)
    try:
        clearance = arena.cleared_cookies(agent)[CLEARANCE_COOKIE]
        context.add_cookies([{"name": CLEARANCE_COOKIE, "value": clearance, "url": arena.url}])
        page = context.new_page()
        page.goto(arena.url)
        centres = {}
        for name, find in parts.items():
            box = find(page).bounding_box()
            centres[name] = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        return centres
    finally:
        context.close()


def watch(person: Any) -> None:
    """Click Watch and wait for a first frame of the page."""
    person.get_by_role("button", name="Watch").click()
    wait_for(lambda: frames_shown(person) >= 1 and person.locator("#frame").get_attribute("data-width"), "a frame")


def frames_shown(person: Any) -> int:
    return int(person.locator("#frame").get_attribute("data-frames") or 0)


def test_a_logged_out_bridge_sends_the_user_to_the_console_where_they_log_in_through_the_live_view(
    logged_out_bridge, login_arena, chromium, person, tmp_path
):
    status, body = health(logged_out_bridge)
    assert status == 503
    assert body["console"] == f"{logged_out_bridge.url}/ui"
    assert f"open {logged_out_bridge.url}/ui" in body["action"]

    person.goto(f"{logged_out_bridge.url}/ui")
    person.locator("#health-badge", has_text="logged out").wait_for()
    watch(person)
    assert person.locator("#frame").evaluate(COLOURS_JS) > 3, "the frame is blank"
    person.screenshot(path=str(tmp_path / "console-logged-out.png"), full_page=True)
    before = person.locator("#frame").screenshot()

    form = layout(
        chromium,
        login_arena,
        person,
        {
            "email": lambda page: page.get_by_label("Email"),
            "password": lambda page: page.get_by_label("Password"),
            "submit": lambda page: page.get_by_role("button", name="Log in"),
        },
    )
    click_in_frame(person, *form["email"])
    person.keyboard.type("user@example.com")
    click_in_frame(person, *form["password"])
    person.keyboard.type("correct horse")
    click_in_frame(person, *form["submit"])

    assert logged_out_bridge.wait_healthy(30)["status"] == "ok"
    assert login_arena.logins == ["user@example.com"]
    person.locator("#health-badge", has_text="ok").wait_for()
    person.locator("#frame[data-state=ready]").wait_for()
    wait_for(lambda: person.locator("#frame").screenshot() != before, "the live view to show the signed-in page")
    person.screenshot(path=str(tmp_path / "console-logged-in.png"), full_page=True)

    person.goto("about:blank")  # the last viewer leaves: the screencast stops
    wait_for(
        lambda: "screencast stopped (no viewers)" in httpx.get(f"{logged_out_bridge.url}/ui/api/log").text,
        "the screencast to stop",
        timeout=15,
    )


def test_a_cloudflare_challenge_is_passed_by_ticking_its_box_in_the_live_view(
    bridge, arena, chromium, person, tmp_path
):
    person.goto(f"{bridge.url}/ui")
    person.locator("#health-badge", has_text="ok").wait_for()
    watch(person)
    arena.challenge = True
    person.get_by_role("button", name="Reload page").click()
    person.locator("#frame[data-state=cloudflare_challenge]").wait_for()
    with bridge.client() as client:
        with pytest.raises(openai.APIStatusError) as refused:
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert refused.value.status_code == 503
    assert f"open {bridge.url}/ui" in refused.value.response.json()["error"]["message"]
    person.screenshot(path=str(tmp_path / "console-challenge.png"), full_page=True)

    box = layout(chromium, arena, person, {"verify": lambda page: page.get_by_label("Verify you are human")})
    click_in_frame(person, *box["verify"])

    assert bridge.wait_healthy(30)["status"] == "ok"
    assert arena.challenges_passed == 1
    person.locator("#frame[data-state=ready]").wait_for()


def test_status_and_recent_requests_update_after_a_chat(bridge, person, tmp_path):
    person.goto(f"{bridge.url}/ui")
    person.locator("#health-badge", has_text="ok").wait_for()
    assert person.locator("#protocol").inner_text() == "auto"
    assert person.locator("#arena-url").inner_text() == bridge.config["arena_url"]
    with bridge.client() as client:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "console please"}])
        list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    rows = person.locator("#requests tbody tr")
    # the shared bridge's log also lists other tests' requests: wait for this test's two on top
    wait_for(lambda: "chat.completions (stream)" in rows.nth(0).inner_text(), "the stream on top of the list")
    newest, older = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "chat.completions (stream)" in newest and MODEL in newest and "200" in newest
    assert "chat.completions" in older and "account 1" in older
    assert "console please" not in person.content(), "prompt text shown without console_log_content"
    person.screenshot(path=str(tmp_path / "console-requests.png"), full_page=True)


def test_with_an_api_key_every_console_route_and_the_websocket_refuse_without_the_session(bridge, person):
    bridge.write_config(api_key=KEY)
    origin = bridge.url
    wait_for(lambda: httpx.get(f"{bridge.url}/ui/api/status").status_code == 401, "the key to take effect")
    for method, path in ROUTES:
        response = httpx.request(method, bridge.url + path, headers={"Origin": origin}, timeout=10)
        assert response.status_code == 401, (method, path, response.text)
        assert KEY not in response.text
    assert websocket_handshake(bridge, origin=origin) == 403

    refused = httpx.post(f"{bridge.url}/ui/login", json={"key": "wrong"}, headers={"Origin": origin})
    assert refused.status_code == 401
    login = httpx.post(f"{bridge.url}/ui/login", json={"key": KEY}, headers={"Origin": origin})
    assert login.status_code == 204
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and KEY not in cookie
    session = cookie.split(";")[0]
    for method, path in ROUTES:
        response = httpx.request(method, bridge.url + path, headers={"Origin": origin, "Cookie": session}, timeout=60)
        assert response.status_code == 200, (method, path, response.text)
    assert websocket_handshake(bridge, origin=origin, cookie=session) == 101

    person.goto(f"{bridge.url}/ui")
    person.get_by_label("API key").fill(KEY)
    person.get_by_role("button", name="Log in").click()
    person.locator("#health-badge", has_text="ok").wait_for()
    assert KEY not in person.content()


def test_a_console_session_cannot_be_driven_from_another_origin(bridge, arena, person):
    person.goto(f"{bridge.url}/ui")
    person.locator("#health-badge", has_text="ok").wait_for()
    opened = """(url) => new Promise((resolve) => {
      const socket = new WebSocket(url);
      socket.onopen = () => { socket.close(); resolve("open"); };
      socket.onclose = () => resolve("refused");
    })"""
    live = f"ws://127.0.0.1:{bridge.port}/ui/ws/live?account=0"
    assert person.evaluate(opened, live) == "open"
    person.goto(arena.url)  # same site (127.0.0.1), another origin: the fake arena's page
    assert person.evaluate(opened, live) == "refused"
    loads = arena.page_loads
    person.evaluate(  # a cross-site form-style POST carries the session cookie (same site) but not the origin
        """async (url) => { await fetch(url, {method: "POST", mode: "no-cors", credentials: "include"}); }""",
        f"{bridge.url}/ui/api/accounts/0/reload",
    )
    person.wait_for_timeout(1000)
    assert arena.page_loads == loads, "a page of another origin reloaded the bridge's arena page"
    assert websocket_handshake(bridge, origin=arena.url) == 403
    assert websocket_handshake(bridge, origin=None) == 403
