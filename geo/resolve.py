"""Resolve mentions to projects: one ``project_id`` per real-world project.

Two mentions are the same project when their *project keys* are equal, or
when both match the same gazetteer entry (so an abbreviation listed as an
alias, 宁大附属第一医院 = 宁波大学附属第一医院, merges).  The key is the
normalised name (see :func:`project_key`): city prefixes, （暂名）, segment
qualifiers in brackets, the word 快速路 after a road name, 轨道交通 before a
line number and trailing 项目/工程 are dropped, so 鄞州大道快速路（机场路—鄞横线）
(2023) = 鄞州大道 (2024), while phases (一期/二期) and different line numbers
stay distinct.

``project_id`` is ``P-`` plus the first 10 hex digits of the SHA-1 of the key:
stable across runs and machines, changing only when the name does.
A project's status is that of its latest mention (by year, then position),
and every mention keeps its link through ``project_id``.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pandas as pd

from . import resources
from .names import city_prefixes, normalize_name
from .schema import MENTIONS

_BRACKETS = re.compile(r"[（(][^（）()]*[）)]")
_EXPRESS_AFTER_ROAD = re.compile(r"(大道|路)快速路")
_METRO_PREFIX = re.compile(r"^(?:城市)?(?:轨道交通|地铁)(?=[0-9A-Z])")


def project_key(name: str, city: str = "") -> str:
    """The normalised key two mentions of one project share (see module docstring)."""
    text = _BRACKETS.sub("", name)
    text = _EXPRESS_AFTER_ROAD.sub(r"\1", text)
    key = normalize_name(text, city_prefixes(city) if city else ())
    key = _METRO_PREFIX.sub("", key)
    return key or normalize_name(name)


def project_id(key: str) -> str:
    """Stable id from a project key."""
    return "P-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def group_keys(mentions: pd.DataFrame, city: str,
               gazetteer_match: dict[str, int] | None = None) -> pd.Series:
    """Return the project key of every mention.

    ``gazetteer_match`` maps a mention name to the gazetteer row it matched;
    keys of mentions matching the same row are unified (smallest key wins, so
    the result does not depend on row order).
    """
    keys = mentions["name"].map(lambda n: project_key(n, city))
    if not gazetteer_match:
        return keys
    by_row: dict[int, set[str]] = {}
    for name, key in zip(mentions["name"], keys, strict=True):
        row = gazetteer_match.get(name)
        if row is not None:
            by_row.setdefault(row, set()).add(key)
    alias = {}
    for members in by_row.values():
        target = min(members)
        for k in members:
            alias[k] = min(alias.get(k, target), target)
    return keys.map(lambda k: alias.get(k, k))


def resolve(mentions: pd.DataFrame, city: str,
            gazetteer_match: dict[str, int] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assign ``project_id`` to mentions and build the project table (no geometry yet).

    Returns ``(mentions, projects)``; ``projects`` has project_id, key, name, kind,
    theme, status, status_phrase, status_year, part, section, section_title,
    n_mentions, names (all distinct spellings, '|' separated).
    """
    mentions = mentions.copy()
    keys = group_keys(mentions, city, gazetteer_match)
    mentions["project_id"] = keys.map(project_id)
    theme = resources.theme_of_kind()
    records = mentions[["project_id", "name", "kind", "status", "status_phrase", "year", "part",
                        "section", "section_title", "start"]].to_dict("records")
    groups: dict[str, list[dict]] = {}
    for key, record in zip(keys, records, strict=True):
        record["key"] = key
        groups.setdefault(record["project_id"], []).append(record)
    rows = []
    for pid, group in groups.items():
        latest = max(group, key=lambda r: (_year(r["year"]), r["start"]))
        names = list(dict.fromkeys(r["name"] for r in group))
        kind = _majority([r["kind"] for r in group], latest["kind"])
        rows.append({
            "project_id": pid,
            "key": group[0]["key"],
            "name": max(names, key=lambda n: (len(_BRACKETS.sub("", n)), -names.index(n))),
            "names": "|".join(names),
            "kind": kind,
            "theme": theme.get(kind, "urban"),
            "status": latest["status"],
            "status_phrase": latest["status_phrase"],
            "status_year": latest["year"],
            "part": latest["part"],
            "section": latest["section"],
            "section_title": latest["section_title"],
            "n_mentions": len(group),
            "first_start": int(min(r["start"] for r in group)),
        })
    projects = pd.DataFrame(rows).sort_values("first_start", kind="stable").reset_index(drop=True)
    return mentions[[*MENTIONS, *[c for c in mentions.columns if c not in MENTIONS]]], projects


def _year(value) -> int:
    """A mention's year for ordering (0 when the report states none)."""
    return 0 if value is None or pd.isna(value) else int(value)


def _majority(values: list[str], fallback: str) -> str:
    counts = Counter(values)
    best = max(counts.values())
    winners = [v for v, c in counts.items() if c == best]
    return fallback if fallback in winners else sorted(winners)[0]
