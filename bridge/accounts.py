"""Arena accounts: one browser page per profile, paced, and cooled down on the arena's verdict.

On the real site the limit is a per-account reCAPTCHA verdict, not throughput (protocol.md §2):
a few requests close together draw `403 recaptcha validation failed` or `429` with
`retry-after` (~1200 s), and the flag then blocks the account for tens of minutes. So:

- Pacing (`pace_seconds`): at least that many seconds between two arena requests of one
  account. A request takes the next free turn of the account whose turn comes first; it waits
  for it, unless the wait would exceed `stream_response_timeout_seconds`: then 503
  `no_account_ready` with Retry-After. 0 means no pacing.
- Cooldown: a request that ends in an arena `RATE_LIMITED` (429, with or without
  `retry-after`) or `RECAPTCHA` (403) failure puts its account in cooldown for the arena's
  `retry-after`, else `cooldown_seconds`. Nothing is sent from a cooling account; requests
  get 503 `account_cooling_down` with Retry-After while every account cools.
- The cooldowns survive restarts: `accounts_state.json` beside the config, written atomically:
  `{"accounts": {"<profile path>": {"cooling_until": <unix seconds>, "reason": "<arena text>"}}}`.

    AccountPool.turn(settings)  async context -> the Account to send from (503 BridgeErrors)
    AccountPool.describe()      /health's `accounts` list
    Account.state               "ready" | "account_cooling_down" | the page's state
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from browser import ArenaPage
from browser.driver import LOGGED_OUT, NOT_READY_MESSAGES, READY
from browser.errors import ArenaFailure, BrowserError, FailureKind, PageNotReady

from .config import Settings
from .errors import RETRY_SOON, BridgeError, ServiceUnavailable, from_browser
from .jsonc import atomic_write_text

log = logging.getLogger(__name__)

COOLING_DOWN = "account_cooling_down"
STATE_FILE = "accounts_state.json"
VERDICTS = (FailureKind.RATE_LIMITED, FailureKind.RECAPTCHA)


class CooldownStore:
    """Each account's cooldown end (unix seconds), kept in a JSON file written atomically."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text("utf-8"))
            entries = data["accounts"]
            return {str(k): dict(v) for k, v in entries.items() if isinstance(v, dict)}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s is unreadable (%s); starting with no cooldowns", self.path, exc)
            return {}

    def left(self, key: str, now: float | None = None) -> float:
        """Seconds of cooldown left for `key` (0 when none)."""
        until = self._entries.get(key, {}).get("cooling_until", 0)
        try:
            return max(0.0, float(until) - (time.time() if now is None else now))
        except (TypeError, ValueError):
            return 0.0

    def reason(self, key: str) -> str | None:
        return self._entries.get(key, {}).get("reason")

    def start(self, key: str, seconds: float, reason: str) -> None:
        """Cool `key` down for `seconds` from now (never shortening a longer cooldown); saved at once."""
        until = time.time() + seconds
        if until <= time.time() + self.left(key):
            return
        self._entries[key] = {"cooling_until": round(until, 3), "reason": reason}
        self._save()

    def clear(self) -> list[str]:
        """End every cooldown now (a person checked the account); the keys that were cooling."""
        ended = [k for k in self._entries if self.left(k) > 0]
        self._entries.clear()
        self._save()
        return ended

    def _save(self) -> None:
        if self.path is None:
            return
        now = time.time()
        live = {k: v for k, v in self._entries.items() if self.left(k, now) > 0}
        try:
            atomic_write_text(self.path, json.dumps({"accounts": live}, indent=2) + "\n")
        except OSError as exc:
            log.warning("could not save the account cooldowns to %s: %s", self.path, exc)


class Account:
    """One arena account: its profile's page, its pacing turn and its cooldown."""

    def __init__(self, name: str, key: str, page: ArenaPage, store: CooldownStore) -> None:
        self.name = name
        self.key = key
        self.page = page
        self.store = store
        self.next_turn = 0.0  # time.monotonic() of its next free turn
        self.requests = 0

    @property
    def cooldown_left(self) -> float:
        return self.store.left(self.key)

    @property
    def state(self) -> str:
        return COOLING_DOWN if self.cooldown_left > 0 else self.page.state

    def describe(self) -> dict[str, Any]:
        left = self.cooldown_left
        return {
            "name": self.name,
            "state": "ready" if self.state == READY else self.state,
            "detail": f"cooling down: {self.store.reason(self.key)}" if left > 0 else self.page.detail,
            "cooldown_seconds_left": round(left),
            "next_turn_seconds": round(max(0.0, self.next_turn - time.monotonic()), 1),
            "requests": self.requests,
        }


class AccountPool:
    """The accounts, in the order of `profiles`; requests go to the one whose turn comes first."""

    def __init__(self, accounts: Sequence[Account]) -> None:
        if not accounts:
            raise ValueError("an account pool needs at least one account")
        self.accounts = list(accounts)

    @classmethod
    def of_pages(cls, pages: Sequence[ArenaPage], state_path: Path | None, names: Sequence[str] = ()) -> AccountPool:
        store = CooldownStore(state_path)
        names = list(names) or [str(p.options.profile_dir) for p in pages]
        return cls([Account(n, str(p.options.profile_dir), p, store) for n, p in zip(names, pages, strict=True)])

    @property
    def first(self) -> Account:
        return self.accounts[0]

    def first_ready(self) -> Account:
        """The first ready account (capture, model refresh), else the first one."""
        return next((a for a in self.accounts if a.state == READY), self.first)

    def ready(self) -> list[Account]:
        return [a for a in self.accounts if a.state == READY]

    def describe(self) -> list[dict[str, Any]]:
        return [a.describe() for a in self.accounts]

    @asynccontextmanager
    async def turn(self, settings: Settings) -> AsyncIterator[Account]:
        """The account to send one arena request from, once its turn has come.

        503 `account_cooling_down` / `no_account_ready` (or the page's own reason with one
        account) with Retry-After when none can send within `stream_response_timeout_seconds`.
        An arena verdict (429, 403 reCAPTCHA) ending the block puts the account in cooldown.
        """
        account, wait = self._reserve(settings)
        if wait > 0:
            log.debug("account %s: waiting %.1f s for its turn (pace_seconds)", account.name, wait)
            reserved = account.next_turn
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:  # the client left: give the turn back if it was the last one
                if account.next_turn == reserved:
                    account.next_turn -= settings.pace_seconds
                raise
        if account.cooldown_left > 0:
            raise self._cooling([account])
        account.requests += 1
        try:
            yield account
        except BridgeError as exc:
            self._judge(account, exc.__cause__, settings)
            raise
        except BrowserError as exc:
            self._judge(account, exc, settings)
            raise

    def _reserve(self, settings: Settings) -> tuple[Account, float]:
        usable = self.ready() or [a for a in self.accounts if a.state == LOGGED_OUT]
        if not usable:
            raise self._none_usable()
        now = time.monotonic()
        account = min(usable, key=lambda a: (max(a.next_turn, now), a.requests))
        wait = max(0.0, account.next_turn - now)
        if wait > settings.stream_response_timeout_seconds:
            raise self._too_far(wait, settings)
        if settings.pace_seconds > 0:
            account.next_turn = max(now, account.next_turn) + settings.pace_seconds
        return account, wait

    def check_room(self, count: int, settings: Settings) -> None:
        """Before `count` requests of one client request are sent (`n` choices, `n` images): raise
        what `turn` would raise for the last of them, so that none is sent for an answer that could
        not be completed. Reserves nothing."""
        if count <= 1 or settings.pace_seconds <= 0:
            return
        usable = self.ready() or [a for a in self.accounts if a.state == LOGGED_OUT]
        if not usable:
            raise self._none_usable()
        now = time.monotonic()
        turns = [max(a.next_turn, now) for a in usable]
        heapq.heapify(turns)
        for _ in range(count):
            turn = heapq.heappop(turns)
            heapq.heappush(turns, turn + settings.pace_seconds)
        if turn - now > settings.stream_response_timeout_seconds:
            raise self._too_far(turn - now, settings)

    @staticmethod
    def _too_far(wait: float, settings: Settings) -> BridgeError:
        bound = settings.stream_response_timeout_seconds
        return ServiceUnavailable(
            f"the account turn this request needs is {wait:.0f} s away (pace_seconds {settings.pace_seconds:g} "
            f"keeps the arena from flagging the account; waits are capped at stream_response_timeout_seconds "
            f"{bound:g}); retry later, ask for fewer choices or images, or add an account to `profiles`",
            code="no_account_ready",
            retry_after=max(1.0, wait - bound),
        )

    def _none_usable(self) -> BridgeError:
        cooling = [a for a in self.accounts if a.state == COOLING_DOWN]
        if cooling and len(cooling) == len(self.accounts):
            return self._cooling(cooling)
        if len(self.accounts) == 1:
            page = self.first.page
            return from_browser(PageNotReady(page.state, NOT_READY_MESSAGES.get(page.state, page.detail)))
        states = ", ".join(f"{a.name}: {a.state}" for a in self.accounts)
        retry = min([a.cooldown_left for a in cooling] + [RETRY_SOON])
        return ServiceUnavailable(
            f"no arena account is ready ({states}); see GET /health, or run `lmarena-bridge doctor`",
            code="no_account_ready",
            retry_after=retry,
        )

    @staticmethod
    def _cooling(accounts: Sequence[Account]) -> BridgeError:
        left = min(a.cooldown_left for a in accounts)
        return ServiceUnavailable(
            f"the arena flagged this account ({accounts[0].store.reason(accounts[0].key)}); the bridge sends "
            f"nothing from it for {left:.0f} s more, since each request now would extend the block. Retry "
            "after that, or add another logged-in account to `profiles`",
            code=COOLING_DOWN,
            retry_after=max(1.0, left),
        )

    def _judge(self, account: Account, cause: BaseException | None, settings: Settings) -> None:
        if not isinstance(cause, ArenaFailure) or cause.kind not in VERDICTS or cause.status is None:
            return  # not the arena's verdict (a token the page could not mint was never sent)
        seconds = cause.retry_after if cause.retry_after is not None else settings.cooldown_seconds
        reason = f"HTTP {cause.status}: {cause}"
        log.warning("account %s: the arena answered %s; cooling it down for %.0f s", account.name, reason, seconds)
        account.store.start(account.key, seconds, reason)
