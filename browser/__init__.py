"""Drive a real Chromium on the arena site: launch, inject, fetch, parse.

This package knows the arena and the browser; it never imports `bridge`.
"""

from .arena import ArenaMessage, ArenaRequest, SessionIds, build_retry_request
from .driver import ArenaPage
from .launcher import LaunchOptions
from .standalone import open_arena_page, open_profile
from .stream import Finish, ImageResult, ReasoningDelta, TextDelta

__all__ = [
    "ArenaMessage",
    "ArenaPage",
    "ArenaRequest",
    "Finish",
    "ImageResult",
    "LaunchOptions",
    "ReasoningDelta",
    "SessionIds",
    "TextDelta",
    "build_retry_request",
    "open_arena_page",
    "open_profile",
]
