"""Which captured session a request uses: `model_endpoint_map.json`, else the global ids.

A model maps to one entry `{session_id, message_id, mode?, battle_target?}` (the
old format) or to a list of them (a pool). Requests for a pooled model take its
entries in turn, so many requests spread evenly over the pool. An entry without
`mode` takes the global `id_updater_last_mode` / `id_updater_battle_target`.
Entries whose ids are missing or placeholders are skipped; a model left with none
goes through create-evaluation under `auto`, and is a 400 that says to run
`lmarena-bridge capture` under `retry`.

`ProtocolRouter.route()` is the one place that chooses the protocol (config `protocol`,
or an entry's own `protocol`) and says so with a `Route`: `retry` needs ids, `create`
needs none, `auto` retries where the model has ids (its pool's or the global ones) and
creates otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from browser.arena import BATTLE_TARGETS, MODES, RETRY_PATH, SessionIds, parse_retry_url

from .config import Settings
from .errors import InvalidRequest, ModelNotFound
from .jsonfile import JsonFile

log = logging.getLogger(__name__)

AUTO, RETRY, CREATE = "auto", "retry", "create"
PROTOCOLS = (AUTO, RETRY, CREATE)
PROTOCOL_NOTES = {
    AUTO: "retry where a model has session ids, create-evaluation otherwise",
    RETRY: "retry with captured session ids",
    CREATE: "create-evaluation, no session ids needed",
}
CAPTURE_HINT = "run `lmarena-bridge capture` (with the bridge running) and click Retry on the model's answer"


@dataclass(frozen=True, slots=True)
class Route:
    """The protocol one request goes through: `retry` on the captured `session`, or `create`."""

    protocol: Literal["retry", "create"]
    session: SessionIds | None = None


CREATE_ROUTE = Route("create")


def is_placeholder(value: Any) -> bool:
    """True unless `value` looks like an id the arena's Retry URL could carry."""
    if not isinstance(value, str) or not value.strip() or "YOUR" in value.upper():
        return True
    return parse_retry_url(RETRY_PATH.format(session_id=value, message_id=value)) != (value, value)


def describe_protocol(protocol: str) -> str:
    """`protocol` and what it does, for the start-up log."""
    return f"{protocol} ({PROTOCOL_NOTES.get(protocol, 'unknown')})"


def has_global_ids(settings: Settings) -> bool:
    return not (is_placeholder(settings.session_id) or is_placeholder(settings.message_id))


def is_usable(entry: dict[str, Any]) -> bool:
    return not (is_placeholder(entry.get("session_id")) or is_placeholder(entry.get("message_id")))


class ProtocolRouter:
    def __init__(self, map_path: Path) -> None:
        self._file = JsonFile(map_path, {})
        self._turns: dict[str, int] = {}

    @property
    def path(self) -> Path:
        return self._file.path

    def entries(self, model: str) -> list[dict[str, Any]] | None:
        """The model's pool as written in the file; None when the model has no entry."""
        data = self._file.read()
        value = data.get(model) if isinstance(data, dict) else None
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list) and value:
            return [e for e in value if isinstance(e, dict)]
        return None

    def pick(self, settings: Settings, model: str) -> SessionIds:
        pool = self.entries(model)
        if pool is not None:
            return self._from_pool(pool, settings, model)
        if not settings.use_default_ids:
            raise ModelNotFound(
                f"model {model!r} has no entry in {self.path} and use_default_ids_if_mapping_not_found "
                f"is false: add it to that file, or run `lmarena-bridge capture --model {model}`",
                param="model",
            )
        if not has_global_ids(settings):
            raise InvalidRequest(
                f"no session ids are configured (session_id/message_id in {settings.config_path} are "
                f"missing, placeholders or not captured ids): {CAPTURE_HINT}",
                code="session_not_configured",
            )
        return SessionIds(
            settings.session_id,
            settings.message_id,
            settings.default_mode,
            settings.default_battle_target,
        )

    def route(self, settings: Settings, model: str) -> Route:
        """The protocol for `model`'s next request; InvalidRequest/ModelNotFound when none fits."""
        pool = self.entries(model)
        if pool is not None:
            return self._route_pool(pool, settings, model)
        if settings.protocol == CREATE:
            return CREATE_ROUTE
        # With use_default_ids_if_mapping_not_found off, an unmapped model stays the seed's 404 (pick).
        if settings.protocol == AUTO and settings.use_default_ids and not has_global_ids(settings):
            return CREATE_ROUTE
        return Route("retry", self.pick(settings, model))

    def _route_pool(self, pool: list[dict[str, Any]], settings: Settings, model: str) -> Route:
        """Round-robin over the pool's usable entries; an entry whose protocol is `create` needs no ids."""
        protocols = [self._entry_protocol(e, settings, model) for e in pool]
        slots = [e if p != CREATE else None for e, p in zip(pool, protocols) if p == CREATE or is_usable(e)]
        if not slots:
            if RETRY in protocols:
                return Route("retry", self._from_pool(pool, settings, model))  # the 400 that says to capture
            log.debug("no usable ids for %r in %s: using the create-evaluation protocol", model, self.path)
            return CREATE_ROUTE
        chosen = self._take_turn(model, pool, slots)
        return CREATE_ROUTE if chosen is None else Route("retry", self._from_entry(chosen, settings, model))

    def _entry_protocol(self, entry: dict[str, Any], settings: Settings, model: str) -> str:
        protocol = str(entry.get("protocol", settings.protocol))
        if protocol not in PROTOCOLS:
            raise InvalidRequest(
                f"the entry for {model!r} in {self.path} has protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}",
                code="invalid_value",
            )
        return protocol

    def _from_pool(self, pool: list[dict[str, Any]], settings: Settings, model: str) -> SessionIds:
        usable = [e for e in pool if is_usable(e)]
        if not usable:
            raise InvalidRequest(
                f"the entry for {model!r} in {self.path} has no real session_id/message_id: "
                f"{CAPTURE_HINT} (`lmarena-bridge capture --model {model}`)",
                code="session_not_configured",
            )
        return self._from_entry(self._take_turn(model, pool, usable), settings, model)

    def _take_turn(self, model: str, pool: list[Any], usable: list[Any]) -> Any:
        """The model's next entry in turn among `usable` (saying which of `pool` were skipped)."""
        if len(usable) < len(pool):
            log.warning("skipping %d entries for %r in %s: no real ids", len(pool) - len(usable), model, self.path)
        turn = self._turns.get(model, 0)
        self._turns[model] = turn + 1
        return usable[turn % len(usable)]

    def _from_entry(self, entry: dict[str, Any], settings: Settings, model: str) -> SessionIds:
        mode = entry.get("mode") or settings.default_mode
        target = entry.get("battle_target") or settings.default_battle_target
        target = target.upper() if isinstance(target, str) else target
        if mode not in MODES or target not in BATTLE_TARGETS:
            raise InvalidRequest(
                f"the entry for {model!r} in {self.path} has mode {mode!r} / battle_target "
                f"{target!r}; use mode direct_chat or battle, battle_target A or B",
                code="invalid_value",
            )
        return SessionIds(entry["session_id"], entry["message_id"], mode, target)
