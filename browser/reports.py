"""One request's report queue: what page.js said about it, in order, with the stream timeout."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from .errors import ArenaFailure, FailureKind, FetchFailed, StreamTimeout, UploadFailed

Reports = asyncio.Queue[tuple[str, Any]]


async def next_report(queue: Reports, timeout: float) -> tuple[str, Any]:
    try:
        async with asyncio.timeout(timeout):
            kind, payload = await queue.get()
    except TimeoutError:
        raise StreamTimeout(timeout) from None
    if kind == "gone":
        raise payload
    if kind == "error":
        raise FetchFailed(f"the arena connection failed: {payload.get('message', payload)}")
    if kind == "upload":
        payload = payload if isinstance(payload, dict) else {"message": payload}
        raise UploadFailed(
            f"uploading an attachment failed: {payload.get('message')}",
            action_unknown=bool(payload.get("actionUnknown")),
        )
    if kind == "recaptcha":
        message = payload.get("message") if isinstance(payload, dict) else payload
        if isinstance(payload, dict) and payload.get("needsPerson"):
            raise ArenaFailure(FailureKind.RECAPTCHA_CHALLENGE, f"reCAPTCHA v2 shows a challenge: {message}")
        raise ArenaFailure(FailureKind.RECAPTCHA, f"no reCAPTCHA token could be minted in the page: {message}")
    return kind, payload


async def expect_report(queue: Reports, timeout: float, wanted: str) -> Any:
    kind, payload = await next_report(queue, timeout)
    if kind != wanted:
        raise FetchFailed(f"page script sent {kind!r} before {wanted!r}")
    return payload


async def read_body(queue: Reports, timeout: float) -> str:
    lines: list[str] = []
    while True:
        kind, payload = await next_report(queue, timeout)
        if kind == "done":
            return "\n".join(lines)
        lines.extend(payload)


async def download(
    context: BrowserContext, url: str, *, timeout: float, headers: dict[str, str] | None = None
) -> bytes:
    """GET `url` with the context's cookies (and `headers`); the body's bytes, or FetchFailed / StreamTimeout."""
    try:
        response = await context.request.get(url, timeout=timeout * 1000, headers=headers)
    except PlaywrightTimeoutError as exc:
        raise StreamTimeout(timeout) from exc
    except PlaywrightError as exc:
        raise FetchFailed(f"could not download {url}: {exc.message.splitlines()[0]}") from exc
    try:
        if not response.ok:
            raise FetchFailed(f"downloading {url} answered HTTP {response.status}")
        return await response.body()
    except PlaywrightError as exc:
        raise FetchFailed(f"could not download {url}: {exc.message.splitlines()[0]}") from exc
    finally:
        try:
            await response.dispose()
        except PlaywrightError:
            pass
