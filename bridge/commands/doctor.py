"""`lmarena-bridge doctor [--server URL] [--probe]`: check each step from config to answer, one line each.

    PASS  config readable: /home/me/lmarena/config.jsonc
    FAIL  logged in: no arena auth cookie in profile /home/me/lmarena/profile -> run `lmarena-bridge login`

The checks, in order (SPEC "doctor"): config readable, browser found and launchable, arena
reachable, Cloudflare passed, logged in, bot signals clean, reCAPTCHA site key found, model
list found, a tiny create-evaluation round trip (only with --probe), account cooldown state.
The page-side facts come from a running bridge's page (`POST /internal/doctor`) when one
answers, else from a headless browser of the command's own on the first profile
(browser.facts). Exit 0 only when every check passes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx

from browser import ArenaMessage, open_arena_page
from browser.arena import build_create_request
from browser.driver import CHALLENGE, CRASHED, STARTING, ArenaPage
from browser.errors import BrowserError, BrowserNotFound
from browser.facts import page_facts
from browser.standalone import locate_browser
from browser.stream import TextDelta

from ..accounts import AccountPool, CooldownStore
from ..config import Settings, launch_options
from ..errors import BridgeError
from . import remote

log = logging.getLogger(__name__)

SETTLE_TIMEOUT = 30.0
CHALLENGE_SETTLE = 12.0
PROBE_PROMPT = "Reply with the single word OK."
PROBE_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    next_step: str = ""

    def line(self) -> str:
        if self.ok:
            return f"PASS  {self.name}: {self.detail}"
        return f"FAIL  {self.name}: {self.detail}" + (f" -> {self.next_step}" if self.next_step else "")


def report(checks: Sequence[Check]) -> str:
    return "\n".join(c.line() for c in checks)


def config_failed(path: str, error: Exception) -> Check:
    return Check("config readable", False, str(error), f"fix {path} (see config.jsonc in the project for every key)")


async def doctor(settings: Settings, *, server: str | None = None, probe: bool = False) -> list[Check]:
    """Every check's result, in order."""
    checks = [Check("config readable", True, str(settings.config_path))]
    url = remote.server_url(settings, server)
    if await remote.bridge_answers(url):
        checks += await _through_server(url, settings, probe)
    else:
        if server:
            log.warning("no bridge answers at %s; checking with a browser of its own", url)
        checks += await _standalone(settings, probe)
    return checks


# -- through a running bridge ---------------------------------------------------------------


async def _through_server(url: str, settings: Settings, probe: bool) -> list[Check]:
    response = await remote.post(url, "/internal/doctor", settings, None, timeout=60)
    if response.status_code != 200:
        return [Check("bridge answers", False, remote.error_message(response), "check the bridge's log")]
    body = response.json()
    facts, accounts = body["page"], body["accounts"]
    where = f"the bridge at {url}"
    if facts["state"] == CRASHED:
        browser = Check("browser launchable", False, f"{where}: {facts['detail']}", _BROWSER_HINT)
    else:
        browser = Check("browser found and launchable", True, f"{where} runs its browser")
    checks = [browser, *_page_checks(facts, settings)]
    if probe:
        checks.append(await _probe_through(url, settings, facts))
    checks.append(_cooldowns([(a["name"], float(a["cooldown_seconds_left"])) for a in accounts]))
    return checks


async def _probe_through(url: str, settings: Settings, facts: dict[str, Any]) -> Check:
    model = (facts.get("first_model") or {}).get("name")
    if not model:
        return Check("round trip", False, "no text model to ask", "run `lmarena-bridge models --refresh`")
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    body = {"model": model, "messages": [{"role": "user", "content": PROBE_PROMPT}], "max_tokens": 5}
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT, trust_env=False) as client:
            response = await client.post(f"{url}/v1/chat/completions", json=body, headers=headers)
    except httpx.HTTPError as exc:
        return Check("round trip", False, f"{type(exc).__name__}: {exc}", "check the bridge's log")
    if response.status_code != 200:
        return Check("round trip", False, remote.error_message(response), "see README Troubleshooting")
    text = response.json()["choices"][0]["message"]["content"] or ""
    return Check("round trip", True, f"{model} answered {text[:40]!r}")


# -- with a browser of its own --------------------------------------------------------------


async def _standalone(settings: Settings, probe: bool) -> list[Check]:
    options = launch_options(settings, settings.profile_paths[0])  # as `serve` would run it
    try:
        executable = await locate_browser(options)
    except BrowserNotFound as exc:
        return [Check("browser found", False, str(exc), _BROWSER_HINT)]
    found = executable or "Playwright's Chromium"
    try:
        async with open_arena_page(settings.arena_url, options) as page:
            checks = [Check("browser found and launchable", True, f"{found} on profile {options.profile_dir}")]
            facts = (await _settled_facts(page)).to_json()
            checks += _page_checks(facts, settings)
            if probe:
                checks.append(await _probe_standalone(page, settings, facts))
    except BrowserError as exc:
        return [Check("browser found and launchable", False, f"{found}: {exc}", _BROWSER_HINT)]
    store = CooldownStore(settings.accounts_state_path)
    names = settings.profiles or [settings.profile_dir]
    checks.append(_cooldowns([(n, store.left(str(p))) for n, p in zip(names, settings.profile_paths, strict=True)]))
    return checks


async def _settled_facts(page: ArenaPage) -> Any:
    """The page's facts once it stopped starting (or SETTLE_TIMEOUT passed); a challenge, or a page
    caught mid-navigation, gets CHALLENGE_SETTLE seconds to clear by itself, as Cloudflare's managed
    check does in a person's browser."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    facts = await page_facts(page)
    while loop.time() - started < SETTLE_TIMEOUT:
        settling = facts.state == STARTING and facts.loaded
        clearing = (facts.state == CHALLENGE or not facts.loaded) and loop.time() - started < CHALLENGE_SETTLE
        if not (settling or clearing):
            break
        await asyncio.sleep(0.5)
        facts = await page_facts(page)
    return facts


async def _probe_standalone(page: ArenaPage, settings: Settings, facts: dict[str, Any]) -> Check:
    first = facts.get("first_model")
    if not first:
        return Check("round trip", False, "no text model to ask", "run `lmarena-bridge models --refresh`")
    pool = AccountPool.of_pages([page], settings.accounts_state_path)
    request = build_create_request([ArenaMessage("user", PROBE_PROMPT)], first["id"])
    pieces: list[str] = []
    try:
        async with pool.turn(settings) as account:
            stream = account.page.stream(request, timeout=min(PROBE_TIMEOUT, settings.stream_response_timeout_seconds))
            async with aclosing(stream):
                async for event in stream:
                    if isinstance(event, TextDelta):
                        pieces.append(event.text)
    except (BridgeError, BrowserError) as exc:
        return Check("round trip", False, str(exc), "see README Troubleshooting")
    return Check("round trip", True, f"{first['name']} answered {''.join(pieces)[:40]!r}")


# -- the page's facts, wherever they come from -------------------------------------------------

_BROWSER_HINT = (
    "install Chromium (`.venv/bin/playwright install chromium` or your system's chromium), or set browser_executable"
)


def _page_checks(facts: dict[str, Any], settings: Settings) -> list[Check]:
    url = settings.arena_url
    if not facts["loaded"]:
        return [
            Check(
                "arena reachable",
                False,
                f"{url} did not open ({facts['detail']})",
                "check the network, arena_url, or set `proxy` in config.jsonc",
            )
        ]
    checks = [Check("arena reachable", True, facts["url"])]
    if facts["challenge"]:
        checks.append(
            Check(
                "Cloudflare passed",
                False,
                "the arena shows a Cloudflare challenge",
                "run `lmarena-bridge login` (or `serve --headed`) and pass it by hand",
            )
        )
        return checks
    checks.append(Check("Cloudflare passed", True, "no challenge page"))
    checks.append(
        Check("logged in", True, "the arena auth cookie is set")
        if facts["logged_in"]
        else Check("logged in", False, "no arena auth cookie", "run `lmarena-bridge login` (or import-cookies)")
    )
    signals = []
    if facts["webdriver"]:
        signals.append("navigator.webdriver is true")
    if "Headless" in facts["user_agent"]:
        signals.append(f"the User-Agent says Headless ({facts['user_agent']})")
    checks.append(
        Check("bot signals clean", False, "; ".join(signals), "set browser_mode to virtual_display or headed")
        if signals
        else Check("bot signals clean", True, "navigator.webdriver false, no Headless in the User-Agent")
    )
    checks.append(
        Check("reCAPTCHA site key found", True, facts["site_key"])
        if facts["site_key"]
        else Check(
            "reCAPTCHA site key found",
            False,
            "no reCAPTCHA Enterprise script on the page",
            "the site changed: update RECAPTCHA_SITE_KEY_RE in browser/arena.py, or use the retry protocol",
        )
    )
    checks.append(
        Check("model list found", True, f"{facts['models']} models")
        if facts["models"]
        else Check(
            "model list found",
            False,
            "the page carries no model list",
            "the site changed: see protocol.md 'Models'; models.json keeps working meanwhile",
        )
    )
    return checks


def _cooldowns(accounts: Sequence[tuple[str, float]]) -> Check:
    cooling = [(name, left) for name, left in accounts if left > 0]
    if not cooling:
        return Check("account cooldown", True, f"no account cooling down ({len(accounts)} account(s))")
    said = ", ".join(f"{name} for {left:.0f} s more" for name, left in cooling)
    return Check(
        "account cooldown",
        False,
        f"the arena flagged: {said}",
        "wait for it to end (sending more extends it), or add another account to `profiles`",
    )
