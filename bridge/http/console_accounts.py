"""The accounts the console shows: one `AccountView` per arena page.

Today the bridge has one page (`app.state.page`); `accounts(app)` is the one place that
knows where the pages are, so an accounts registry replaces its body and nothing else.
A view never carries the profile path, cookies or the key: only what the page may show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from browser import ArenaPage

from ..errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class AccountView:
    """One account: its index (the `account=N` of the live view), a label and its page's state.

    `state` is a page state (ready, cloudflare_challenge, logged_out, cooling_down, ...);
    `cooldown_seconds` the time left while cooling down, else None.
    """

    index: int
    label: str
    state: str
    detail: str
    cooldown_seconds: float | None
    page: ArenaPage

    def public(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "label": self.label,
            "state": self.state,
            "detail": self.detail,
            "cooldown_seconds": self.cooldown_seconds,
        }


def accounts(app: Any) -> list[AccountView]:
    """Every account of the bridge, in order."""
    page: ArenaPage = app.state.page
    return [AccountView(0, "account 1", page.state, page.detail, None, page)]


def account(app: Any, index: int) -> AccountView:
    """The account with `index`; InvalidRequest (400) when there is none."""
    found = accounts(app)
    if not 0 <= index < len(found):
        raise InvalidRequest(f"there is no account {index}; accounts are 0..{len(found) - 1}", param="account")
    return found[index]


def serving_account(app: Any) -> str:
    """The label of the account that serves the next request (the one account, for now)."""
    return accounts(app)[0].label
