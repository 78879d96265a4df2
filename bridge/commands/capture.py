"""`lmarena-bridge capture`: take the session ids from the user's own Retry click.

Through a running bridge (`POST /internal/capture`, armed in the server's page) when
one answers, else in a browser window of its own on the profile. The ids go into the
files of the config this command was given: `config.jsonc` (session_id, message_id,
id_updater_last_mode, id_updater_battle_target), or with `--model` one more entry in
that model's pool in `model_endpoint_map.json`. A running bridge re-reads both files
when they change, so its next request uses the new ids.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import json5

from browser import open_arena_page
from browser.errors import PageGone

from ..config import Settings, launch_options
from ..jsonc import append_to_list, atomic_write_text, set_values
from . import remote
from .errors import CommandError

log = logging.getLogger(__name__)

HTTP_MARGIN = 30.0  # the server answers 408 itself at the timeout; this is for the wire


async def capture(
    settings: Settings,
    *,
    mode: str | None = None,
    target: str | None = None,
    model: str | None = None,
    server: str | None = None,
    timeout: float = 300.0,
) -> str:
    """Capture one Retry, write the ids, and say what was captured and where it went."""
    if timeout <= 0:
        raise CommandError("--timeout must be a positive number of seconds")
    mode = mode or settings.default_mode
    target = (target or settings.default_battle_target).upper()
    url = remote.server_url(settings, server)
    if await remote.bridge_answers(url):
        log.info(
            "arming capture in the bridge at %s: click Retry on the target model's answer in its "
            "browser window (the bridge shows one when started with `serve --headed`)",
            url,
        )
        session_id, message_id = await _through_server(url, settings, timeout)
    else:
        if server:
            log.warning("no bridge answers at %s; opening a browser window of its own", url)
        session_id, message_id = await _in_own_window(settings, timeout)
    where = record(settings, session_id, message_id, mode=mode, target=target, model=model)
    side = f", battle target {target}" if mode == "battle" else ""
    return f"captured session_id {session_id} message_id {message_id} (mode {mode}{side})\n{where}"


async def _through_server(url: str, settings: Settings, timeout: float) -> tuple[str, str]:
    response = await remote.post(
        url, "/internal/capture", settings, {"timeout": timeout}, timeout=timeout + HTTP_MARGIN
    )
    if response.status_code == 200:
        body = response.json()
        return str(body["session_id"]), str(body["message_id"])
    if response.status_code == 408:
        raise CommandError(_timed_out(timeout))
    raise CommandError(f"the bridge at {url} could not capture: {remote.error_message(response)}")


async def _in_own_window(settings: Settings, timeout: float) -> tuple[str, str]:
    options = dataclasses.replace(launch_options(settings), headless=False)
    async with open_arena_page(settings.arena_url, options) as page:
        log.info("in the window that opened: click Retry on the target model's answer (waiting %g s)", timeout)
        try:
            ids = await page.capture_retry(timeout)
        except PageGone as exc:
            raise CommandError(f"the capture window closed before a Retry was clicked ({exc})") from exc
    if ids is None:
        raise CommandError(_timed_out(timeout))
    return ids


def _timed_out(timeout: float) -> str:
    return (
        f"no Retry was clicked within {timeout:g} s: nothing was written; run capture again "
        "(--timeout S to wait longer) and click Retry on the target model's answer"
    )


def record(settings: Settings, session_id: str, message_id: str, *, mode: str, target: str, model: str | None) -> str:
    """Write the ids where they belong; a line saying where."""
    if model:
        entry: dict[str, Any] = {"session_id": session_id, "message_id": message_id, "mode": mode}
        if mode == "battle":
            entry["battle_target"] = target
        path = settings.endpoint_map_path
        size = _write(path, lambda text: _append_to_pool(path, text, model, entry))
        return f"appended to the pool of {model!r} in {path} ({size} entries)"
    values = {
        "session_id": session_id,
        "message_id": message_id,
        "id_updater_last_mode": mode,
        "id_updater_battle_target": target,
    }
    path = settings.config_path
    _write(path, lambda text: (set_values(text, values), 0))
    return f"written to {path}; a running bridge uses them from its next request"


def _write(path: Path, edit: Any) -> int:
    """Apply `edit(text) -> (new text, n)` to the file (created if missing), atomically; n."""
    try:
        text = path.read_bytes().decode("utf-8") if path.exists() else "{}\n"
        new, count = edit(text)
        atomic_write_text(path, new)
    except (OSError, ValueError) as exc:
        raise CommandError(f"could not write {path}: {exc}") from exc
    return int(count)


def _append_to_pool(path: Path, text: str, model: str, entry: dict[str, Any]) -> tuple[str, int]:
    """`text` with `entry` added to `model`'s pool (an old single object becomes a list)."""
    data = json5.loads(text.lstrip("\ufeff"))
    if not isinstance(data, dict):
        raise ValueError("it must hold a JSON object at the top")
    current = data.get(model)
    if current is None:
        pool = []
    elif isinstance(current, dict):
        pool = [current]
    elif isinstance(current, list):
        pool = list(current)
    else:
        raise ValueError(f"the entry of {model!r} must be an object or a list of objects")
    same = [
        i
        for i, e in enumerate(pool)
        if isinstance(e, dict)
        and (e.get("session_id"), e.get("message_id")) == (entry["session_id"], entry["message_id"])
    ]
    if not same:
        return append_to_list(text, model, entry), len(pool) + 1
    if pool[same[0]] == entry:
        return text, len(pool)
    pool[same[0]] = entry  # the same ids captured in another mode: that entry is rewritten
    return set_values(text, {model: pool}), len(pool)
