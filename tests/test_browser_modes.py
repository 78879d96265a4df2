"""browser_mode: which mode runs where, the older `headless` switch, and the bridge's own Xvfb."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from browser.launcher import LaunchOptions, launch
from browser.modes import HEADED, HEADLESS, VIRTUAL_DISPLAY, resolve_mode
from browser.stealth import metadata_without_headless, without_headless
from tests.conftest import system_chromium

NO_DISPLAY: dict[str, str] = {}
DESKTOP = {"DISPLAY": ":0"}


def has_xvfb(name: str) -> str:
    return f"/usr/bin/{name}"


def no_xvfb(name: str) -> None:
    return None


def test_auto_on_linux_without_a_display_runs_headed_under_xvfb():
    assert resolve_mode("auto", platform="linux", env=NO_DISPLAY, which=has_xvfb) == VIRTUAL_DISPLAY


def test_auto_on_linux_without_xvfb_or_on_a_desktop_runs_full_headless():
    assert resolve_mode("auto", platform="linux", env=NO_DISPLAY, which=no_xvfb) == HEADLESS
    assert resolve_mode("auto", platform="linux", env=DESKTOP, which=has_xvfb) == HEADLESS
    assert resolve_mode("auto", platform="darwin", env=NO_DISPLAY, which=has_xvfb) == HEADLESS


def test_the_older_headless_false_means_headed_and_headless_true_rules_headed_out():
    assert resolve_mode("auto", headless=False, env=NO_DISPLAY, which=has_xvfb) == HEADED
    assert resolve_mode("virtual_display", headless=False) == HEADED
    assert resolve_mode("headed", headless=True, platform="linux", env=NO_DISPLAY, which=has_xvfb) == VIRTUAL_DISPLAY
    assert resolve_mode("headless", headless=True) == HEADLESS


def test_an_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="browser_mode 'invisible' is not one of auto, headless"):
        resolve_mode("invisible")


def test_the_disguise_drops_headless_from_user_agent_and_brands_and_keeps_the_rest():
    ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
    assert without_headless(ua) == ua.replace("HeadlessChrome", "Chrome")
    hints = {
        "brands": [{"brand": "Not:A-Brand", "version": "8"}, {"brand": "HeadlessChrome", "version": "156"}],
        "fullVersionList": [{"brand": "HeadlessChrome", "version": "156.0.1.2"}],
        "platform": "Linux",
        "architecture": "x86",
        "bitness": "64",
        "mobile": False,
    }
    metadata = metadata_without_headless(hints)
    assert metadata["brands"] == [{"brand": "Not:A-Brand", "version": "8"}, {"brand": "Chromium", "version": "156"}]
    assert metadata["fullVersionList"] == [{"brand": "Chromium", "version": "156.0.1.2"}]
    assert (metadata["platform"], metadata["architecture"], metadata["bitness"]) == ("Linux", "x86", "64")


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (apt-get install xvfb)")
def test_virtual_display_starts_xvfb_for_the_browser_and_stops_it_with_the_browser(tmp_path: Path):
    async def scenario() -> tuple[bool, bool, str]:
        options = LaunchOptions(tmp_path / "profile", browser_mode="virtual_display", executable=system_chromium())
        async with async_playwright() as playwright:
            launched = await launch(playwright, options)
            assert launched.display is not None
            running = launched.display.running
            page = launched.context.pages[0]
            agent = await page.evaluate("navigator.userAgent")
            await launched.context.close()
            await asyncio.sleep(0.2)
            return running, launched.display.running, agent

    running, still_running, agent = asyncio.run(scenario())
    assert running and not still_running
    assert "Headless" not in agent
