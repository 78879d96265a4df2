"""`lmarena-bridge login`: a browser window on the profile, to log in and pass Cloudflare.

It returns when the arena's auth cookie appears (or changes, on a profile that was
already logged in), closing the window so that `serve` can take the profile, or
when the user closes the window; either way it says which.
"""

from __future__ import annotations

import dataclasses
import logging

from browser import open_profile
from browser.profile import profile_holder
from browser.standalone import wait_for_login

from ..config import Settings, launch_options
from .errors import CommandError

log = logging.getLogger(__name__)


async def login(settings: Settings) -> str:
    """Open the window, wait, and say whether the profile is now logged in."""
    profile = settings.profile_path
    holder = profile_holder(profile)
    if holder:
        raise CommandError(_in_use(profile, holder))
    options = dataclasses.replace(launch_options(settings), headless=False)
    async with open_profile(options) as context:
        logged_in, changed = await wait_for_login(context, settings.arena_url)
    if changed:
        return f"logged in: the arena auth cookie is in the profile {profile}; `lmarena-bridge serve` will use it"
    if logged_in:
        return f"the window was closed; the profile {profile} is logged in (the arena auth cookie is there)"
    raise CommandError(
        f"the window was closed before logging in: no arena auth cookie in the profile {profile}; "
        "run `lmarena-bridge login` again"
    )


def _in_use(profile: object, holder: str) -> str:
    return (
        f"the browser profile {profile} is in use by {holder}, most likely a running `lmarena-bridge serve`; "
        "stop it first, then run login again (two browsers on one profile would corrupt it)"
    )
