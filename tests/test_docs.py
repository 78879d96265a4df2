"""The READMEs document exactly the config keys, and every command, option and variable, that exist."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import json5
import pytest

from bridge.cli import COMMANDS, build_parser
from bridge.config import CONFIG_ENV, ENV_KEYS

ROOT = Path(__file__).resolve().parent.parent
READMES = ["README.md", "README.zh-CN.md"]
KEY_ROW = re.compile(r"^\|\s*`([a-z][a-z0-9_]*)`\s*\|", re.MULTILINE)


def text(name: str) -> str:
    return (ROOT / name).read_text("utf-8")


def config_section(readme: str) -> str:
    """The `## ... (config.jsonc)` section: from its heading to the next `## ` heading."""
    match = re.search(r"^## [^\n]*\(config\.jsonc\)\n(.*?)(?=^## |\Z)", readme, re.MULTILINE | re.DOTALL)
    assert match, "no '## ... (config.jsonc)' section"
    return match.group(1)


def cli_options() -> dict[str, set[str]]:
    (subparsers,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return {
        name: {o for action in sub._actions for o in action.option_strings if o.startswith("--") and o != "--help"}
        for name, sub in subparsers.choices.items()
    }


@pytest.mark.parametrize("readme", READMES)
def test_the_config_table_lists_exactly_the_keys_of_config_jsonc(readme):
    keys = set(json5.loads(text("config.jsonc")))
    documented = KEY_ROW.findall(config_section(text(readme)))
    assert len(documented) == len(set(documented)), "a key is listed twice"
    assert set(documented) == keys, (
        f"missing: {sorted(keys - set(documented))}, unknown: {sorted(set(documented) - keys)}"
    )


@pytest.mark.parametrize("readme", READMES)
def test_every_cli_command_and_option_is_mentioned(readme):
    body = text(readme)
    assert not [name for name in COMMANDS if f"lmarena-bridge {name}" not in body]
    options = set().union(*cli_options().values())
    assert not sorted(o for o in options if o not in body)


@pytest.mark.parametrize("readme", READMES)
def test_every_environment_variable_is_mentioned(readme):
    body = text(readme)
    assert not sorted(name for name in [*ENV_KEYS, CONFIG_ENV] if f"`{name}`" not in body)


@pytest.mark.parametrize("readme", READMES)
def test_the_nginx_example_keeps_streaming_and_hides_the_internal_routes(readme):
    nginx = re.search(r"```nginx\n(.*?)```", text(readme), re.DOTALL)
    assert nginx, "no nginx example"
    assert "proxy_buffering off;" in nginx.group(1)
    assert "location /internal/ { return 404; }" in nginx.group(1)


def test_each_readme_links_the_other():
    assert "(README.zh-CN.md)" in text("README.md")
    assert "(README.md)" in text("README.zh-CN.md")
