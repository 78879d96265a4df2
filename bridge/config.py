"""Settings: read once, from CLI flags > environment > config.jsonc > defaults.

`load_settings()` is the only function that reads them; everything else gets
the `Settings` object passed down.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import json5
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from browser.arena import DEFAULT_ARENA_URL

log = logging.getLogger(__name__)

CONFIG_ENV = "LMARENA_BRIDGE_CONFIG"
DEFAULT_CONFIG_NAME = "config.jsonc"
ENV_KEYS = {
    "PORT": "port",
    "HOST": "host",
    "API_KEY": "api_key",
    "LOG_LEVEL": "log_level",
    "LMARENA_BRIDGE_ARENA_URL": "arena_url",
    "LMARENA_BRIDGE_PROFILE": "profile_dir",
    "LMARENA_BRIDGE_BROWSER": "browser_executable",
}
MODELS_FILE = "models.json"
ENDPOINT_MAP_FILE = "model_endpoint_map.json"
AVAILABLE_MODELS_FILE = "available_models.json"


class ConfigError(Exception):
    """A setting is missing, malformed or of the wrong type; the message names where."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="allow")

    session_id: str = ""
    message_id: str = ""
    id_updater_last_mode: Literal["direct_chat", "battle"] = "direct_chat"
    id_updater_battle_target: Literal["A", "B"] = "A"
    bypass_enabled: bool = False
    tavern_mode_enabled: bool = False
    use_default_ids_if_mapping_not_found: bool = True
    stream_response_timeout_seconds: float = Field(360.0, gt=0)
    enable_idle_restart: bool = False
    idle_restart_timeout_seconds: float = 3600.0
    enable_auto_update: bool = False
    update_check_url: str = "https://api.github.com/repos/lmarena-bridge/lmarena-bridge/releases/latest"
    api_key: str = ""
    host: str = "127.0.0.1"
    port: int = Field(5102, ge=1, le=65535)
    arena_url: str = DEFAULT_ARENA_URL
    profile_dir: str = "profile"
    # `auto` | `headless` | `virtual_display` | `headed` (browser/modes.py); the older
    # `headless: false` still means headed.
    browser_mode: Literal["auto", "headless", "virtual_display", "headed"] = "auto"
    headless: bool | None = None
    browser_executable: str = ""
    browser_args: list[str] = Field(default_factory=list)
    ignore_https_errors: bool = False
    proxy: str = ""
    auto_update_models: bool = True
    max_concurrent_requests: int = Field(32, ge=1)
    max_queued_requests: int = Field(64, ge=0)
    protocol: Literal["auto", "retry", "create"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_request_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_attachment_bytes: int = Field(5 * 1024 * 1024, ge=0)

    config_path: Path = Field(default=Path(DEFAULT_CONFIG_NAME), exclude=True)

    @field_validator("id_updater_battle_target", "log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("arena_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def data_dir(self) -> Path:
        return self.config_path.parent

    @property
    def profile_path(self) -> Path:
        return (self.data_dir / os.path.expanduser(self.profile_dir)).resolve()

    @property
    def models_path(self) -> Path:
        return self.data_dir / MODELS_FILE

    @property
    def endpoint_map_path(self) -> Path:
        return self.data_dir / ENDPOINT_MAP_FILE

    @property
    def available_models_path(self) -> Path:
        return self.data_dir / AVAILABLE_MODELS_FILE

    @property
    def base_url(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/v1"


def read_jsonc(path: Path) -> dict[str, Any]:
    """A JSONC file's top-level object; ConfigError naming the file otherwise."""
    try:
        data = json5.loads(path.read_text("utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON with comments: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a JSON object {{...}} at the top")
    return data


def load_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Merge CLI flags (None means unset), environment and the config file."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    env = os.environ if env is None else env
    path = Path(cli.pop("config", None) or env.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME).expanduser().resolve()
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if path.exists():
        values.update(read_jsonc(path))
        origin.update(dict.fromkeys(values, str(path)))
    for name, key in ENV_KEYS.items():
        if env.get(name, "") != "":
            values[key], origin[key] = env[name], f"environment variable {name}"
    for key, value in cli.items():
        values[key], origin[key] = value, f"command-line option --{key.replace('_', '-')}"
    values.pop("config_path", None)
    try:
        return Settings.model_validate({**values, "config_path": path})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin, path)) from exc


def _describe(exc: ValidationError, origin: Mapping[str, str], path: Path) -> str:
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else "?"
    where = origin.get(key, str(path))
    expected = _EXPECTED.get(Settings.model_fields[key].annotation, error["msg"]) if key in Settings.model_fields else error["msg"]
    return f"{where}: key {key!r} {expected} (got {error.get('input')!r}; {error['msg'].lower()})"


_EXPECTED = {
    bool: "must be true or false",
    int: "must be a whole number",
    float: "must be a number",
    str: "must be a string",
    list[str]: "must be a list of strings",
}


class ConfigStore:
    """The settings in force; re-read when config.jsonc changes, keeping the last good ones."""

    # Read once at start-up: an edit of these is kept but only acts after a restart.
    RESTART_KEYS = (
        "host", "port", "arena_url", "profile_dir", "headless", "browser_mode", "browser_executable", "browser_args",
        "ignore_https_errors", "proxy", "max_concurrent_requests", "max_queued_requests", "log_level",
        "enable_idle_restart", "idle_restart_timeout_seconds",
    )

    def __init__(self, settings: Settings, cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> None:
        self._settings = settings
        self._cli = dict(cli or {})
        self._cli["config"] = str(settings.config_path)
        self._env = dict(os.environ if env is None else env)
        self._stamp = self._read_stamp()

    def _read_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = self._settings.config_path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def current(self) -> Settings:
        """The settings, re-read first if the file changed since the last look."""
        stamp = self._read_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            self._reload(stamp is None)
        return self._settings

    def _reload(self, missing: bool) -> None:
        path = self._settings.config_path
        if missing:
            log.warning("%s is gone; keeping the last good settings until it is back", path)
            return
        try:
            settings = load_settings(self._cli, self._env)
        except ConfigError as exc:
            log.warning("ignoring the edit, keeping the last good settings: %s", exc)
            return
        changed = [k for k in self.RESTART_KEYS if getattr(settings, k, None) != getattr(self._settings, k, None)]
        if changed:
            log.warning("reloaded %s; %s take effect after a restart", path, ", ".join(changed))
        else:
            log.info("reloaded %s", path)
        self._settings = settings
