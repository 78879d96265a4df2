"""Find a Chromium and launch it on the persistent profile."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from playwright.async_api import BrowserContext, Playwright
from playwright.async_api import Error as PlaywrightError

from .errors import BrowserNotFound, LaunchFailed, ProfileInUse
from .profile import ProfileLock, profile_holder

log = logging.getLogger(__name__)

# Headless, Chromium's headless shell starts faster and takes about half the memory.
SYSTEM_HEADLESS_SHELLS = ("/usr/lib/chromium/chromium-headless-shell", "chromium-headless-shell")
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
# Look less like an automated browser; the rest of Playwright's defaults stay.
DEFAULT_ARGS = ("--disable-blink-features=AutomationControlled",)
IGNORED_DEFAULT_ARGS = ("--enable-automation",)


@dataclass(frozen=True, slots=True)
class LaunchOptions:
    profile_dir: Path
    headless: bool = True
    executable: str | None = None
    args: tuple[str, ...] = ()
    proxy: str | None = None
    ignore_https_errors: bool = False
    extra: dict = field(default_factory=dict)


def find_browser(configured: str | None, playwright: Playwright, *, headless: bool = True) -> str | None:
    """The executable to launch, or None for Playwright's own Chromium (which picks its
    headless shell by itself); else a system Chromium, its headless shell when headless."""
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
    for name in (SYSTEM_HEADLESS_SHELLS if headless else ()) + SYSTEM_BROWSERS:
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
    """A persistent-profile Chromium context, ready for pages."""
    lock = ProfileLock(options.profile_dir)
    holder = profile_holder(options.profile_dir)
    if holder or not lock.acquire():
        raise ProfileInUse(
            f"the browser profile {options.profile_dir} is in use by {holder or 'another process'}; "
            "stop the other lmarena-bridge (or its browser) first"
        )
    try:
        context = await _launch(playwright, options)
    except BaseException:
        lock.release()
        raise
    context.on("close", lambda _: lock.release())
    return context


async def _launch(playwright: Playwright, options: LaunchOptions) -> BrowserContext:
    executable = find_browser(options.executable, playwright, headless=options.headless)
    log.info("launching %s on profile %s", executable or "Playwright's Chromium", options.profile_dir)
    try:
        return await playwright.chromium.launch_persistent_context(
            str(options.profile_dir),
            executable_path=executable,
            headless=options.headless,
            args=[*DEFAULT_ARGS, *options.args],
            ignore_default_args=list(IGNORED_DEFAULT_ARGS),
            proxy=proxy_settings(options.proxy),
            ignore_https_errors=options.ignore_https_errors,
            no_viewport=not options.headless,
            **options.extra,
        )
    except PlaywrightError as exc:
        first_line = (exc.message or str(exc)).splitlines()[0]
        raise LaunchFailed(f"could not start {executable or 'Playwright Chromium'}: {first_line}") from exc
