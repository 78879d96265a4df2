"""Find a Chromium and launch it on the persistent profile, in the configured browser mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from playwright.async_api import BrowserContext, Page, Playwright
from playwright.async_api import Error as PlaywrightError

from .errors import BrowserNotFound, LaunchFailed, ProfileInUse
from .modes import AUTO, HEADLESS, VIRTUAL_DISPLAY, VirtualDisplay, resolve_mode
from .profile import ProfileLock, profile_holder
from .stealth import Disguise, mode_args

log = logging.getLogger(__name__)

SYSTEM_BROWSERS = (
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
INSTALL_HINT = (
    "no Chromium found: run `.venv/bin/playwright install chromium` (or `apt-get install chromium`), "
    "or set browser_executable in config.jsonc / LMARENA_BRIDGE_BROWSER"
)
# `--enable-automation` sets navigator.webdriver and shows the "controlled by" bar.
IGNORED_DEFAULT_ARGS = ("--enable-automation",)


@dataclass(frozen=True, slots=True)
class LaunchOptions:
    profile_dir: Path
    browser_mode: str = AUTO
    # The older switch: False means headed, True rules headed out (see modes.py).
    headless: bool | None = None
    executable: str | None = None
    args: tuple[str, ...] = ()
    proxy: str | None = None
    ignore_https_errors: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        """The concrete mode this launch runs in: headless | virtual_display | headed."""
        return resolve_mode(self.browser_mode, self.headless)


@dataclass(slots=True)
class Launched:
    """A running browser: its context, the mode it runs in, and what that mode needs."""

    context: BrowserContext
    mode: str
    display: VirtualDisplay | None = None
    disguise: Disguise | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def prepare(self, page: Page) -> None:
        """Make `page` look like a person's (before it navigates): the user agent disguise."""
        if self.disguise is not None:
            await self.disguise.apply(page)

    def prepare_soon(self, page: Page) -> None:
        """`prepare` for pages opened by others (a new tab); the driver awaits `prepare` itself."""
        task = asyncio.ensure_future(self._prepare_quietly(page))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _prepare_quietly(self, page: Page) -> None:
        try:
            await self.prepare(page)
        except PlaywrightError as exc:
            log.debug("could not prepare a new page: %s", exc)

    def download_headers(self) -> dict[str, str]:
        """Headers for downloads outside the page (Playwright's request API), so that they carry
        the user agent the pages show rather than the browser's headless one."""
        return {"user-agent": self.disguise.user_agent} if self.disguise is not None else {}

    def describe(self) -> str:
        if self.mode == VIRTUAL_DISPLAY and self.display is not None:
            return f"virtual_display (headed Chromium on Xvfb display {self.display.name})"
        if self.mode == HEADLESS:
            return "headless (full Chromium, --headless=new, user agent without Headless)"
        return "headed (a real window)"


def find_browser(configured: str | None, playwright: Playwright) -> str | None:
    """The executable to launch, or None for Playwright's own Chromium; else a system Chromium.

    Never Chromium's headless shell by default: it cannot pass as a person's browser.
    """
    if configured:
        found = shutil.which(configured) or (configured if os.path.isfile(configured) else None)
        if found is None:
            raise BrowserNotFound(f"browser_executable {configured!r} does not exist; fix it or unset it")
        return found
    try:
        if Path(playwright.chromium.executable_path).is_file():
            return None
    except PlaywrightError:
        pass
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserNotFound(INSTALL_HINT)


def proxy_settings(proxy: str | None) -> dict[str, str] | None:
    """Playwright's proxy dict from a URL such as socks5://user:pass@host:1080."""
    if not proxy:
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not parts.hostname:
        raise ValueError(f"proxy {proxy!r} is not a URL like http://host:port")
    server = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    settings = {"server": server}
    if parts.username:
        settings["username"] = unquote(parts.username)
        settings["password"] = unquote(parts.password or "")
    return settings


async def launch_context(playwright: Playwright, options: LaunchOptions) -> BrowserContext:
    """A persistent-profile Chromium context, ready for pages (see `launch`)."""
    return (await launch(playwright, options)).context


async def launch(playwright: Playwright, options: LaunchOptions) -> Launched:
    """Lock the profile, start what the mode needs (Xvfb), launch; all of it ends with the context."""
    lock = ProfileLock(options.profile_dir)
    holder = profile_holder(options.profile_dir)
    if holder or not lock.acquire():
        raise ProfileInUse(
            f"the browser profile {options.profile_dir} is in use by {holder or 'another process'}; "
            "stop the other lmarena-bridge (or its browser) first"
        )
    mode = options.mode
    display: VirtualDisplay | None = None
    try:
        if mode == VIRTUAL_DISPLAY:
            display = await asyncio.to_thread(VirtualDisplay.start)
        context = await _launch(playwright, options, mode, display)
    except BaseException:
        if display is not None:
            display.stop()
        lock.release()
        raise

    def closed(_: BrowserContext) -> None:
        lock.release()
        if display is not None:
            display.stop()

    context.on("close", closed)
    launched = Launched(context, mode, display)
    try:
        if mode == HEADLESS:
            launched.disguise = await Disguise.read(context, options.profile_dir)
        for page in context.pages:
            await launched.prepare(page)
        context.on("page", lambda page: launched.prepare_soon(page))
    except BaseException as exc:
        with contextlib.suppress(PlaywrightError):
            await context.close()
        if isinstance(exc, PlaywrightError):
            raise LaunchFailed(f"the browser started but could not be set up: {exc.message.splitlines()[0]}") from exc
        raise
    log.info("browser mode: %s", launched.describe())
    return launched


async def _launch(
    playwright: Playwright, options: LaunchOptions, mode: str, display: VirtualDisplay | None
) -> BrowserContext:
    executable = find_browser(options.executable, playwright)
    if executable and "headless-shell" in executable:
        log.warning("%s is Chromium's headless shell: sites see it as a bot; use a full Chromium", executable)
    log.info("launching %s on profile %s", executable or "Playwright's Chromium", options.profile_dir)
    env = {**os.environ, "DISPLAY": display.name} if display is not None else None
    try:
        # Headless too goes through Playwright's headed path, with our own --headless=new (stealth.py).
        return await playwright.chromium.launch_persistent_context(
            str(options.profile_dir),
            executable_path=executable,
            headless=False,
            args=[*mode_args(mode), *options.args],
            ignore_default_args=list(IGNORED_DEFAULT_ARGS),
            proxy=proxy_settings(options.proxy),  # type: ignore[arg-type]  # a ProxySettings TypedDict
            ignore_https_errors=options.ignore_https_errors,
            no_viewport=True,
            env=env,  # type: ignore[arg-type]  # str values are what Playwright passes on
            **options.extra,
        )
    except PlaywrightError as exc:
        first_line = (exc.message or str(exc)).splitlines()[0]
        raise LaunchFailed(f"could not start {executable or 'Playwright Chromium'}: {first_line}") from exc
