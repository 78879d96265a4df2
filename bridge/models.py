"""The model list: `models.json` ({"public name": "uuid" or "uuid:image"}) and
`available_models.json` (the arena's full model objects), re-read when they change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .jsonfile import JsonFile

IMAGE_SUFFIX = ":image"


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    id: str | None
    image: bool = False
    organization: str | None = None


def parse_entry(name: str, value: Any) -> Model:
    text = str(value) if value is not None else "null"
    image = text.endswith(IMAGE_SUFFIX)
    uuid = text[: -len(IMAGE_SUFFIX)] if image else text
    return Model(name, None if uuid in ("", "null") else uuid, image)


class ModelRegistry:
    def __init__(self, models_path: Path, available_path: Path) -> None:
        self._models = JsonFile(models_path, {})
        self._available = JsonFile(available_path, [])

    def all(self) -> list[Model]:
        data = self._models.read()
        if not isinstance(data, dict):
            return []
        orgs = self._organizations()
        return [
            Model(m.name, m.id, m.image, orgs.get(m.id or ""))
            for m in (parse_entry(name, value) for name, value in data.items())
        ]

    def get(self, name: str) -> Model | None:
        data = self._models.read()
        if isinstance(data, dict) and name in data:
            return parse_entry(name, data[name])
        return None

    def _organizations(self) -> dict[str, str]:
        data = self._available.read()
        if not isinstance(data, list):
            return {}
        return {
            m["id"]: m["organization"]
            for m in data
            if isinstance(m, dict) and isinstance(m.get("id"), str) and isinstance(m.get("organization"), str)
        }
