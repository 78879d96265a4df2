"""Settings: read once, from CLI flags > environment > config.jsonc > defaults.

`ConfigSource` keeps where settings come from (the CLI's overrides and the
environment) and `ConfigSource.load()` is the only function that reads them;
everything else gets the `Settings` object passed down. `ConfigStore` re-reads
the same source when config.jsonc changes. The file keeps the seed's key names
(`id_updater_last_mode`, ...); the code reads clear ones (`default_mode`, ...)
through pydantic aliases.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import json5
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from browser import LaunchOptions
from browser.arena import DEFAULT_ARENA_URL

from .jsonfile import FileStamp

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
ACCOUNTS_STATE_FILE = "accounts_state.json"
# protocol.md §2: careful bridges send about one request per 45 s and at most 6 per 15 min per
# account; one fixed gap that meets both is 900 / 6 = 150 s (24 an hour at the very most).
DEFAULT_PACE_SECONDS = 150.0
# protocol.md §2: the arena's retry-after after a verdict is about 1200 s.
DEFAULT_COOLDOWN_SECONDS = 1200.0


class ConfigError(Exception):
    """A setting is missing, malformed or of the wrong type; the message names where."""


class Settings(BaseModel):
    """Every setting; fields with an alias are spelled as the alias in config.jsonc (the seed's names)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    session_id: str = ""
    message_id: str = ""
    default_mode: Literal["direct_chat", "battle"] = Field("direct_chat", alias="id_updater_last_mode")
    default_battle_target: Literal["A", "B"] = Field("A", alias="id_updater_battle_target")
    bypass: bool = Field(False, alias="bypass_enabled")
    tavern_mode: bool = Field(False, alias="tavern_mode_enabled")
    use_default_ids: bool = Field(True, alias="use_default_ids_if_mapping_not_found")
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
    cors_allow_origins: list[str] = Field(default_factory=list)
    console_log_content: bool = False
    profiles: list[str] = Field(default_factory=list)
    pace_seconds: float = Field(DEFAULT_PACE_SECONDS, ge=0)
    cooldown_seconds: float = Field(DEFAULT_COOLDOWN_SECONDS, gt=0)
    idle_activity: bool = False

    config_path: Path = Field(default=Path(DEFAULT_CONFIG_NAME), exclude=True)

    @field_validator("default_battle_target", "log_level", mode="before")
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
    def profile_paths(self) -> list[Path]:
        """One profile folder per arena account: `profiles`, else the one `profile_dir`."""
        names = self.profiles or [self.profile_dir]
        return [(self.data_dir / os.path.expanduser(name)).resolve() for name in names]

    @property
    def accounts_state_path(self) -> Path:
        return self.data_dir / ACCOUNTS_STATE_FILE

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


@dataclass(frozen=True)
class ConfigSource:
    """Where settings come from: CLI flags (None means unset) over the environment over the file."""

    cli: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def path(self) -> Path:
        """The config file in use: --config, else $LMARENA_BRIDGE_CONFIG, else ./config.jsonc."""
        named = self.cli.get("config") or self.env.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME
        return Path(named).expanduser().resolve()

    def load(self) -> Settings:
        """The settings, merged; ConfigError naming the file or option and key otherwise."""
        path = self.path
        values: dict[str, Any] = {}
        origin: dict[str, str] = {}
        if path.exists():
            values.update(read_jsonc(path))
            origin.update(dict.fromkeys(values, str(path)))
        for name, key in ENV_KEYS.items():
            if self.env.get(name, "") != "":
                values[key], origin[key] = self.env[name], f"environment variable {name}"
        for key, value in self.cli.items():
            if value is not None and key != "config":
                values[key], origin[key] = value, f"command-line option --{key.replace('_', '-')}"
        values.pop("config_path", None)
        try:
            return Settings.model_validate({**values, "config_path": path})
        except ValidationError as exc:
            raise ConfigError(_describe(exc, origin, path)) from exc


def load_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """`ConfigSource(cli, env).load()`; `env` defaults to the process environment."""
    return ConfigSource(dict(cli or {}), dict(os.environ if env is None else env)).load()


def launch_options(settings: Settings, profile: Path | None = None) -> LaunchOptions:
    """How to launch the browser, from the settings (on `profile`, else `profile_dir`)."""
    return LaunchOptions(
        profile_dir=profile or settings.profile_path,
        browser_mode=settings.browser_mode,
        headless=settings.headless,
        executable=settings.browser_executable or None,
        args=tuple(settings.browser_args),
        proxy=settings.proxy or None,
        ignore_https_errors=settings.ignore_https_errors,
    )


def _describe(exc: ValidationError, origin: Mapping[str, str], path: Path) -> str:
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else "?"
    where = origin.get(key, str(path))
    fields = {(f.alias or name): f for name, f in Settings.model_fields.items()}
    expected = _EXPECTED.get(fields[key].annotation, error["msg"]) if key in fields else error["msg"]
    return f"{where}: key {key!r} {expected} (got {error.get('input')!r}; {error['msg'].lower()})"


_EXPECTED: dict[Any, str] = {
    bool: "must be true or false",
    int: "must be a whole number",
    float: "must be a number",
    str: "must be a string",
    list[str]: "must be a list of strings",
}


class ConfigStore:
    """The settings in force; re-read from their source when config.jsonc changes, keeping the last good ones."""

    # Read once at start-up: an edit of these is kept but only acts after a restart.
    RESTART_KEYS = (
        "host",
        "port",
        "arena_url",
        "profile_dir",
        "profiles",
        "idle_activity",
        "headless",
        "browser_mode",
        "browser_executable",
        "browser_args",
        "ignore_https_errors",
        "proxy",
        "max_concurrent_requests",
        "max_queued_requests",
        "log_level",
        "enable_idle_restart",
        "idle_restart_timeout_seconds",
    )

    def __init__(self, source: ConfigSource, settings: Settings | None = None) -> None:
        self.source = source
        self._settings = settings if settings is not None else source.load()
        self._stamp = FileStamp(self._settings.config_path)
        self._stamp.changed()

    def current(self) -> Settings:
        """The settings, re-read first if the file changed since the last look."""
        if self._stamp.changed():
            self._reload()
        return self._settings

    def _reload(self) -> None:
        path = self._settings.config_path
        if not self._stamp.exists:
            log.warning("%s is gone; keeping the last good settings until it is back", path)
            return
        try:
            settings = self.source.load()
        except ConfigError as exc:
            log.warning("ignoring the edit, keeping the last good settings: %s", exc)
            return
        changed = [k for k in self.RESTART_KEYS if getattr(settings, k, None) != getattr(self._settings, k, None)]
        if changed:
            log.warning("reloaded %s; %s take effect after a restart", path, ", ".join(changed))
        else:
            log.info("reloaded %s", path)
        self._settings = settings
