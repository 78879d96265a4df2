"""Which captured session a request uses: `model_endpoint_map.json`, else the global ids.

A model maps to one entry `{session_id, message_id, mode?, battle_target?}` or
to a list of them (a pool, used round-robin). An entry without `mode` takes the
global `id_updater_last_mode` / `id_updater_battle_target`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from browser.arena import BATTLE_TARGETS, MODES, SessionIds

from .config import Settings
from .errors import InvalidRequest, ModelNotFound
from .jsonfile import JsonFile

CAPTURE_HINT = "run `lmarena-bridge capture` (with the bridge running) and click Retry on the model's answer"


def is_placeholder(value: Any) -> bool:
    text = str(value or "").strip()
    return not text or "YOUR" in text.upper() or text.startswith("<")


def has_global_ids(settings: Settings) -> bool:
    return not (is_placeholder(settings.session_id) or is_placeholder(settings.message_id))


class SessionPicker:
    def __init__(self, map_path: Path) -> None:
        self._file = JsonFile(map_path, {})
        self._turns: dict[tuple[str, int], Iterator[int]] = {}

    def entries(self, model: str) -> list[dict[str, Any]] | None:
        data = self._file.read()
        value = data.get(model) if isinstance(data, dict) else None
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list):
            return [e for e in value if isinstance(e, dict)]
        return None

    def pick(self, settings: Settings, model: str) -> SessionIds:
        pool = self.entries(model)
        if pool:
            turn = self._turns.setdefault((model, len(pool)), itertools.cycle(range(len(pool))))
            return self._from_entry(pool[next(turn)], settings, model)
        if pool is None and not settings.use_default_ids_if_mapping_not_found:
            raise ModelNotFound(
                f"model {model!r} has no entry in {self._file.path} and "
                "use_default_ids_if_mapping_not_found is false: add it there, or "
                f"run `lmarena-bridge capture --model {model}`"
            )
        if not has_global_ids(settings):
            raise InvalidRequest(
                f"no session ids are configured (session_id/message_id in {settings.config_path}): {CAPTURE_HINT}",
                code="session_not_configured",
            )
        return SessionIds(
            settings.session_id,
            settings.message_id,
            settings.id_updater_last_mode,
            settings.id_updater_battle_target,
        )

    def _from_entry(self, entry: dict[str, Any], settings: Settings, model: str) -> SessionIds:
        session_id, message_id = entry.get("session_id"), entry.get("message_id")
        if is_placeholder(session_id) or is_placeholder(message_id):
            raise InvalidRequest(
                f"the entry for {model!r} in {self._file.path} has no real session_id/message_id: "
                f"{CAPTURE_HINT} (`lmarena-bridge capture --model {model}`)",
                code="session_not_configured",
            )
        mode = entry.get("mode") or settings.id_updater_last_mode
        target = str(entry.get("battle_target") or settings.id_updater_battle_target).upper()
        if mode not in MODES or target not in BATTLE_TARGETS:
            raise InvalidRequest(
                f"the entry for {model!r} in {self._file.path} has mode {mode!r} / battle_target "
                f"{target!r}; use mode direct_chat or battle, battle_target A or B",
                code="invalid_value",
            )
        return SessionIds(str(session_id), str(message_id), mode, target)
