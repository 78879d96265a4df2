"""`lmarena-bridge`: serve the API; log in, capture ids and list models."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .config import ConfigError, Settings, load_settings

log = logging.getLogger(__name__)


class CommandError(Exception):
    """An expected failure: printed as one line, exit status 1 (or .status)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _settings(args: argparse.Namespace, *keys: str) -> Settings:
    cli = {key: getattr(args, key, None) for key in ("config", *keys)}
    if getattr(args, "headed", False):
        cli["headless"] = False
    settings = load_settings(cli)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def cmd_serve(args: argparse.Namespace) -> None:
    """Run the OpenAI-compatible server (headless browser unless --headed).

    Example: lmarena-bridge serve --port 5102
    """
    from .server import serve

    settings = _settings(args, "host", "port", "arena_url", "profile_dir")
    asyncio.run(serve(settings, cli={k: getattr(args, k) for k in ("host", "port", "arena_url", "profile_dir")}))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="path of config.jsonc (default: ./config.jsonc or $LMARENA_BRIDGE_CONFIG)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmarena-bridge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands_table: list[tuple[str, Callable[[argparse.Namespace], Any]]] = [("serve", cmd_serve)]
    for name, func in commands_table:
        sub = commands.add_parser(name, help=func.__doc__.splitlines()[0], description=func.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(func=func)
        _common(sub)
    serve = commands.choices["serve"]
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 5102)")
    serve.add_argument("--arena-url", dest="arena_url", help="arena site (default https://lmarena.ai)")
    serve.add_argument("--profile-dir", dest="profile_dir", help="browser profile folder")
    serve.add_argument("--headed", action="store_true", help="show the browser window")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ConfigError, CommandError) as exc:
        print(f"lmarena-bridge: {exc}", file=sys.stderr)
        return getattr(exc, "status", 1)
    except KeyboardInterrupt:
        return 130
    return 0
