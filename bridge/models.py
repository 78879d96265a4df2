"""The model list: `models.json` ({"public name": "uuid", "uuid:image" or "uuid:search"}) and
`available_models.json` (the arena's full model objects), re-read when they change.

A model the arena answers `Models not found` for is marked unusable for the life of the
process (`mark_unusable`); `/v1/models` shows the mark with a one-line hint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .jsonfile import JsonFile

log = logging.getLogger(__name__)

IMAGE_SUFFIX = ":image"
SEARCH_SUFFIX = ":search"
SUFFIX_MODALITIES = {IMAGE_SUFFIX: "image", SEARCH_SUFFIX: "search"}
UNUSABLE_HINT = (
    "the arena does not offer this model for chat (it answered {}): run `lmarena-bridge models --refresh` "
    "and pick another model"
)


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    id: str | None
    image: bool = False
    organization: str | None = None
    search: bool = False

    @property
    def modality(self) -> str:
        """The create-evaluation modality: image, search or chat."""
        return "image" if self.image else "search" if self.search else "chat"


def parse_entry(name: str, value: Any) -> Model:
    text = str(value) if value is not None else "null"
    modality = "chat"
    for suffix, kind in SUFFIX_MODALITIES.items():
        if text.endswith(suffix):
            text, modality = text[: -len(suffix)], kind
            break
    return Model(name, None if text in ("", "null") else text, modality == "image", search=modality == "search")


def entry_for(model_id: str, modality: str) -> str:
    """The models.json value for a model id and its modality."""
    suffix = next((s for s, kind in SUFFIX_MODALITIES.items() if kind == modality), "")
    return model_id + suffix


class ModelRegistry:
    def __init__(self, models_path: Path, available_path: Path) -> None:
        self._models = JsonFile(models_path, {})
        self._available = JsonFile(available_path, [])
        self._unusable: dict[str, str] = {}

    def all(self) -> list[Model]:
        data = self._models.read()
        if not isinstance(data, dict):
            return []
        orgs = self._organizations()
        return [
            Model(m.name, m.id, m.image, orgs.get(m.id or ""), m.search)
            for m in (parse_entry(name, value) for name, value in data.items())
        ]

    def get(self, name: str) -> Model | None:
        data = self._models.read()
        if isinstance(data, dict) and name in data:
            return parse_entry(name, data[name])
        return None

    def mark_unusable(self, name: str, why: str) -> None:
        """The arena refused `name` (`Models not found`): say so in the log and in /v1/models."""
        if name not in self._unusable:
            log.warning("model %r is not usable on the arena (%s); run `lmarena-bridge models --refresh`", name, why)
        self._unusable[name] = UNUSABLE_HINT.format(why)

    def unusable_hint(self, name: str) -> str | None:
        return self._unusable.get(name)

    def _organizations(self) -> dict[str, str]:
        data = self._available.read()
        if not isinstance(data, list):
            return {}
        return {
            m["id"]: m["organization"]
            for m in data
            if isinstance(m, dict) and isinstance(m.get("id"), str) and isinstance(m.get("organization"), str)
        }
