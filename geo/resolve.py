"""Resolve mentions to projects: one ``project_id`` per real-world project.

Two mentions are the same project when their *project keys* are equal.  Two
projects that match the same gazetteer entry (an abbreviation listed as an alias,
宁大附属第一医院 = 宁波大学附属第一医院) are joined after locating by
:func:`merge_projects`, which keeps both ids and records ``merged_into``.  The key is the
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


def resolve(mentions: pd.DataFrame, city: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assign ``project_id`` to mentions and build the project table (no geometry yet).

    Ids come from the names alone (see :func:`project_key`), so ``geo extract`` and
    ``geo build`` give every mention the same id; two projects the gazetteer later
    finds to be one site are joined by :func:`merge_projects`, which records the
    join in ``merged_into`` and never changes an id.

    Returns ``(mentions, projects)``; ``projects`` has project_id, key, name, kind,
    status, status_phrase, status_year, part, section, section_title,
    n_mentions, names (all distinct spellings, '|' separated), first_start.
    """
    mentions = mentions.copy()
    keys = mentions["name"].map(lambda n: project_key(n, city))
    mentions["project_id"] = keys.map(project_id)
    mentions["key"] = keys
    projects = project_table(mentions, mentions["project_id"])
    # claim/stage are added by geo.claims after extraction; frames without them pass
    ordered = [*[c for c in MENTIONS if c in mentions.columns],
               *[c for c in mentions.columns if c not in MENTIONS and c != "key"]]
    return mentions[ordered], projects


#: Project columns :func:`project_table` derives from the mentions.
AGGREGATES = ("key", "name", "names", "kind", "status", "status_phrase",
              "status_year", "part", "section", "section_title", "n_mentions", "first_start")


def project_table(mentions: pd.DataFrame, group: pd.Series) -> pd.DataFrame:
    """One row per value of ``group`` (aligned with ``mentions``): the project's
    preferred name, spellings, kind and the status of its latest mention.

    ``mentions`` needs a ``key`` column (the project key of each mention)."""
    records = mentions[["name", "kind", "status", "status_phrase", "year", "part",
                        "section", "section_title", "start", "key"]].to_dict("records")
    groups: dict[str, list[dict]] = {}
    for gid, record in zip(group, records, strict=True):
        groups.setdefault(gid, []).append(record)
    rows = []
    for pid, members in groups.items():
        latest = max(members, key=lambda r: (_year(r["year"]), r["start"]))
        names = list(dict.fromkeys(r["name"] for r in members))
        kind = _majority([r["kind"] for r in members], latest["kind"])
        rows.append({
            "project_id": pid,
            "key": min(r["key"] for r in members),
            "name": max(names, key=lambda n: (len(_BRACKETS.sub("", n)), -names.index(n))),
            "names": "|".join(names),
            "kind": kind,
            "status": latest["status"],
            "status_phrase": latest["status_phrase"],
            "status_year": latest["year"],
            "part": latest["part"],
            "section": latest["section"],
            "section_title": latest["section_title"],
            "n_mentions": len(members),
            "first_start": int(min(r["start"] for r in members)),
        })
    columns = ["project_id", *AGGREGATES]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows)[columns].sort_values("first_start", kind="stable") \
        .reset_index(drop=True)


def merge_projects(projects: pd.DataFrame, mentions: pd.DataFrame, city: str,
                   same_site: dict[str, str]) -> pd.DataFrame:
    """Join projects the gazetteer found to be one site.

    ``same_site`` maps a project id to the id of the project it is merged into.  The
    surviving project takes the aggregates of all its mentions (status of the latest,
    the longest name, every spelling); a merged project keeps its row and id, with
    ``merged_into`` naming the survivor.  Ids never change.
    """
    projects = projects.copy()
    projects["merged_into"] = [same_site.get(pid, "") for pid in projects["project_id"]]
    if not same_site:
        return projects
    keyed = mentions.assign(key=mentions["name"].map(lambda n: project_key(n, city)))
    group = keyed["project_id"].map(lambda pid: same_site.get(pid, pid))
    joined = project_table(keyed, group).set_index("project_id")
    survivors = projects["project_id"].isin(set(same_site.values()))
    for column in ("name", "names", "status", "status_phrase", "status_year", "part",
                   "section", "section_title", "n_mentions"):
        projects.loc[survivors, column] = projects.loc[survivors, "project_id"].map(
            joined[column]).to_numpy()
    return projects


def _year(value) -> int:
    """A mention's year for ordering (0 when the report states none)."""
    return 0 if value is None or pd.isna(value) else int(value)


def _majority(values: list[str], fallback: str) -> str:
    counts = Counter(values)
    best = max(counts.values())
    winners = [v for v, c in counts.items() if c == best]
    return fallback if fallback in winners else sorted(winners)[0]
