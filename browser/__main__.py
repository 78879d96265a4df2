"""`python -m browser`: print the Chromium that would be launched, or why there is none."""

import asyncio
import os
import sys

from playwright.async_api import async_playwright

from .errors import BrowserNotFound
from .launcher import find_browser


async def _find() -> str:
    async with async_playwright() as playwright:
        return find_browser(os.environ.get("LMARENA_BRIDGE_BROWSER") or None, playwright) or "Playwright's Chromium"


try:
    print(asyncio.run(_find()))
except BrowserNotFound as exc:
    print(exc, file=sys.stderr)
    sys.exit(1)
