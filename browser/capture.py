"""One-shot capture of the session ids in the page's own Retry request.

`page.js` wraps the page's `window.fetch` at init time and keeps the native
fetch for the bridge's own calls, so only requests the page itself makes (the
user clicking Retry) pass through the wrapper. A page request whose URL matches
`arena.RETRY_URL_RE` is reported through the binding under `REPORT_ID`;
`RetryCapture` turns the first report after arming into the captured ids.

The pattern is given to every document by an init script (`init_script()`), and
the armed state lives here in Python, so a reload or navigation while armed
loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from . import arena
from .errors import BrowserError

log = logging.getLogger(__name__)

REPORT_ID = "capture"


def init_script() -> str:
    """The script that hands the Retry URL pattern to page.js (it must run before it)."""
    return f"window.__lmbCapturePattern = {json.dumps(arena.RETRY_URL_RE.pattern)};"


class RetryCapture:
    """Arm, wait for the page's Retry, disarm. Callers waiting at once share one click."""

    def __init__(self) -> None:
        self._future: asyncio.Future[tuple[str, str]] | None = None
        self._waiters = 0

    @property
    def armed(self) -> bool:
        return self._future is not None and not self._future.done()

    async def wait(self, timeout: float) -> tuple[str, str] | None:
        """(session_id, message_id) of the next Retry the page sends, or None after `timeout` s."""
        if not self.armed:
            self._future = asyncio.get_running_loop().create_future()
            log.info("capture armed: click Retry on the target model's answer in the arena page")
        future = self._future
        assert future is not None
        self._waiters += 1
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            return None
        finally:
            self._waiters -= 1
            if self._waiters == 0 and future is self._future and not future.done():
                future.cancel()
                self._future = None
                log.info("capture disarmed: no Retry was clicked")

    def report(self, payload: Any) -> None:
        """A page request matched the Retry pattern; the first one while armed is the capture."""
        url = str(payload.get("url", "")) if isinstance(payload, dict) else ""
        ids = arena.parse_retry_url(url)
        if ids is None or not self.armed:
            log.debug("ignoring a page request to %s (capture not armed)", url)
            return
        assert self._future is not None
        self._future.set_result(ids)
        self._future = None
        log.info("captured session_id %s, message_id %s from the page's Retry", *ids)

    def fail(self, error: BrowserError) -> None:
        """The page is gone: whoever waits learns it now rather than at the timeout."""
        if self.armed:
            assert self._future is not None
            self._future.set_exception(error)
            self._future = None
