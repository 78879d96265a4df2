"""What a command-line run can fail with; `cli.main` prints each as one line and exits non-zero.

    Exception
    ├── CommandError         an expected failure of a command (.status, default 1)
    ├── config.ConfigError   a setting is missing, malformed or of the wrong type
    └── browser.errors.BrowserError   no browser, profile in use, launch failed, page gone

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from browser.errors import BrowserError

from ..config import ConfigError


class CommandError(Exception):
    """An expected failure of a CLI command: printed as one line, exit status `.status`."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


EXPECTED_FAILURES = (CommandError, ConfigError, BrowserError)
