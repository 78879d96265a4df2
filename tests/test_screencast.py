"""browser.screencast.RemoteView on a real Chromium page: frames out, a person's input in."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest
from playwright.async_api import async_playwright

from browser.screencast import FrameSize, RemoteView
from tests.conftest import system_chromium

HEADLESS_SHELL = shutil.which("/usr/lib/chromium/chromium-headless-shell")  # starts faster, where installed
PAGE = """<!doctype html><html><body style="margin:0;height:3000px">
<input id="field" style="position:absolute;left:100px;top:100px;width:300px;height:40px">
<div id="pad" style="position:absolute;left:500px;top:100px;width:400px;height:200px;background:#ccc"></div>
<script>
  window.seen = [];
  const pad = document.getElementById("pad");
  pad.addEventListener("mousedown", (e) => seen.push(["down", e.clientX, e.clientY, e.buttons]));
  pad.addEventListener("mousemove", (e) => { if (e.buttons) seen.push(["drag", e.clientX, e.clientY, e.buttons]); });
  pad.addEventListener("mouseup", (e) => seen.push(["up", e.clientX, e.clientY]));
  document.getElementById("field").addEventListener("keydown", (e) => seen.push(["key", e.key]));
</script></body></html>"""


async def drive(actions: Any, frames: list[Any] | None = None) -> tuple[Any, list[tuple[bytes, FrameSize]]]:
    """Run `actions(view, page)` on PAGE in a 1000x600 viewport; (what it returns, the frames seen,
    collected into `frames` when given)."""
    frames = [] if frames is None else frames

    async def on_frame(jpeg: bytes, size: FrameSize) -> None:
        frames.append((jpeg, size))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=HEADLESS_SHELL or system_chromium())
        try:
            context = await browser.new_context(viewport={"width": 1000, "height": 600})
            page = await context.new_page()
            await page.set_content(PAGE)
            view = await RemoteView.open(context, page)
            await view.start(on_frame)
            try:
                return await actions(view, page), frames
            finally:
                await view.close()
        finally:
            await browser.close()


def test_frames_are_jpegs_of_the_viewport_in_css_pixels():
    async def wait_for_frame(view: RemoteView, page: Any) -> None:
        await page.evaluate("document.body.style.background = 'rgb(10, 200, 30)'")
        for _ in range(100):
            if frames:
                return
            await asyncio.sleep(0.05)

    frames: list[Any] = []

    _, seen = asyncio.run(drive(wait_for_frame, frames))
    assert frames and seen is frames
    jpeg, size = frames[-1]
    assert jpeg[:3] == b"\xff\xd8\xff"
    assert (size.width, size.height) == (1000, 600)


def test_fractions_become_page_pixels_and_a_move_with_a_button_held_drags():
    async def drag(view: RemoteView, page: Any) -> Any:
        await view.mouse({"action": "down", "x": 0.6, "y": 0.25, "button": "left", "buttons": 1})
        await view.mouse({"action": "move", "x": 0.7, "y": 0.3, "buttons": 1})
        await view.mouse({"action": "up", "x": 0.7, "y": 0.3, "button": "left"})
        return await page.evaluate("seen")

    seen, _ = asyncio.run(drive(drag))
    assert seen == [["down", 600, 150, 1], ["drag", 700, 180, 1], ["up", 700, 180]]


def test_keys_text_and_the_wheel_reach_the_page():
    async def type_and_scroll(view: RemoteView, page: Any) -> Any:
        await view.mouse({"action": "click", "x": 0.2, "y": 0.2})
        for key in "ab":
            await view.key({"action": "keydown", "key": key, "code": f"Key{key.upper()}", "text": key})
            await view.key({"action": "keyup", "key": key, "code": f"Key{key.upper()}"})
        await view.insert_text("✓ pasted")
        await view.key({"action": "keydown", "key": "Backspace", "code": "Backspace"})
        await view.mouse({"action": "wheel", "x": 0.5, "y": 0.5, "deltaY": 400})
        await page.wait_for_function("window.scrollY > 0")
        return await page.evaluate("[document.getElementById('field').value, seen.map((e) => e[1])]")

    (value, keys), _ = asyncio.run(drive(type_and_scroll))
    assert value == "ab✓ paste"
    assert keys == ["a", "b", "Backspace"]


def test_a_malformed_event_is_a_value_error_before_any_cdp_call():
    view = RemoteView(page=None, session=None)  # type: ignore[arg-type]  # never reached: no CDP call happens
    view.size = FrameSize(1000, 600)
    bad = [
        (view.mouse, {"action": "down", "x": 2, "y": 0}),
        (view.mouse, {"action": "fly", "x": 0, "y": 0}),
        (view.mouse, {"action": "down", "x": "0", "y": 0}),
        (view.mouse, {"action": "wheel", "x": 0.5, "y": 0.5, "deltaY": float("inf")}),
        (view.key, {"action": "press", "key": "a"}),
    ]
    for method, event in bad:
        with pytest.raises(ValueError):
            asyncio.run(method(event))
