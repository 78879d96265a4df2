"""`lmarena-bridge`: serve the OpenAI API; log in, capture ids, list models, import cookies, doctor.

Commands are thin: they read the settings and hand over to one module each.
Expected failures print one line (`lmarena-bridge: ...`) and exit non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from browser.arena import DEFAULT_ARENA_URL

from .commands.capture import capture
from .commands.doctor import config_failed, doctor, report
from .commands.errors import EXPECTED_FAILURES, CommandError
from .commands.import_cookies import import_cookies
from .commands.login import login
from .commands.models import models_command
from .commands.serve import serve
from .config import ConfigError, ConfigSource, ConfigStore, Settings

log = logging.getLogger(__name__)


def _source(args: argparse.Namespace) -> ConfigSource:
    """The settings' source: this command's flags over the environment over the config file."""
    keys = ("config", "host", "port", "arena_url", "profile_dir")
    cli = {key: getattr(args, key, None) for key in keys}
    if getattr(args, "headed", False):
        cli["headless"] = False
    return ConfigSource(cli)


def _settings(args: argparse.Namespace) -> Settings:
    settings = _source(args).load()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def cmd_serve(args: argparse.Namespace) -> None:
    """Run the OpenAI-compatible server (the browser is headless unless --headed).

    Example: lmarena-bridge serve --port 5102
    """
    settings = _settings(args)
    ready = lambda: print(f"lmarena-bridge is serving the OpenAI API at {settings.base_url}", flush=True)  # noqa: E731
    asyncio.run(serve(ConfigStore(_source(args), settings), on_ready=ready))


def cmd_login(args: argparse.Namespace) -> None:
    """Open a browser window on the profile so you can log in and pass Cloudflare.

    Returns when the arena's auth cookie is present or the window is closed.
    Example: lmarena-bridge login
    """
    print(asyncio.run(login(_settings(args))))


def cmd_capture(args: argparse.Namespace) -> None:
    """Capture session ids: click Retry on the target model's answer in the arena page.

    Uses the running server's page when one answers at --server, else opens a window.
    Example: lmarena-bridge capture --mode battle --target B --model claude-3-5-sonnet-20241022
    """
    print(
        asyncio.run(
            capture(
                _settings(args),
                mode=args.mode,
                target=args.target,
                model=args.model,
                server=args.server,
                timeout=args.timeout,
            )
        )
    )


def cmd_models(args: argparse.Namespace) -> None:
    """List the models; with --refresh, read them from the arena page first.

    Example: lmarena-bridge models --refresh
    """
    print(asyncio.run(models_command(_settings(args), refresh=args.refresh, server=args.server)))


def cmd_import_cookies(args: argparse.Namespace) -> None:
    """Import a browser cookie export (JSON or Netscape cookies.txt) into the profile.

    For machines with no display: export cookies on a desktop, import them here.
    Example: lmarena-bridge import-cookies ~/Downloads/lmarena.ai_cookies.txt
    """
    print(asyncio.run(import_cookies(_settings(args), args.file)))


def cmd_doctor(args: argparse.Namespace) -> None:
    """Check each step from config to answer, one line each, with what to do when one fails.

    Uses the running server's page when one answers at --server, else a browser of its own.
    Exit status 0 only when every check passes. Example: lmarena-bridge doctor --probe
    """
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(config_failed(str(_source(args).path), exc).line())
        raise CommandError("doctor: the config is not readable") from exc
    checks = asyncio.run(doctor(settings, server=args.server, probe=args.probe))
    print(report(checks), flush=True)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise CommandError(f"doctor: {len(failed)} check(s) failed: {', '.join(failed)}")


COMMANDS = {
    "serve": cmd_serve,
    "login": cmd_login,
    "capture": cmd_capture,
    "models": cmd_models,
    "import-cookies": cmd_import_cookies,
    "doctor": cmd_doctor,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmarena-bridge", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    subs = {}
    for name, func in COMMANDS.items():
        doc = func.__doc__ or ""
        sub = commands.add_parser(
            name, help=doc.splitlines()[0], description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        sub.set_defaults(func=func)
        sub.add_argument("--config", help="config.jsonc to use (default ./config.jsonc or $LMARENA_BRIDGE_CONFIG)")
        subs[name] = sub
    for name in ("serve", "login", "capture", "models", "import-cookies", "doctor"):
        subs[name].add_argument("--profile-dir", dest="profile_dir", help="browser profile folder")
        subs[name].add_argument("--arena-url", dest="arena_url", help=f"arena site (default {DEFAULT_ARENA_URL})")
    serve = subs["serve"]
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 5102)")
    serve.add_argument("--headed", action="store_true", help="show the browser window")
    capture = subs["capture"]
    capture.add_argument("--mode", choices=["direct_chat", "battle"], help="mode of the conversation (default: config)")
    capture.add_argument("--target", choices=["A", "B"], type=str.upper, help="battle side of the target model")
    capture.add_argument("--model", help="append the ids to this model's pool in model_endpoint_map.json")
    capture.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the click (default 300)")
    for name in ("capture", "models", "doctor"):
        subs[name].add_argument("--server", help="a running bridge (default: the configured host and port)")
    subs["doctor"].add_argument("--probe", action="store_true", help="also send one tiny chat to the arena")
    subs["models"].add_argument("--refresh", action="store_true", help="read the model list from the arena page")
    subs["import-cookies"].add_argument("file", help="cookie export: JSON (extensions) or Netscape cookies.txt")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except EXPECTED_FAILURES as exc:
        print(f"lmarena-bridge: {exc}", file=sys.stderr)
        return getattr(exc, "status", 1)
    except KeyboardInterrupt:
        return 130
    return 0
