"""Idle activity in a real Chromium on the fake arena page: small, jittered gestures, paused while busy."""

from __future__ import annotations

import asyncio
import random

import pytest

from browser import LaunchOptions, open_arena_page
from browser.driver import READY
from browser.idle import IdleActivity, IdlePattern
from tests.conftest import system_chromium

COUNT_MOVES_JS = """() => { window.__moves = []; addEventListener('mousemove', (e) => __moves.push([e.clientX, e.clientY,
  performance.now()])); }"""


@pytest.mark.anyio
async def test_an_idle_page_gets_small_mouse_moves_at_uneven_intervals(arena, tmp_path):
    options = LaunchOptions(profile_dir=tmp_path / "profile", executable=system_chromium())
    async with open_arena_page(arena.url, options) as page:
        async with asyncio.timeout(30):  # past the bot gate's check, on the arena page itself
            while page.state != READY:
                await asyncio.sleep(0.1)
        await page._page.evaluate(COUNT_MOVES_JS)
        page.last_activity -= 60
        activity = IdleActivity(page, IdlePattern(interval=(0.1, 0.4), quiet_for=0), random.Random(7))
        activity.start()
        await asyncio.sleep(2.0)
        await activity.stop()
        moves = await page._page.evaluate("() => __moves")
    assert activity.gestures >= 4
    assert moves and all(0 <= x <= 1280 and 0 <= y <= 720 for x, y, _ in moves)
    assert len({round(x) for x, _, _ in moves}) > 3


@pytest.mark.anyio
async def test_a_page_that_just_served_a_request_is_left_alone(arena, tmp_path):
    options = LaunchOptions(profile_dir=tmp_path / "profile", executable=system_chromium())
    async with open_arena_page(arena.url, options) as page:
        activity = IdleActivity(page, IdlePattern(interval=(0.1, 0.2), quiet_for=30))
        activity.start()
        await asyncio.sleep(0.8)
        await activity.stop()
    assert activity.gestures == 0
