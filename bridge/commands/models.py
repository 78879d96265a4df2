"""`lmarena-bridge models [--refresh]`: list the models, refreshed from the arena page first if asked.

The refresh runs through a running bridge's page (`POST /internal/models/refresh`) when one
answers, else in a headless browser of the command's own.
"""

from __future__ import annotations

import dataclasses
import logging

from browser import open_arena_page

from ..config import Settings, launch_options
from ..model_list import ModelFileError, ModelUpdater, RefreshResult, wait_until_usable
from ..models import Model, ModelRegistry
from . import remote
from .errors import CommandError

log = logging.getLogger(__name__)

STANDALONE_READY_TIMEOUT = 90.0
REFRESH_TIMEOUT = 180.0


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
    options = dataclasses.replace(launch_options(settings), headless=True)
    async with open_arena_page(settings.arena_url, options) as page:
        if not await wait_until_usable(page, STANDALONE_READY_TIMEOUT):
            raise CommandError(
                f"the arena page did not load in {STANDALONE_READY_TIMEOUT:g} s ({page.state}: {page.detail}); "
                "run `lmarena-bridge login` to pass the check, then refresh again"
            )
        try:
            return await ModelUpdater(page).refresh(settings, fresh=False)  # just loaded
        except ModelFileError as exc:
            raise CommandError(str(exc)) from exc


def format_table(models: list[Model], settings: Settings) -> str:
    """The models as aligned columns: name, organization, kind, arena id."""
    if not models:
        return f"no models in {settings.models_path}: run `lmarena-bridge models --refresh`"
    rows = [("MODEL", "ORGANIZATION", "KIND", "ID")]
    kinds = {"chat": "text"}
    rows += [(m.name, m.organization or "-", kinds.get(m.modality, m.modality), m.id or "-") for m in models]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows
    )
