"""Which session a request uses: model_endpoint_map.json pools, the old single entry, the global ids."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from bridge.config import Settings
from bridge.errors import InvalidRequest, ModelNotFound
from bridge.routing import ProtocolRouter, is_placeholder
from tests.bridge_process import entry, ids

GLOBAL_SESSION = "aaaaaaaa-0000-4000-8000-000000000001"
GLOBAL_MESSAGE = "aaaaaaaa-0000-4000-8000-000000000002"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


def settings(folder: Path, **values) -> Settings:
    defaults = {"session_id": GLOBAL_SESSION, "message_id": GLOBAL_MESSAGE}
    return Settings(**{**defaults, **values}, config_path=folder / "config.jsonc")


def picker(folder: Path, mapping: dict | None = None) -> ProtocolRouter:
    path = folder / "model_endpoint_map.json"
    if mapping is not None:
        path.write_text(json.dumps(mapping))
    return ProtocolRouter(path)


def test_a_pool_is_used_in_turn_and_evenly_over_many_requests(folder):
    chooser = picker(folder, {"m": [entry(1), entry(2), entry(3)]})
    picks = [chooser.pick(settings(folder), "m").session_id for _ in range(30)]
    assert Counter(picks) == {ids(1)[0]: 10, ids(2)[0]: 10, ids(3)[0]: 10}
    assert picks[:3] == [ids(1)[0], ids(2)[0], ids(3)[0]]


def test_each_model_has_its_own_turn(folder):
    chooser = picker(folder, {"m": [entry(1), entry(2)], "n": [entry(3), entry(4)]})
    chooser.pick(settings(folder), "m")
    assert chooser.pick(settings(folder), "n").session_id == ids(3)[0]


def test_an_old_single_object_entry_is_used_for_every_request(folder):
    chooser = picker(folder, {"m": entry(1)})
    picked = {chooser.pick(settings(folder), "m") for _ in range(3)}
    assert [(p.session_id, p.message_id) for p in picked] == [ids(1)]


def test_an_entrys_mode_and_target_are_its_own(folder):
    chooser = picker(folder, {"m": entry(1, mode="battle", battle_target="b")})
    picked = chooser.pick(settings(folder, id_updater_last_mode="direct_chat"), "m")
    assert (picked.mode, picked.battle_target) == ("battle", "B")


def test_an_entry_without_mode_takes_the_global_mode_and_target(folder):
    chooser = picker(folder, {"m": entry(1)})
    picked = chooser.pick(settings(folder, id_updater_last_mode="battle", id_updater_battle_target="B"), "m")
    assert (picked.mode, picked.battle_target) == ("battle", "B")


def test_a_model_not_in_the_map_uses_the_global_ids_when_allowed(folder):
    chooser = picker(folder, {"other": entry(1)})
    picked = chooser.pick(settings(folder, id_updater_last_mode="battle", id_updater_battle_target="B"), "m")
    assert (picked.session_id, picked.message_id, picked.mode, picked.battle_target) == (
        GLOBAL_SESSION,
        GLOBAL_MESSAGE,
        "battle",
        "B",
    )


def test_the_global_ids_apply_when_there_is_no_map_file(folder):
    assert picker(folder).pick(settings(folder), "m").session_id == GLOBAL_SESSION


def test_a_model_not_in_the_map_is_404_naming_the_file_when_defaults_are_off(folder):
    chooser = picker(folder, {"other": entry(1)})
    with pytest.raises(ModelNotFound) as caught:
        chooser.pick(settings(folder, use_default_ids_if_mapping_not_found=False), "m")
    assert caught.value.status == 404 and caught.value.code == "model_not_found"
    assert "model_endpoint_map.json" in caught.value.message
    assert "lmarena-bridge capture --model m" in caught.value.message


def test_an_empty_pool_counts_as_no_entry(folder):
    chooser = picker(folder, {"m": []})
    with pytest.raises(ModelNotFound):
        chooser.pick(settings(folder, use_default_ids_if_mapping_not_found=False), "m")


@pytest.mark.parametrize("session_id", ["", "YOUR_SESSION_ID", "<session id>", "session_for_battle_A"])
def test_placeholder_global_ids_are_400_saying_to_capture(folder, session_id):
    with pytest.raises(InvalidRequest) as caught:
        picker(folder).pick(settings(folder, session_id=session_id), "m")
    assert (caught.value.status, caught.value.code) == (400, "session_not_configured")
    assert "lmarena-bridge capture" in caught.value.message


def test_a_pool_of_only_placeholders_is_400_saying_to_capture(folder):
    chooser = picker(folder, {"m": [{"session_id": "YOUR_SESSION_ID", "message_id": "YOUR_MESSAGE_ID"}]})
    with pytest.raises(InvalidRequest) as caught:
        chooser.pick(settings(folder), "m")
    assert caught.value.code == "session_not_configured"
    assert "lmarena-bridge capture --model m" in caught.value.message


def test_placeholder_entries_in_a_pool_are_skipped(folder):
    chooser = picker(folder, {"m": [{"session_id": "", "message_id": ""}, entry(2)]})
    assert {chooser.pick(settings(folder), "m").session_id for _ in range(4)} == {ids(2)[0]}


def test_an_entry_with_an_unknown_mode_is_400_naming_the_file(folder):
    chooser = picker(folder, {"m": entry(1, mode="duel")})
    with pytest.raises(InvalidRequest) as caught:
        chooser.pick(settings(folder), "m")
    assert caught.value.status == 400 and "model_endpoint_map.json" in caught.value.message


def test_edits_to_the_map_are_seen_without_a_restart(folder):
    chooser = picker(folder, {"m": entry(1)})
    assert chooser.pick(settings(folder), "m").session_id == ids(1)[0]
    path = folder / "model_endpoint_map.json"
    tmp = folder / "map.tmp"
    tmp.write_text(json.dumps({"m": entry(2), "padding": "changes the size"}))
    os.replace(tmp, path)
    assert chooser.pick(settings(folder), "m").session_id == ids(2)[0]


@pytest.mark.parametrize("value", ["0b0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b", "abc-123"])
def test_hex_ids_are_real_ids(value):
    assert not is_placeholder(value)
