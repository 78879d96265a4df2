"""The model list, read from the arena page into `available_models.json` and `models.json`.

It runs at start-up (`auto_update_models`), on `POST /internal/models/refresh` and on
`lmarena-bridge models --refresh`. `available_models.json` gets the arena's full model
objects; `models.json` gets each new public name (image models as "uuid:image") appended,
with the user's entries, comments and formatting kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import json5

from browser import ArenaPage
from browser.arena import is_image_model
from browser.driver import LOGGED_OUT, READY
from browser.errors import BrowserError, ProfileInUse

from . import remote
from .config import Settings
from .jsonc import atomic_write_text, update_file
from .models import IMAGE_SUFFIX, Model, ModelRegistry
from .errors import CommandError

log = logging.getLogger(__name__)

USABLE_STATES = (READY, LOGGED_OUT)  # the model list is on the page either way
STANDALONE_READY_TIMEOUT = 90.0
REFRESH_TIMEOUT = 180.0


class ModelFileError(Exception):
    """models.json cannot be read or written; the message names the file."""


@dataclass(frozen=True, slots=True)
class RefreshResult:
    models: int
    added: list[str]


def new_entries(existing: Mapping[str, Any], models: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """models.json entries for the public names not in it yet ("uuid" or "uuid:image")."""
    added: dict[str, str] = {}
    for model in models:
        name, model_id = model.get("publicName"), model.get("id")
        if not isinstance(name, str) or not name or not isinstance(model_id, str):
            continue
        if name not in existing and name not in added:
            added[name] = model_id + (IMAGE_SUFFIX if is_image_model(model) else "")
    return added


def write_model_files(settings: Settings, models: list[dict[str, Any]]) -> list[str]:
    """Write available_models.json and add new names to models.json; the names added."""
    path = settings.models_path
    try:
        atomic_write_text(settings.available_models_path, json.dumps(models, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ModelFileError(f"could not write {settings.available_models_path}: {exc}") from exc
    try:
        text = path.read_text("utf-8-sig") if path.exists() else "{}"
        existing = json5.loads(text)
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path} is not readable JSON ({exc}); fix or delete it, then refresh again") from exc
    if not isinstance(existing, dict):
        raise ModelFileError(f"{path} must hold an object {{\"public name\": \"model uuid\"}}; fix or delete it")
    added = new_entries(existing, models)
    if added or not path.exists():
        try:
            update_file(path, added)
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"could not update {path}: {exc}") from exc
    return list(added)


async def wait_until_usable(page: ArenaPage, timeout: float | None) -> bool:
    """Wait for the page to be loaded (ready or logged out); False after `timeout` s."""
    try:
        async with asyncio.timeout(timeout):
            while page.state not in USABLE_STATES:
                await asyncio.sleep(0.2)
    except TimeoutError:
        return False
    return True


class ModelUpdater:
    """Refreshes the model files from the server's page, one refresh at a time."""

    def __init__(self, page: ArenaPage) -> None:
        self.page = page
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def refresh(self, settings: Settings, *, fresh: bool = True) -> RefreshResult:
        """Read the page's model list and update the files; BrowserError or ModelFileError if not.

        `fresh` fetches the page anew; without it the page as loaded is read (at start-up).
        """
        async with self._lock:
            models = await self.page.read_models(fresh=fresh)
            if not models:
                log.warning("the arena page at %s has no model list; the model files are unchanged", self.page.url)
                return RefreshResult(0, [])
            added = await asyncio.to_thread(write_model_files, settings, models)
        log.info("model list: %d models on the arena, %d added to models.json%s", len(models), len(added),
                 f" ({', '.join(added)})" if added else "")
        return RefreshResult(len(models), added)

    def start(self, settings: Settings) -> None:
        """The start-up refresh, in the background once the page is loaded (if auto_update_models)."""
        if settings.auto_update_models and self._task is None:
            self._task = asyncio.create_task(self._refresh_when_ready(settings), name="models-update")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _refresh_when_ready(self, settings: Settings) -> None:
        await wait_until_usable(self.page, None)
        try:
            await self.refresh(settings, fresh=False)
        except (BrowserError, ModelFileError) as exc:
            log.warning("could not update the model list at start-up: %s", exc)


# -- the `models` command -------------------------------------------------------------


async def models_command(settings: Settings, *, refresh: bool = False, server: str | None = None) -> str:
    """`lmarena-bridge models [--refresh]`: a table of the models, refreshed first if asked."""
    lines = []
    if refresh:
        url = remote.server_url(settings, server)
        if await remote.bridge_answers(url):
            result = await _refresh_through(url, settings)
            lines.append(_summary(result, f"the bridge at {url}"))
        else:
            if server:
                log.warning("no bridge answers at %s; reading the arena page in a browser of its own", url)
            result = await _refresh_standalone(settings)
            lines.append(_summary(result, settings.arena_url))
    lines.append(format_table(ModelRegistry(settings.models_path, settings.available_models_path).all(), settings))
    return "\n".join(lines)


def _summary(result: RefreshResult, source: str) -> str:
    if not result.models:
        return f"{source}: the arena page has no model list; the model files are unchanged"
    added = f": {', '.join(result.added)}" if result.added else ""
    return f"{source}: {result.models} models on the arena, {len(result.added)} added to models.json{added}"


async def _refresh_through(url: str, settings: Settings) -> RefreshResult:
    response = await remote.post(url, "/internal/models/refresh", settings, None, timeout=REFRESH_TIMEOUT)
    if response.status_code != 200:
        raise CommandError(f"the bridge at {url} could not refresh the models: {remote.error_message(response)}")
    body = response.json()
    return RefreshResult(int(body.get("models", 0)), [str(name) for name in body.get("added", [])])


async def _refresh_standalone(settings: Settings) -> RefreshResult:
    from .app import launch_options

    page = ArenaPage(settings.arena_url, dataclasses.replace(launch_options(settings), headless=True))
    try:
        await page.start()
    except ProfileInUse as exc:
        raise CommandError(f"{exc}; if a bridge runs on it, pass its address with --server URL") from exc
    try:
        if not await wait_until_usable(page, STANDALONE_READY_TIMEOUT):
            raise CommandError(
                f"the arena page did not load in {STANDALONE_READY_TIMEOUT:g} s ({page.state}: {page.detail}); "
                "run `lmarena-bridge login` to pass the check, then refresh again"
            )
        return await ModelUpdater(page).refresh(settings, fresh=False)  # just loaded
    except ModelFileError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await page.close()


def format_table(models: list[Model], settings: Settings) -> str:
    """The models as aligned columns: name, organization, kind, arena id."""
    if not models:
        return f"no models in {settings.models_path}: run `lmarena-bridge models --refresh`"
    rows = [("MODEL", "ORGANIZATION", "KIND", "ID")]
    rows += [(m.name, m.organization or "-", "image" if m.image else "text", m.id or "-") for m in models]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows
    )
