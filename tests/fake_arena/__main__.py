"""Serve the fake arena by hand, to try the bridge without an account or a network.

    python -m tests.fake_arena            # prints its URL; Ctrl-C stops it
    python -m tests.fake_arena --http2    # HTTPS + HTTP/2 with a self-signed certificate

Then, in another terminal:

    lmarena-bridge serve --arena-url <the URL it printed>

The fake logs the browser in by itself, lists a few models, and echoes the last user
message ("echo: ..."). Its Cloudflare-like gate (gate.py) lets a browser in once the page's
bot check passes; `--no-gate` turns it off, `--pass-agent UA` prints a clearance cookie for
a plain HTTP client that sends that User-Agent.
"""

import argparse
import json
import threading

from .models import model_modality
from .replies import Reply
from .server import FakeArena

parser = argparse.ArgumentParser(prog="python -m tests.fake_arena", description=__doc__.splitlines()[0])
parser.add_argument("--http2", action="store_true", help="serve HTTPS with HTTP/2 (set ignore_https_errors)")
parser.add_argument("--trickle", type=int, metavar="N", help="answer everything with N one-letter chunks")
parser.add_argument("--delay", type=float, default=0.02, help="seconds between --trickle chunks (default 0.02)")
parser.add_argument("--no-gate", action="store_true", help="serve every client, with no Cloudflare-like gate")
parser.add_argument("--pass-agent", metavar="UA", help="also print a cf_clearance cookie for this User-Agent")
args = parser.parse_args()

with FakeArena(http2=args.http2, gate=not args.no_gate) as arena:
    if args.trickle:
        arena.standing_reply = Reply.trickle("x" * args.trickle, delay=args.delay)
    print(f"fake arena at: {arena.url}", flush=True)
    print(f"auth cookie: {arena.auth_cookie_value}", flush=True)
    print("old host (301 to the above):", arena.old_url, flush=True)
    suffixes = {"image": ":image", "search": ":search"}
    entries = {m["publicName"]: m["id"] + suffixes.get(model_modality(m), "") for m in arena.models}
    print("models.json for it:", json.dumps(entries), flush=True)
    if args.pass_agent:
        print(f"cf_clearance: {arena.cleared_cookies(args.pass_agent)['cf_clearance']}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
