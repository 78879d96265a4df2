"""The fake arena's Cloudflare-like gate, and the page's own look at the browser.

protocol.md "Browsers and bot checks": the site sits behind Cloudflare. The gate
(on unless ``FakeArena(gate=False)``) does what matters of it for the bridge:

- Any request whose ``User-Agent`` or ``Sec-CH-UA`` says ``Headless`` is blocked
  (403, Cloudflare's "Sorry, you have been blocked" page).
- The page and the API need a ``cf_clearance`` cookie, bound to the User-Agent it was
  issued to. Without one the page answers 403 with a "Just a moment..." challenge
  whose script runs BotD (static/botd.esm.js) and the classic checks in the page and
  posts them to ``VERIFY_PATH``; only a browser that looks like a person's (BotD
  ``bot: false``, ``navigator.webdriver`` false, no Headless brand or user agent,
  plugins and ``window.chrome`` present) gets the cookie, and the page reloads itself.
  The API without clearance answers the challenge (403, ``cf-mitigated: challenge``).

Every page of the arena also runs the same checks as the site's own scripts would, at
load and again after each ``grecaptcha.enterprise.execute`` (that is when the bridge
has just evaluated something in the page's world), and posts them to ``PROBE_PATH``:
``arena.gate.page_reports``. ``arena.gate.user_agents`` holds every User-Agent and
Sec-CH-UA value any request carried.
"""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).with_name("static")
BOTD_PATH = "/fake/static/botd.esm.js"
VERIFY_PATH = "/cdn-cgi/challenge-platform/verify"
PROBE_PATH = "/fake/probe"
CLEARANCE_COOKIE = "cf_clearance"
PAGE_GLOBALS = ("__next_f", "__fakeArenaProbe")

# The checks, as a page script sees the browser. `full` adds BotD (slower: once per page).
CHECK_JS = """
const automationGlobals = () => Object.getOwnPropertyNames(window)
  .filter((k) => /^(__|\\$cdc_|cdc_)/.test(k) && !PAGE_GLOBALS.includes(k));
async function lookAtTheBrowser(full) {
  const out = {
    ua: navigator.userAgent,
    appVersion: navigator.appVersion,
    webdriver: navigator.webdriver,
    brands: navigator.userAgentData ? navigator.userAgentData.brands.map((b) => b.brand) : null,
    plugins: navigator.plugins.length,
    languages: navigator.languages,
    chrome: typeof window.chrome === "object",
    window: [innerWidth, innerHeight, outerWidth, outerHeight, screen.width, screen.height],
    fetchNative: /\\[native code\\]/.test(Function.prototype.toString.call(window.fetch)),
    globals: automationGlobals(),
  };
  if (full) {
    out.workerUa = await new Promise((resolve) => {
      const worker = new Worker(URL.createObjectURL(new Blob(["postMessage(navigator.userAgent)"])));
      worker.onmessage = (e) => { resolve(e.data); worker.terminate(); };
      setTimeout(() => resolve(null), 2000);
    });
    try {
      const { load } = await import("BOTD_PATH");
      const botd = await load({ monitoring: false });
      out.botd = botd.detect();
      out.botdHits = Object.entries(botd.getDetections() || {})
        .filter(([, v]) => v && v.bot).map(([k, v]) => k + ":" + v.botKind);
    } catch (e) {
      out.botd = { error: String(e) };
    }
  }
  return out;
}
""".replace("PAGE_GLOBALS", json.dumps(list(PAGE_GLOBALS))).replace("BOTD_PATH", BOTD_PATH)

CHALLENGE_SCRIPT = (
    CHECK_JS
    + """
(async () => {
  const report = await lookAtTheBrowser(true);
  const response = await fetch("VERIFY_PATH", { method: "POST", body: JSON.stringify(report) });
  document.getElementById("challenge-running").textContent = response.ok
    ? "Verification successful. Waiting for the site to respond..." : "Verification failed.";
  if (response.ok) location.reload();
})();
""".replace("VERIFY_PATH", VERIFY_PATH)
)

PAGE_PROBE = (
    "<script>"
    + CHECK_JS
    + """
window.__fakeArenaProbe = async (when) => {
  const report = { when, ...(await lookAtTheBrowser(when === "load")) };
  await fetch("PROBE_PATH", { method: "POST", body: JSON.stringify(report) });
};
window.__fakeArenaProbe("load");
</script>""".replace("PROBE_PATH", PROBE_PATH)
)

CHALLENGE_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
    '<meta name="robots" content="noindex,nofollow"></head><body>'
    '<div class="main-wrapper" role="main"><div class="main-content">'
    '<h1 class="zone-name-title h1">lmarena.ai</h1>'
    '<h2 class="h2" id="challenge-running">Verifying you are human. This may take a few seconds.</h2>'
    '<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>'
    '<div id="challenge-body-text">Enable JavaScript and cookies to continue</div>'
    "</div></div>"
    "<script>window._cf_chl_opt={cvId:'3',cType:'managed',cRay:'8f00fake'};</script>"
    f"<script>{CHALLENGE_SCRIPT}</script>"
    "</body></html>"
)

BLOCKED_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Attention Required! | Cloudflare</title></head>'
    '<body><h1 data-translate="block_headline">Sorry, you have been blocked</h1>'
    "<h2>You are unable to access lmarena.ai</h2></body></html>"
)


def says_headless(headers: dict[str, str]) -> bool:
    return any("headless" in headers.get(name, "").lower() for name in ("user-agent", "sec-ch-ua"))


def verdict_problems(report: Any) -> list[str]:
    """Why a challenge report is not a person's browser (empty: it passes)."""
    if not isinstance(report, dict):
        return ["the report is not a JSON object"]
    problems = []
    botd = report.get("botd")
    if not (isinstance(botd, dict) and botd.get("bot") is False):
        problems.append(f"BotD says {botd!r} ({report.get('botdHits')})")
    if report.get("webdriver") is not False:
        problems.append(f"navigator.webdriver is {report.get('webdriver')!r}")
    if "Headless" in str(report.get("ua")) or any("Headless" in str(b) for b in report.get("brands") or []):
        problems.append("the page's user agent or client hints say Headless")
    if not report.get("plugins") or not report.get("chrome"):
        problems.append("no plugins or no window.chrome")
    return problems


class Gate:
    """The gate's state: clearances issued, and what browsers showed. Thread-safe."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._clearances: dict[str, str] = {}  # cookie value -> the User-Agent it was issued to
        self._user_agents: set[str] = set()
        self._verdicts: list[dict[str, Any]] = []
        self._page_reports: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Forget what was seen; clearances stay (a cleared browser stays cleared, as on the site)."""
        with self._lock:
            self._user_agents.clear()
            self._verdicts.clear()
            self._page_reports.clear()

    @property
    def user_agents(self) -> set[str]:
        """Every User-Agent and Sec-CH-UA header value seen."""
        with self._lock:
            return set(self._user_agents)

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        """Each challenge report with its ``problems`` (empty: cleared)."""
        with self._lock:
            return list(self._verdicts)

    @property
    def page_reports(self) -> list[dict[str, Any]]:
        """What the arena page's own scripts saw of the browser (``when``: load | execute)."""
        with self._lock:
            return list(self._page_reports)

    def note(self, headers: dict[str, str]) -> None:
        with self._lock:
            self._user_agents.update(headers[n] for n in ("user-agent", "sec-ch-ua") if n in headers)

    def is_cleared(self, headers: dict[str, str], cookies: dict[str, str]) -> bool:
        if not self.enabled:
            return True
        with self._lock:
            issued_to = self._clearances.get(cookies.get(CLEARANCE_COOKIE, ""))
        return issued_to is not None and issued_to == headers.get("user-agent")

    def clear(self, user_agent: str) -> str:
        """Issue a clearance for `user_agent`; the cookie value."""
        value = secrets.token_urlsafe(24) + "-1700000000-1.2.1.1"
        with self._lock:
            self._clearances[value] = user_agent
        return value

    def verify(self, headers: dict[str, str], body: str) -> str | None:
        """A challenge report: the clearance cookie's value if it passes, else None."""
        try:
            report = json.loads(body)
        except ValueError:
            report = None
        problems = verdict_problems(report)
        with self._lock:
            self._verdicts.append({"report": report, "problems": problems})
        return None if problems else self.clear(headers.get("user-agent", ""))

    def page_report(self, body: str) -> None:
        try:
            report = json.loads(body)
        except ValueError:
            return
        if isinstance(report, dict):
            with self._lock:
                self._page_reports.append(report)


def botd_source() -> bytes:
    return (STATIC_DIR / "botd.esm.js").read_bytes()
