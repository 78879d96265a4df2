"""One-shot capture of the session ids in the page's own Retry request.

The page's `window.fetch` stays untouched: the driver watches the page's network
requests (Playwright's `page.on("request")`). A request whose URL matches
`arena.RETRY_URL_RE` and that is not one of the bridge's own (`OwnRequests`: the
driver notes each fetch it starts) goes to `RetryCapture.report`, which turns the
first one after arming into the captured ids. The armed state lives here in
Python, so a reload or navigation while armed loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

from . import arena
from .errors import BrowserError

log = logging.getLogger(__name__)

OWN_REQUEST_GRACE = 30.0  # seconds a noted own request may take to show on the network


class OwnRequests:
    """The bridge's own fetches (method, path) not yet seen on the page's network.

    Each note is claimed once by a matching request, or forgotten after OWN_REQUEST_GRACE s
    (a fetch aborted before it left never shows).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._deadlines: dict[tuple[str, str], deque[float]] = {}

    @staticmethod
    def _key(method: str, url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return method.upper(), parts.path + (f"?{parts.query}" if parts.query else "")

    def note(self, method: str, url: str) -> None:
        """The bridge is about to fetch `url` (absolute or relative to the page) from the page."""
        self._deadlines.setdefault(self._key(method, url), deque()).append(self._clock() + OWN_REQUEST_GRACE)

    def claim(self, method: str, url: str) -> bool:
        """True (once per note) if a request seen on the network is one of the bridge's own."""
        key = self._key(method, url)
        deadlines = self._deadlines.get(key)
        now = self._clock()
        while deadlines and deadlines[0] <= now:
            deadlines.popleft()
        if not deadlines:
            self._deadlines.pop(key, None)
            return False
        deadlines.popleft()
        return True


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

    def report(self, url: str) -> None:
        """The page itself sent a request to `url`; the first Retry while armed is the capture."""
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
