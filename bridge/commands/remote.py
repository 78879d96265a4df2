"""The CLI's side of `/internal/*`: find a running bridge and ask it to act in its page."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from ..config import Settings
from .errors import CommandError

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 3.0


def server_url(settings: Settings, given: str | None) -> str:
    """The bridge to try: `--server` (with or without /v1), else the configured host and port."""
    url = (given or settings.base_url).rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url[: -len("/v1")] if url.endswith("/v1") else url


def _client(timeout: float) -> httpx.AsyncClient:
    # httpx logs every request at INFO: noise in a command's output.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))
    # trust_env=False: a proxy from the environment must not stand between the CLI and loopback.
    return httpx.AsyncClient(timeout=timeout, trust_env=False)


async def bridge_answers(url: str) -> bool:
    """True when an lmarena-bridge answers /health at `url` (ready or not)."""
    try:
        async with _client(PROBE_TIMEOUT) as client:
            response = await client.get(f"{url}/health")
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(body, dict) and "status" in body


async def post(
    url: str, path: str, settings: Settings, body: dict[str, Any] | None, *, timeout: float
) -> httpx.Response:
    """POST `body` to the bridge at `url`, with the configured API key when there is one."""
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    try:
        async with _client(timeout) as client:
            return await client.post(f"{url}{path}", json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise CommandError(f"the bridge at {url} stopped answering ({type(exc).__name__}): {exc}") from exc


def error_message(response: httpx.Response) -> str:
    """The message of the bridge's OpenAI error envelope, else the response text."""
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:300] or f"HTTP {response.status_code}"
