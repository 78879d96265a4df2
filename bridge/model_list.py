"""The model list, read from the arena page into `available_models.json` and `models.json`.

It runs at start-up (`auto_update_models`), on `POST /internal/models/refresh` and on
`lmarena-bridge models --refresh`. `available_models.json` gets the arena's full model
objects; `models.json` gets each new usable public name (image models as "uuid:image", search
models as "uuid:search") appended,
with the user's entries, comments and formatting kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import json5

from browser import ArenaPage
from browser.arena import is_usable_model, model_modality
from browser.driver import LOGGED_OUT, READY
from browser.errors import BrowserError

from .config import Settings
from .jsonc import atomic_write_text, update_file
from .models import entry_for

log = logging.getLogger(__name__)

USABLE_STATES = (READY, LOGGED_OUT)  # the model list is on the page either way


class ModelFileError(Exception):
    """models.json cannot be read or written; the message names the file."""


@dataclass(frozen=True, slots=True)
class RefreshResult:
    models: int
    added: list[str]


def new_entries(existing: Mapping[str, Any], models: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """models.json entries for the usable public names not in it yet ("uuid", "uuid:image", "uuid:search").

    Models not selectable or without text/image/search output (webdev-only and the like) are left out.
    """
    added: dict[str, str] = {}
    for model in models:
        name, model_id = model.get("publicName"), model.get("id")
        if not isinstance(name, str) or not name or not isinstance(model_id, str) or not is_usable_model(model):
            continue
        if name not in existing and name not in added:
            added[name] = entry_for(model_id, model_modality(model))
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
        raise ModelFileError(f'{path} must hold an object {{"public name": "model uuid"}}; fix or delete it')
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

    def __init__(self, page: ArenaPage, choose: Callable[[], ArenaPage] | None = None) -> None:
        self._page = page
        self._choose = choose  # several accounts: the page to read (the first ready one)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def page(self) -> ArenaPage:
        return self._choose() if self._choose is not None else self._page

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
        log.info(
            "model list: %d models on the arena, %d added to models.json%s",
            len(models),
            len(added),
            f" ({', '.join(added)})" if added else "",
        )
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
        while self.page.state not in USABLE_STATES:  # self.page: the first ready account's, re-chosen each look
            await asyncio.sleep(0.2)
        try:
            await self.refresh(settings, fresh=False)
        except (BrowserError, ModelFileError) as exc:
            log.warning("could not update the model list at start-up: %s", exc)
