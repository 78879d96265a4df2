"""`lmarena-bridge login`: a browser window on the profile, to log in and pass Cloudflare.

It returns when the arena's auth cookie appears (or changes, on a profile that was
already logged in), closing the window so that `serve` can take the profile, or
when the user closes the window; either way it says which.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os

from playwright.async_api import BrowserContext, async_playwright
from playwright.async_api import Error as PlaywrightError

from browser.arena import AUTH_COOKIE, AUTH_COOKIE_PARTS, has_auth_cookie
from browser.errors import LaunchFailed, ProfileInUse
from browser.launcher import launch_context
from browser.profile import profile_holder

from .config import Settings
from .errors import CommandError

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
NAVIGATION_TIMEOUT_MS = 60_000
AUTH_NAMES = (AUTH_COOKIE, *AUTH_COOKIE_PARTS)


async def login(settings: Settings) -> str:
    """Open the window, wait, and say whether the profile is now logged in."""
    from .app import launch_options

    profile = settings.profile_path
    holder = profile_holder(profile)
    if holder:
        raise CommandError(_in_use(profile, holder))
    options = dataclasses.replace(launch_options(settings), headless=False)
    async with async_playwright() as playwright:
        try:
            context = await launch_context(playwright, options)
        except ProfileInUse as exc:
            raise CommandError(str(exc)) from exc
        except LaunchFailed as exc:
            raise CommandError(f"{exc}{_display_hint()}") from exc
        try:
            logged_in, changed = await _wait(context, settings.arena_url)
        finally:
            try:
                await context.close()
            except PlaywrightError:
                log.debug("the login window was already closed")
    if changed:
        return f"logged in: the arena auth cookie is in the profile {profile}; `lmarena-bridge serve` will use it"
    if logged_in:
        return f"the window was closed; the profile {profile} is logged in (the arena auth cookie is there)"
    raise CommandError(
        f"the window was closed before logging in: no arena auth cookie in the profile {profile}; "
        "run `lmarena-bridge login` again"
    )


async def _wait(context: BrowserContext, arena_url: str) -> tuple[bool, bool]:
    """(logged in, auth cookie new or changed), once it is set or the window is closed."""
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


def _in_use(profile: object, holder: str) -> str:
    return (
        f"the browser profile {profile} is in use by {holder}, most likely a running `lmarena-bridge serve`; "
        "stop it first, then run login again (two browsers on one profile would corrupt it)"
    )


def _display_hint() -> str:
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return ""
    return (" (login needs a display: run it on a desktop and copy the profile, "
            "or use `lmarena-bridge import-cookies`)")
