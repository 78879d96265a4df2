"""The model list read from the arena page: at start-up, by endpoint and by `lmarena-bridge models`."""

from __future__ import annotations

import json
import socket

import httpx
import json5
import pytest

from tests.fake_arena import DALLE_ID, MODEL_IDS
from tests.headed import run_cli, wait_for, write_config

ALL_NAMES = list(MODEL_IDS)


def refresh(bridge, **kwargs) -> httpx.Response:
    return httpx.post(f"{bridge.url}/internal/models/refresh", timeout=60, **kwargs)


def models_json(bridge) -> dict:
    return json5.loads((bridge.folder / "models.json").read_text())


def test_refresh_writes_the_arenas_full_model_objects_to_available_models_json(make_bridge, arena):
    bridge = make_bridge(models={})
    response = refresh(bridge)
    assert response.status_code == 200
    assert response.json() == {"models": len(arena.models), "added": ALL_NAMES}
    assert json.loads((bridge.folder / "available_models.json").read_text()) == arena.models


def test_refresh_adds_new_names_marks_image_models_and_keeps_the_users_entries(make_bridge, arena):
    bridge = make_bridge(models={})
    user_file = (
        "{\n"
        "  // my own alias\n"
        '  "my-alias": "11111111-2222-4333-8444-555555555555",\n'
        '  "gpt-4o-2024-08-06": "my-own-value",\n'
        "}\n"
    )
    (bridge.folder / "models.json").write_text(user_file)
    added = refresh(bridge).json()["added"]
    assert added == [name for name in ALL_NAMES if name != "gpt-4o-2024-08-06"]
    text = (bridge.folder / "models.json").read_text()
    assert text.startswith(user_file[: user_file.index('"my-own-value",') + len('"my-own-value",')])
    data = json5.loads(text)
    assert data["my-alias"] == "11111111-2222-4333-8444-555555555555"
    assert data["gpt-4o-2024-08-06"] == "my-own-value"
    assert data["dall-e-3"] == f"{DALLE_ID}:image"
    assert data["gemini-2.5-pro"] == MODEL_IDS["gemini-2.5-pro"]


def test_a_second_refresh_adds_nothing_and_leaves_models_json_as_it_is(make_bridge):
    bridge = make_bridge(models={})
    refresh(bridge)
    before = (bridge.folder / "models.json").read_bytes()
    assert refresh(bridge).json()["added"] == []
    assert (bridge.folder / "models.json").read_bytes() == before


def test_v1_models_lists_the_refreshed_models_owned_by_their_organization(make_bridge):
    bridge = make_bridge(models={})
    refresh(bridge)
    with bridge.client() as client:
        owners = {m.id: m.owned_by for m in client.models.list().data}
    assert owners["claude-3-5-sonnet-20241022"] == "anthropic"
    assert owners["gemini-2.5-pro"] == "google"
    assert owners["dall-e-3"] == "openai"
    assert set(owners) == set(ALL_NAMES)


def test_start_up_fills_the_model_files_when_auto_update_models_is_on(make_bridge):
    bridge = make_bridge(models={}, auto_update_models=True)

    def listed() -> set[str]:
        with bridge.client() as client:
            return {m.id for m in client.models.list().data}

    assert wait_for(lambda: listed() == set(ALL_NAMES), "the start-up refresh")
    assert (bridge.folder / "available_models.json").exists()


def test_a_page_without_a_model_list_is_a_warning_not_a_crash(make_bridge, arena):
    bridge = make_bridge(models={"kept": "11111111-2222-4333-8444-555555555555"})
    arena.models = []
    response = refresh(bridge)
    assert response.status_code == 200
    assert response.json() == {"models": 0, "added": []}
    assert models_json(bridge) == {"kept": "11111111-2222-4333-8444-555555555555"}
    assert not (bridge.folder / "available_models.json").exists()
    assert "has no model list" in bridge.log()
    assert bridge.wait_healthy()["status"] == "ok"


def test_start_up_with_no_model_list_on_the_page_only_warns(make_bridge, arena):
    arena.models = []
    bridge = make_bridge(models={}, auto_update_models=True)
    wait_for(lambda: "has no model list" in bridge.log(), "the start-up warning")
    assert bridge.wait_healthy()["status"] == "ok"
    assert models_json(bridge) == {}


def test_models_refresh_command_goes_through_the_running_server_and_prints_a_table(make_bridge):
    bridge = make_bridge(models={})
    result = run_cli("models", "--refresh", "--config", str(bridge.config_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"the bridge at {bridge.url}: {len(ALL_NAMES)} models on the arena, {len(ALL_NAMES)} added"
    )
    assert lines[1].split() == ["MODEL", "ORGANIZATION", "KIND", "ID"]
    assert lines[2].split() == ["gpt-4o-2024-08-06", "openai", "text", MODEL_IDS["gpt-4o-2024-08-06"]]
    assert any(line.split()[:3] == ["dall-e-3", "openai", "image"] for line in lines)
    assert set(models_json(bridge)) == set(ALL_NAMES)


def test_models_refresh_command_without_a_server_reads_the_page_in_its_own_headless_browser(tmp_path, arena):
    config = write_config(tmp_path, arena.url)
    result = run_cli("models", "--refresh", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{arena.url}: {len(ALL_NAMES)} models on the arena, {len(ALL_NAMES)} added")
    assert set(json5.loads((tmp_path / "models.json").read_text())) == set(ALL_NAMES)
    assert json.loads((tmp_path / "available_models.json").read_text()) == arena.models


def test_models_command_without_refresh_lists_models_json_without_a_browser(tmp_path, arena):
    config = write_config(tmp_path, arena.url, browser_executable="/nonexistent/chromium")
    (tmp_path / "models.json").write_text('{"mine": "11111111-2222-4333-8444-555555555555:image"}')
    result = run_cli("models", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split() == ["mine", "-", "image", "11111111-2222-4333-8444-555555555555"]


@pytest.mark.parametrize("path", ["/internal/models/refresh", "/internal/capture"])
def test_internal_endpoints_need_the_api_key_when_one_is_set(bridge, path):
    bridge.write_config(api_key="sekrit")
    body = {"timeout": 0.1}
    assert httpx.post(f"{bridge.url}{path}", json=body, timeout=30).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.post(f"{bridge.url}{path}", json=body, headers=wrong, timeout=30).status_code == 401
    right = {"Authorization": "Bearer sekrit"}
    assert httpx.post(f"{bridge.url}{path}", json=body, headers=right, timeout=30).status_code in (200, 408)


@pytest.mark.parametrize("path", ["/internal/models/refresh", "/internal/capture"])
def test_internal_endpoints_refuse_requests_relayed_by_a_proxy(bridge, path):
    response = httpx.post(
        f"{bridge.url}{path}", json={"timeout": 0.1}, headers={"X-Forwarded-For": "203.0.113.9"}, timeout=30
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "loopback_only"


def outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_internal_endpoints_refuse_clients_that_are_not_on_loopback(make_bridge):
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    bridge = make_bridge(host="0.0.0.0")
    response = httpx.post(f"http://{address}:{bridge.port}/internal/models/refresh", timeout=30)
    assert response.status_code == 403
    assert httpx.get(f"http://{address}:{bridge.port}/health", timeout=30).status_code == 200
