"""The fake arena's accounts: several login tokens, and the per-account reCAPTCHA verdict.

protocol.md §2: a few requests close together from one account draw
`403 recaptcha validation failed`, then `429` with `retry-after`, and the account stays
refused until the cooldown ends. `Penalty(requests=N, within=T, cooldown=C)`: the N-th
request of one auth token within T seconds is answered 403; every request of that token in
the next C seconds gets 429 with the seconds left in `retry-after`.

    arena.penalty = Penalty(requests=3, within=2.0, cooldown=4.0)
    arena.distinct_logins = 2   # each of the first 2 new visitors logs in as its own account
    arena.account_of(record)    # the auth token a recorded request came with
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from .replies import Reply

RECAPTCHA_FAILED = {"error": "recaptcha validation failed"}
TOO_MANY = {"error": "Too many requests, please try again later."}


@dataclass
class Penalty:
    requests: int
    within: float
    cooldown: float
    _seen: dict[str, list[float]] = field(default_factory=dict)
    _cooling_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def judge(self, token: str) -> Reply | None:
        """The verdict on one more request of `token`: None lets it through."""
        now = time.monotonic()
        with self._lock:
            until = self._cooling_until.get(token, 0.0)
            if now < until:
                return Reply.error(429, TOO_MANY, retry_after=math.ceil(until - now))
            recent = [t for t in self._seen.get(token, []) if now - t < self.within] + [now]
            self._seen[token] = recent
            if len(recent) >= self.requests:
                self._cooling_until[token] = now + self.cooldown
                self._seen[token] = []
                return Reply.error(403, RECAPTCHA_FAILED)
        return None

    def flagged(self) -> list[str]:
        """The tokens that were ever flagged."""
        with self._lock:
            return list(self._cooling_until)
