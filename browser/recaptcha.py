"""Mint a reCAPTCHA Enterprise token with the page's own `grecaptcha` (protocol.md section 2).

`grecaptcha` lives in the page's main world, where the bridge's page logic does not:
mint.js (v3) and mint_v2.js (the v2 fallback's invisible widget) are evaluated there as one
expression each that defines nothing and leaves nothing behind. The v2 site key is found by
page.js in the isolated world (it may need the page's script files). A token that cannot be
minted is `ArenaFailure(FailureKind.RECAPTCHA)`; a v2 image challenge nobody solved is
`ArenaFailure(FailureKind.RECAPTCHA_CHALLENGE)`.
"""

from __future__ import annotations

import json
from importlib import resources

from .arena import ArenaRequest, RecaptchaSpec
from .channel import PageChannel
from .errors import ArenaFailure, FailureKind

SLACK = 5.0  # seconds beyond the spec's own deadline before the evaluation counts as stuck


def _script(name: str) -> str:
    source = resources.files(__package__).joinpath(name).read_text("utf-8")
    return "\n".join(line for line in source.splitlines() if not line.startswith("//"))


async def with_fresh_token(channel: PageChannel, request: ArenaRequest) -> ArenaRequest:
    """`request` with a fresh token in its body; unchanged if it needs none."""
    spec = request.recaptcha
    if spec is None:
        return request
    if spec.version == 2:
        return request.with_token(await _mint_v2(channel, spec))
    expression = f"({_script('mint.js')})({json.dumps(spec.to_page())})"
    result = await channel.evaluate_in_main_world(expression, timeout=spec.timeout_ms / 1000 + SLACK)
    if not isinstance(result, dict) or not isinstance(result.get("token"), str):
        message = result.get("error") if isinstance(result, dict) else "no answer"
        raise ArenaFailure(FailureKind.RECAPTCHA, f"no reCAPTCHA token could be minted in the page: {message}")
    return request.with_token(result["token"])


async def _mint_v2(channel: PageChannel, spec: RecaptchaSpec) -> str:
    """A v2 token from an invisible widget rendered with the v2 site key found in the page."""
    page_spec = spec.to_page()
    key = await channel.call("findV2SiteKey", page_spec, timeout=spec.timeout_ms / 1000 + SLACK, wait=True)
    if not isinstance(key, str) or not key:
        raise ArenaFailure(
            FailureKind.RECAPTCHA,
            "no reCAPTCHA token could be minted in the page: no reCAPTCHA v2 site key found in the arena page",
        )
    expression = f"({_script('mint_v2.js')})({json.dumps([key, page_spec])})"
    wait_s = max(spec.timeout_ms, spec.challenge_wait_ms) / 1000 + SLACK
    result = await channel.evaluate_in_main_world(expression, timeout=wait_s)
    if isinstance(result, dict) and isinstance(result.get("token"), str) and result["token"]:
        return str(result["token"])
    message = result.get("error") if isinstance(result, dict) else "no answer"
    if isinstance(result, dict) and result.get("needsPerson"):
        raise ArenaFailure(FailureKind.RECAPTCHA_CHALLENGE, f"reCAPTCHA v2 shows a challenge: {message}")
    raise ArenaFailure(FailureKind.RECAPTCHA, f"no reCAPTCHA token could be minted in the page: {message}")
