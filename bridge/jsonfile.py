"""A JSON file (comments allowed) re-read only when it changes on disk."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import json5

log = logging.getLogger(__name__)


class JsonFile:
    """A JSON file re-read only when its modification time or size changes."""

    def __init__(self, path: Path, default: Any) -> None:
        self.path = path
        self.default = default
        self._stamp: tuple[int, int, int] | None = None
        self._data: Any = default

    def read(self) -> Any:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._data = None, self.default
            return self._data
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._stamp:
            try:
                self._data = json5.loads(self.path.read_text("utf-8-sig"))
            except (OSError, ValueError) as exc:
                log.warning("%s is not valid JSON (%s); keeping the last good copy", self.path, exc)
            self._stamp = stamp
        return self._data
