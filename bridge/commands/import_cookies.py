"""`lmarena-bridge import-cookies FILE`: log in on a machine with no display.

Export the arena's cookies on a desktop browser (a cookie-export extension's JSON,
or a Netscape `cookies.txt`), then import them here into the bridge's profile.
Only the arena's cookies are imported; the rest of the file is left out.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from browser import arena, open_profile
from browser.standalone import add_cookies

from ..config import Settings, launch_options
from .errors import CommandError

log = logging.getLogger(__name__)

# A cookie without an expiry would vanish when the importing browser closes; keep it this long.
SESSION_COOKIE_SECONDS = 30 * 24 * 3600
SAME_SITE = {"no_restriction": "None", "none": "None", "lax": "Lax", "strict": "Strict"}
NETSCAPE_HTTPONLY = "#HttpOnly_"
Cookie = dict[str, Any]


class CookieFileError(ValueError):
    """The file is not a cookie export this command understands."""


def parse_cookies(text: str) -> list[Cookie]:
    """Playwright cookies from an export: a JSON array / {"cookies": [...]}, or Netscape cookies.txt."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("[", "{")):
        return _from_json(stripped)
    return _from_netscape(text)


def _from_json(text: str) -> list[Cookie]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CookieFileError(f"not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("cookies")
    if not isinstance(data, list):
        raise CookieFileError('expected a JSON array of cookies (or {"cookies": [...]})')
    cookies = []
    for index, item in enumerate(data, 1):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("domain"), str)
        ):
            raise CookieFileError(f"cookie #{index} has no name and domain")
        expires = item.get("expirationDate", item.get("expires"))
        session = bool(item.get("session")) or not isinstance(expires, (int, float)) or expires <= 0
        cookies.append(
            _cookie(
                name=item["name"],
                value=str(item.get("value", "")),
                domain=item["domain"],
                subdomains=not item.get("hostOnly", not item["domain"].startswith(".")),
                path=str(item.get("path") or "/"),
                secure=bool(item.get("secure")),
                http_only=bool(item.get("httpOnly")),
                same_site=str(item.get("sameSite") or ""),
                expires=None if session or expires is None else float(expires),
            )
        )
    return cookies


def _from_netscape(text: str) -> list[Cookie]:
    cookies = []
    for number, line in enumerate(text.splitlines(), 1):
        http_only = line.startswith(NETSCAPE_HTTPONLY)
        if http_only:
            line = line[len(NETSCAPE_HTTPONLY) :]
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) == 6:  # an empty value with its tab trimmed
            fields.append("")
        expires = _number(fields[4]) if len(fields) == 7 else None
        if expires is None:
            raise CookieFileError(
                f"line {number} is not a cookies.txt line (domain, flag, path, secure, expiry, name, value "
                "separated by tabs)"
            )
        domain, subdomains, path, secure, _, name, value = fields
        cookies.append(
            _cookie(
                name=name,
                value=value,
                domain=domain,
                subdomains=subdomains.upper() == "TRUE",
                path=path or "/",
                secure=secure.upper() == "TRUE",
                http_only=http_only,
                same_site="",
                expires=expires if expires > 0 else None,
            )
        )
    if not cookies:
        raise CookieFileError("no cookies in it (expected extension JSON or Netscape cookies.txt)")
    return cookies


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _cookie(
    *,
    name: str,
    value: str,
    domain: str,
    subdomains: bool,
    path: str,
    secure: bool,
    http_only: bool,
    same_site: str,
    expires: float | None,
) -> Cookie:
    """One cookie in Playwright's `add_cookies` shape; `expires` None means a session cookie."""
    host = domain.strip().lstrip(".").lower()
    cookie: Cookie = {"name": name, "value": value, "secure": secure, "httpOnly": http_only}
    if name.startswith("__Host-"):  # must be host-only, on "/", and set through a URL
        cookie["url"] = f"https://{host}/"
    else:
        cookie["domain"] = f".{host}" if subdomains and not _is_ip(host) else host
        cookie["path"] = path
    cookie["expires"] = expires if expires is not None else time.time() + SESSION_COOKIE_SECONDS
    site = SAME_SITE.get(same_site.lower())
    if site and (site != "None" or secure):  # Chromium drops SameSite=None without Secure
        cookie["sameSite"] = site
    return cookie


def cookie_host(cookie: Cookie) -> str:
    return str(cookie.get("domain") or cookie["url"].split("/")[2])


def read_cookie_file(file: str | Path) -> list[Cookie]:
    path = Path(file).expanduser()
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return parse_cookies(text)
    except CookieFileError as exc:
        raise CommandError(f"{path} is not a cookie export: {exc}") from exc


async def import_cookies(settings: Settings, file: str | Path) -> str:
    """Add the file's arena cookies to the profile; report whether the arena auth cookie is there."""
    cookies = read_cookie_file(file)
    now = time.time()
    # Cloudflare's cookies belong to the machine that got them (user agent, address) and the
    # profile keeps its own: they are never imported.
    wanted = [
        c
        for c in cookies
        if arena.is_arena_cookie_domain(cookie_host(c), settings.arena_url)
        and c["name"] not in arena.CLOUDFLARE_COOKIES
    ]
    fresh = [c for c in wanted if c["expires"] > now]
    if not fresh:
        sites = ", ".join(sorted({urlsplit(settings.arena_url).hostname or "", *arena.ARENA_COOKIE_SITES}))
        why = "all of them have expired" if wanted else f"none is for {sites}"
        raise CommandError(f"{file}: no arena cookies to import ({why}); export them from an arena tab")
    added, names = await _add_to_profile(settings, fresh)
    left_out = len(cookies) - added
    report = f"imported {added} arena cookie{'' if added == 1 else 's'} into {settings.profile_path}" + (
        f" ({left_out} expired, refused or for other sites left out)" if left_out else ""
    )
    if not arena.has_auth_cookie(names):
        raise CommandError(
            f"{report}, but the arena auth cookie ({arena.AUTH_COOKIE}) is not among them: "
            "export the cookies again from an arena tab where you are logged in"
        )
    return f"{report}; the arena auth cookie ({arena.AUTH_COOKIE}) is present: `lmarena-bridge serve` will use it"


async def _add_to_profile(settings: Settings, cookies: list[Cookie]) -> tuple[int, list[str]]:
    """Open the profile headless and add the cookies: how many it took, and the names the arena now gets."""
    options = replace(launch_options(settings), headless=True)
    async with open_profile(options) as context:
        added = await add_cookies(context, cookies)
        return added, [c["name"] for c in await context.cookies(settings.arena_url)]
