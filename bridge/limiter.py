"""Bound the arena requests in flight; a bounded queue waits, beyond it 429."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .errors import RateLimited

QUEUE_FULL_RETRY_AFTER = 2.0


class Limiter:
    def __init__(self, max_active: int, max_waiting: int) -> None:
        self.max_active = max_active
        self.max_waiting = max_waiting
        self.active = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(max_active)

    @asynccontextmanager
    async def slot(self, wait: float | None = None) -> AsyncIterator[None]:
        """Hold one of `max_active` slots for the block, waiting at most `wait` seconds for one."""
        if self._slots.locked() and self.waiting >= self.max_waiting:
            raise RateLimited(
                f"{self.active} arena requests are running and {self.waiting} are waiting "
                "(max_concurrent_requests / max_queued_requests); retry shortly",
                code="queue_full",
                retry_after=QUEUE_FULL_RETRY_AFTER,
            )
        self.waiting += 1
        try:
            async with asyncio.timeout(wait):
                await self._slots.acquire()
        except TimeoutError:
            raise RateLimited(
                f"no arena request slot came free within {wait:g} s (max_concurrent_requests); retry later",
                code="queue_full",
                retry_after=QUEUE_FULL_RETRY_AFTER,
            ) from None
        finally:
            self.waiting -= 1
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            self._slots.release()
