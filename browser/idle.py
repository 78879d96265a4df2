"""Idle activity: while an arena page has nothing to do, make it look used the way its owner would.

protocol.md §2 and "Browsers and bot checks": a page that looks and behaves like a person's
(in front, an occasional mouse movement or scroll) scores better with reCAPTCHA, and a
background tab can stall on a challenge. `IdleActivity(page).start()` runs a task that, at
random intervals (never in lockstep), when the page is ready and no request has run for a
while: brings the tab to the front, moves the mouse a short way in a few steps, and now and
then scrolls a little (and later back). Off by default (config `idle_activity`); it never
clicks, types or navigates, and it pauses while requests run.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass

from playwright.async_api import Error as PlaywrightError

from .driver import READY, ArenaPage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IdlePattern:
    """Seconds between two gestures (uniform in [low, high]) and how quiet the page must have been."""

    interval: tuple[float, float] = (25.0, 95.0)
    quiet_for: float = 20.0
    scroll_chance: float = 0.3
    max_move: int = 120  # pixels per gesture, each axis


class IdleActivity:
    def __init__(self, page: ArenaPage, pattern: IdlePattern | None = None, rng: random.Random | None = None) -> None:
        self.page = page
        self.pattern = pattern or IdlePattern()
        self.rng = rng or random.Random()
        self.gestures = 0
        self._task: asyncio.Task[None] | None = None
        self._mouse = (0.0, 0.0)
        self._scrolled = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="arena-page-idle")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
            self._task = None

    def _idle(self) -> bool:
        page = self.page
        quiet = time.monotonic() - page.last_activity >= self.pattern.quiet_for
        return page.state == READY and not page._streams and quiet

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.rng.uniform(*self.pattern.interval))
            if not self._idle():
                continue
            try:
                await self._gesture()
            except PlaywrightError as exc:
                log.debug("idle gesture skipped: %s", exc.message.splitlines()[0])

    async def _gesture(self) -> None:
        raw = self.page._page  # the Playwright page behind the ArenaPage
        if raw is None or raw.is_closed():
            return
        await raw.bring_to_front()
        size = raw.viewport_size or {"width": 1280, "height": 720}
        if self._mouse == (0.0, 0.0):
            self._mouse = (size["width"] * self.rng.uniform(0.3, 0.7), size["height"] * self.rng.uniform(0.3, 0.7))
        step = self.pattern.max_move
        x = min(max(5.0, self._mouse[0] + self.rng.uniform(-step, step)), size["width"] - 5.0)
        y = min(max(5.0, self._mouse[1] + self.rng.uniform(-step, step)), size["height"] - 5.0)
        await raw.mouse.move(x, y, steps=self.rng.randint(3, 12))
        self._mouse = (x, y)
        if self._scrolled:
            await raw.mouse.wheel(0, -self._scrolled)
            self._scrolled = 0
        elif self.rng.random() < self.pattern.scroll_chance:
            self._scrolled = self.rng.choice((-1, 1)) * self.rng.randint(40, 240)
            await raw.mouse.wheel(0, self._scrolled)
        self.gestures += 1
