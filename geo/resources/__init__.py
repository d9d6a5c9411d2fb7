"""Load the packaged data files (themes, statuses, status vocabulary)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> Any:
    """Return the parsed JSON resource ``geo/resources/<name>.json``."""
    text = resources.files("geo.resources").joinpath(f"{name}.json").read_text("utf-8")
    return json.loads(text)


def themes() -> list[dict]:
    """Themes (groups of kinds) with their layer names and markers."""
    return load("themes")["themes"]


def kind_labels() -> dict[str, dict[str, str]]:
    """Chinese and English label of every project kind."""
    return load("themes")["kinds"]


def theme_of_kind() -> dict[str, str]:
    """Map each kind to its theme id."""
    return {kind: t["id"] for t in themes() for kind in t["kinds"]}


def statuses() -> list[dict]:
    """Status codes with labels, colours and dashes, in legend order."""
    return load("statuses")["statuses"]


def status_info(code: str) -> dict:
    """The entry of ``statuses()`` for ``code``."""
    for s in statuses():
        if s["code"] == code:
            return s
    raise KeyError(code)


def resource_text(name: str) -> str:
    """Return the text of the packaged resource ``geo/resources/<name>``."""
    return resources.files("geo.resources").joinpath(name).read_text("utf-8")
