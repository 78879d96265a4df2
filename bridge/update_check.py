"""A start-up notice when a newer lmarena-bridge release exists (`enable_auto_update`).

It only looks and logs one line: it never downloads or replaces anything. Any
network or format problem is silent (a debug line), so an offline machine sees nothing.
The source is `update_check_url`: a GitHub "latest release" document (`tag_name`), or
any JSON with `info.version`.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import re
import urllib.request
from typing import Any

from . import __version__
from .config import Settings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
_RELEASE_RE = re.compile(r"v?(\d+(?:\.\d+)*)")


def release_tuple(version: str) -> tuple[int, ...] | None:
    """(1, 2, 0) for "1.2" or "v1.2.0"; None for pre-releases and anything else."""
    match = _RELEASE_RE.fullmatch(version.strip())
    if match is None:
        return None
    parts = [int(p) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def latest_version(document: Any) -> str | None:
    """The version a release document names: `info.version`, or a GitHub release's `tag_name`."""
    if not isinstance(document, dict):
        return None
    info = document.get("info")
    version = info.get("version") if isinstance(info, dict) else document.get("tag_name")
    return version if isinstance(version, str) else None


def _fetch(url: str, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "lmarena-bridge"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


async def newer_release(url: str, current: str = __version__, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """The latest release when it is newer than `current`; None when not, or when it cannot tell."""
    try:
        latest = latest_version(await asyncio.to_thread(_fetch, url, timeout))
    except (OSError, ValueError, http.client.HTTPException) as exc:
        log.debug("update check: could not read %s: %s", url, exc)
        return None
    mine, theirs = release_tuple(current), release_tuple(latest or "")
    if mine is None or theirs is None:
        log.debug("update check: cannot compare %r with %r", current, latest)
        return None
    return latest if theirs > mine else None


async def announce_newer_release(url: str, current: str = __version__, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """Log the notice when a newer release exists; that release (the console shows it too), or None."""
    latest = await newer_release(url, current, timeout)
    if latest is not None:
        log.info(
            "lmarena-bridge %s is available (this is %s): update your copy (`git pull`, or rebuild the "
            "Docker image) and restart; nothing was changed",
            latest,
            current,
        )
    return latest


def start_update_check(settings: Settings) -> asyncio.Task[str | None] | None:
    """With `enable_auto_update`, look for a newer release in the background; the caller cancels it."""
    if not settings.enable_auto_update or not settings.update_check_url:
        return None
    return asyncio.create_task(announce_newer_release(settings.update_check_url), name="update-check")
