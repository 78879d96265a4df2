"""Files re-read only when they change on disk: `FileStamp` tells, `JsonFile` reads."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import json5

log = logging.getLogger(__name__)


class FileStamp:
    """A file's (mtime, size, inode); `changed()` says whether it moved since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None

    @property
    def exists(self) -> bool:
        return self._stamp is not None

    def changed(self) -> bool:
        try:
            stat = self.path.stat()
            stamp: tuple[int, int, int] | None = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True


class JsonFile:
    """A JSON file (comments allowed), parsed again only when it changes; the last good copy on errors."""

    def __init__(self, path: Path, default: Any) -> None:
        self.path = path
        self.default = default
        self._stamp = FileStamp(path)
        self._data: Any = default

    def read(self) -> Any:
        if self._stamp.changed():
            if not self._stamp.exists:
                self._data = self.default
            else:
                try:
                    self._data = json5.loads(self.path.read_text("utf-8-sig"))
                except (OSError, ValueError) as exc:
                    log.warning("%s is not valid JSON (%s); keeping the last good copy", self.path, exc)
        return self._data
