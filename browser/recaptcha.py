"""Mint a reCAPTCHA Enterprise token with the page's own `grecaptcha` (protocol.md section 2).

`grecaptcha` lives in the page's main world, where the bridge's page logic does not:
mint.js is evaluated there as one expression that defines nothing and leaves nothing
behind. A token that cannot be minted is `ArenaFailure(FailureKind.RECAPTCHA)`.
"""

from __future__ import annotations

import json
from importlib import resources

from .arena import ArenaRequest
from .channel import PageChannel
from .errors import ArenaFailure, FailureKind

SLACK = 5.0  # seconds beyond the spec's own deadline before the evaluation counts as stuck


def _mint_js() -> str:
    return resources.files(__package__).joinpath("mint.js").read_text("utf-8")


async def with_fresh_token(channel: PageChannel, request: ArenaRequest) -> ArenaRequest:
    """`request` with a fresh token in its body; unchanged if it needs none."""
    spec = request.recaptcha
    if spec is None:
        return request
    source = "\n".join(line for line in _mint_js().splitlines() if not line.startswith("//"))
    expression = f"({source})({json.dumps(spec.to_page())})"
    result = await channel.evaluate_in_main_world(expression, timeout=spec.timeout_ms / 1000 + SLACK)
    if not isinstance(result, dict) or not isinstance(result.get("token"), str):
        message = result.get("error") if isinstance(result, dict) else "no answer"
        raise ArenaFailure(FailureKind.RECAPTCHA, f"no reCAPTCHA token could be minted in the page: {message}")
    return request.with_token(result["token"])
