"""Failures the browser side reports, before the HTTP layer gives them a status.

    BrowserError
    ├── BrowserNotFound      no Chromium to launch (message says how to install one)
    ├── LaunchFailed         Chromium is there but would not start
    ├── ProfileInUse         another process holds the persistent profile
    ├── PageNotReady         page starting, challenged, logged out or crashed (.reason)
    ├── PageGone             the page navigated, crashed or closed during a fetch
    ├── FetchFailed          the in-page fetch failed at the network level
    ├── StreamTimeout        no piece of the answer within the configured time
    ├── UploadFailed         an attachment upload failed (.action_unknown: the site's action ids changed)
    └── ArenaFailure         the arena answered with an error (.kind, .status, .retry_after)

`bridge.errors` maps each of these to an OpenAI error; nothing here knows HTTP
statuses of the bridge's own API.
"""

from __future__ import annotations

import enum


class BrowserError(Exception):
    """Base class of everything the browser package raises on purpose."""


class BrowserNotFound(BrowserError):
    pass


class LaunchFailed(BrowserError):
    pass


class ProfileInUse(BrowserError):
    pass


class PageNotReady(BrowserError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PageGone(BrowserError):
    pass


class FetchFailed(BrowserError):
    pass


class UploadFailed(BrowserError):
    def __init__(self, message: str, *, action_unknown: bool = False) -> None:
        super().__init__(message)
        self.action_unknown = action_unknown


class StreamTimeout(BrowserError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the arena sent nothing for {seconds:g} s")
        self.seconds = seconds


class FailureKind(enum.Enum):
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    CHALLENGE = "challenge"
    RECAPTCHA = "recaptcha"  # the arena refused the token (.status set) or none could be minted (.status None)
    RECAPTCHA_CHALLENGE = "recaptcha_challenge"  # the v2 fallback shows an image challenge: a person must solve it
    BATTLE_TURN = "battle_turn"  # the direct-battle session became a battle: start a new evaluation
    MODEL_NOT_FOUND = "model_not_found"
    TOO_LARGE = "too_large"
    FLAGGED = "flagged"
    RATE_LIMITED = "rate_limited"
    UPSTREAM = "upstream"


class ArenaFailure(BrowserError):
    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
