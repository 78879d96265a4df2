"""The accounts the console shows: one `AccountView` per arena page.

The pages come from the account pool (`app.state.accounts`, bridge.accounts), one per
profile. A view never carries the profile path, cookies or the key: only what the page may show.
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
    views = []
    for index, account in enumerate(app.state.accounts.accounts):
        facts = account.describe()
        left = facts["cooldown_seconds_left"]
        views.append(
            AccountView(index, f"account {index + 1}", facts["state"], facts["detail"], left or None, account.page)
        )
    return views


def account(app: Any, index: int) -> AccountView:
    """The account with `index`; InvalidRequest (400) when there is none."""
    found = accounts(app)
    if not 0 <= index < len(found):
        raise InvalidRequest(f"there is no account {index}; accounts are 0..{len(found) - 1}", param="account")
    return found[index]


def serving_account(app: Any) -> str:
    """The label of the account whose turn comes first (the pool picks the one that serves)."""
    pool = app.state.accounts
    return f"account {pool.accounts.index(pool.first_ready()) + 1}"
