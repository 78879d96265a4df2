"""A browser of its own for a one-off command (login, import-cookies, capture, models --refresh),
and the checks a command makes before it starts one (`locate_browser`).

    async with open_profile(options) as context: ...      # the raw persistent context
    async with open_arena_page(url, options) as page: ... # a started ArenaPage on the arena

Both close the browser on exit, whatever happened. They raise the launcher's errors
(`BrowserNotFound`, `ProfileInUse`, `LaunchFailed`), worded once here for a person at a
terminal: a headed launch without a display says how to get one.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from playwright.async_api import BrowserContext, async_playwright
from playwright.async_api import Error as PlaywrightError

from .arena import AUTH_COOKIE, AUTH_COOKIE_PARTS, has_auth_cookie
from .driver import ArenaPage
from .errors import LaunchFailed
from .launcher import LaunchOptions, find_browser, launch_context

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
NAVIGATION_TIMEOUT_MS = 60_000
AUTH_NAMES = (AUTH_COOKIE, *AUTH_COOKIE_PARTS)

NO_DISPLAY_HINT = (
    " (a browser window needs a display: run this on a desktop, under `xvfb-run`, or log in with "
    "`lmarena-bridge import-cookies` instead)"
)


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _reworded(exc: LaunchFailed, options: LaunchOptions) -> LaunchFailed:
    if options.mode != "headed" or _has_display():
        return exc
    return LaunchFailed(f"{exc}{NO_DISPLAY_HINT}")


async def locate_browser(options: LaunchOptions) -> str | None:
    """The executable `options` would launch (None: Playwright's own Chromium); BrowserNotFound if none."""
    async with async_playwright() as playwright:
        return find_browser(options.executable, playwright)


@asynccontextmanager
async def open_profile(options: LaunchOptions) -> AsyncIterator[BrowserContext]:
    """The persistent-profile context of `options`; closed (and the profile freed) on exit."""
    async with async_playwright() as playwright:
        try:
            context = await launch_context(playwright, options)
        except LaunchFailed as exc:
            raise _reworded(exc, options) from exc
        try:
            yield context
        finally:
            try:
                await context.close()
            except PlaywrightError:
                log.debug("the browser was already closed")


@asynccontextmanager
async def open_arena_page(url: str, options: LaunchOptions) -> AsyncIterator[ArenaPage]:
    """An `ArenaPage` started on `url` (loading, not necessarily ready); closed on exit."""
    page = ArenaPage(url, options)
    try:
        await page.start()
    except LaunchFailed as exc:
        await page.close()
        raise _reworded(exc, options) from exc
    except BaseException:
        await page.close()
        raise
    try:
        yield page
    finally:
        await page.close()


async def wait_for_login(context: BrowserContext, arena_url: str) -> tuple[bool, bool]:
    """(logged in, auth cookie new or changed), once it is set or changed, or the window is closed."""
    closed = asyncio.Event()
    context.on("close", lambda _: closed.set())
    page = context.pages[0] if context.pages else await context.new_page()
    try:
        await page.goto(arena_url, wait_until="domcontentloaded", timeout=NAVIGATION_TIMEOUT_MS)
    except PlaywrightError as exc:
        log.warning("could not open %s (%s); the window stays open", arena_url, exc.message.splitlines()[0])
    before = await _auth_cookies(context, arena_url) or {}
    if before:
        log.info("this profile is already logged in; log in again in the window, or close it to keep it")
    else:
        log.info("log in to the arena in the window that opened (and pass any check it shows)")
    current = before
    while not closed.is_set() and context.pages:
        seen = await _auth_cookies(context, arena_url)
        if seen is None:
            break  # the browser went away between two looks
        current = seen
        if current and current != before:
            return True, True
        await asyncio.sleep(POLL_SECONDS)
    return bool(current), False


async def _auth_cookies(context: BrowserContext, arena_url: str) -> dict[str, str] | None:
    """The auth cookie(s) for the arena and every page open in the window: {} if logged out,
    None if the browser is gone."""
    urls = {arena_url, *(p.url for p in context.pages if p.url.startswith(("http://", "https://")))}
    try:
        cookies = await context.cookies(sorted(urls))
    except PlaywrightError:
        return None
    found = {c["name"]: c["value"] for c in cookies if c["name"] in AUTH_NAMES}
    return found if has_auth_cookie(found) else {}


async def add_cookies(context: BrowserContext, cookies: list[dict[str, Any]]) -> int:
    """Add Playwright-shaped cookies one by one; how many the browser took (refusals are logged)."""
    added = 0
    for cookie in cookies:
        try:
            await context.add_cookies([cookie])  # type: ignore[list-item]
        except PlaywrightError as exc:
            log.warning(
                "the browser refused cookie %s for %s: %s",
                cookie.get("name"),
                cookie.get("domain") or cookie.get("url"),
                (exc.message or str(exc)).splitlines()[0],
            )
            continue
        added += 1
    return added
