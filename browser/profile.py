"""One process at a time on a browser profile.

Chromium guards a profile with its SingletonLock, but the headless shell does not
create one; so the bridge also holds an advisory lock of its own
(`.lmarena-bridge.lock`, flock) for as long as its browser runs on the profile.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: Chromium's own SingletonLock is the only guard there
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lmarena-bridge.lock"


def _singleton_holder(profile_dir: Path) -> str | None:
    try:
        target = os.readlink(profile_dir / "SingletonLock")
    except OSError:
        return None
    host, _, pid = target.rpartition("-")
    if not pid.isdigit() or host != socket.gethostname():  # another machine's lock (a copied profile)
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return f"process {pid} on {host}"


def _lock_holder(profile_dir: Path) -> str | None:
    path = profile_dir / LOCK_NAME
    if fcntl is None or not path.exists():
        return None
    with open(path, "a+") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            return f"process {file.read().strip() or '?'}"
        fcntl.flock(file, fcntl.LOCK_UN)
    return None


def profile_holder(profile_dir: Path) -> str | None:
    """A description of the live process holding the profile, if any."""
    return _lock_holder(profile_dir) or _singleton_holder(profile_dir)


class ProfileLock:
    """Held while a browser of ours runs on the profile; released by `release()` or exit."""

    def __init__(self, profile_dir: Path) -> None:
        self.path = profile_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> bool:
        """False when another process holds it."""
        if fcntl is None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
