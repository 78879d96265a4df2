"""Look like a person's browser: launch flags per mode, and the headless user-agent disguise.

Full Chromium in `--headless=new` differs from a headed one, to a page, only in its
user agent (`HeadlessChrome/N` in the User-Agent header, `navigator.userAgent` and
`navigator.appVersion`); its client-hint brands, plugins and `window.chrome` are a
headed Chromium's. `Disguise` reads the browser's real client hints once per launch
(from a `file://` page, a secure context where `navigator.userAgentData` answers)
and sets, on every page's DevTools session, CDP `Emulation.setUserAgentOverride` with
the user agent minus "Headless" and `userAgentMetadata` equal to the real hints, so
the header, `navigator.userAgent`, `navigator.userAgentData` and `Sec-CH-UA` agree.

Headless is asked for with our own `--headless=new` flag and Playwright's headed
launch path: Playwright's headless path adds `--blink-settings=primaryPointerType=4...`
(no mouse), `--hide-scrollbars` and `--mute-audio`, which a real window does not have.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from .modes import HEADED, HEADLESS, SCREEN

log = logging.getLogger(__name__)

HINTS = ["architecture", "bitness", "brands", "fullVersionList", "model", "platformVersion", "wow64", "formFactors"]
READ_HINTS_JS = f"navigator.userAgentData.getHighEntropyValues({HINTS!r})"
# A person's browser: no automation flag for navigator.webdriver, a screen-sized window.
COMMON_ARGS = ("--disable-blink-features=AutomationControlled",)


def mode_args(mode: str) -> tuple[str, ...]:
    """Chromium flags for a concrete mode (after modes.resolve_mode)."""
    width, height = SCREEN
    if mode == HEADLESS:
        return (
            *COMMON_ARGS,
            "--headless=new",
            f"--window-size={width},{height}",
            f"--screen-info={{0,0 {width}x{height}}}",
        )
    if mode == HEADED:
        return COMMON_ARGS
    return (*COMMON_ARGS, "--window-position=0,0", f"--window-size={width},{height}")


def without_headless(user_agent: str) -> str:
    return user_agent.replace("HeadlessChrome/", "Chrome/").replace("Headless", "")


def metadata_without_headless(hints: dict[str, Any]) -> dict[str, Any]:
    """CDP `Emulation.UserAgentMetadata` from `getHighEntropyValues`, any Headless brand renamed."""

    def brands(items: list[dict[str, str]]) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for item in items or []:
            name = "Chromium" if "Headless" in item["brand"] else item["brand"]
            if all(b["brand"] != name for b in out):
                out.append({"brand": name, "version": item["version"]})
        return out

    return {
        "brands": brands(hints.get("brands", [])),
        "fullVersionList": brands(hints.get("fullVersionList", [])),
        "platform": hints.get("platform", ""),
        "platformVersion": hints.get("platformVersion", ""),
        "architecture": hints.get("architecture", ""),
        "model": hints.get("model", ""),
        "mobile": bool(hints.get("mobile", False)),
        "bitness": hints.get("bitness", ""),
        "wow64": bool(hints.get("wow64", False)),
        "formFactors": hints.get("formFactors", []),
    }


class Disguise:
    """The user agent and client hints every page of one headless launch gets."""

    def __init__(self, user_agent: str, metadata: dict[str, Any]) -> None:
        self.user_agent = user_agent
        self.metadata = metadata
        self._sessions: dict[Page, CDPSession] = {}

    @classmethod
    async def read(cls, context: BrowserContext, probe_dir: Path) -> Disguise | None:
        """The disguise for this browser, or None when its user agent says nothing of Headless."""
        page = context.pages[0] if context.pages else await context.new_page()
        session = await context.new_cdp_session(page)
        try:
            version = await session.send("Browser.getVersion")
            if "Headless" not in version["userAgent"]:
                return None
            await page.goto(probe_dir.resolve().as_uri())
            hints = await page.evaluate(READ_HINTS_JS)
            await page.goto("about:blank")
        finally:
            await session.detach()
        disguise = cls(without_headless(version["userAgent"]), metadata_without_headless(hints))
        log.info(
            "headless: pages get the user agent %r and client hints %s",
            disguise.user_agent,
            [b["brand"] for b in disguise.metadata["brands"]],
        )
        return disguise

    def _forget(self, page: Page) -> None:
        self._sessions.pop(page, None)

    async def apply(self, page: Page) -> None:
        """Override the user agent on `page` (idempotent); the session stays for the page's life."""
        if page in self._sessions or page.is_closed():
            return
        session = await page.context.new_cdp_session(page)
        self._sessions[page] = session
        page.on("close", lambda p: self._forget(p))
        try:
            await session.send(
                "Emulation.setUserAgentOverride",
                {"userAgent": self.user_agent, "userAgentMetadata": self.metadata},
            )
        except PlaywrightError:
            self._sessions.pop(page, None)
            raise
