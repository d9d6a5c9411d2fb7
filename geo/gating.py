"""Gated acceptance of online candidates, and the reviewer's decisions.

A candidate from an online source goes on the map automatically only when

* its name score is at least ``settings.accept_score``;
* its category fits the project's kind (``geo/resources/source_categories.json``:
  a hospital is an ``amenity=hospital`` or a 医疗 POI);
* it lies in the county the project's name or own sentence names, if any;
* no other candidate of a fitting category scores within ``settings.tie_margin``
  of it while lying elsewhere (answers within ``AGREE_M`` of each other are the
  same place found twice, e.g. an OSM polygon and a 天地图 POI).

Everything else is sent to review.  A decisions file
(``<城市名>_decisions.csv``: ``project_id, source, candidate_id, decision`` =
``accept`` | ``reject``, optional ``name, note``) overrides the gate: an accepted
candidate is placed whatever its score, a rejected one is never used again.
Every candidate keeps a ``status`` (``auto``, ``accepted``, ``rejected``,
``review``, ``not_chosen``) and the ``reason`` for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from . import resources, settings
from .errors import GeoError
from .io import write_csv

#: Two answers closer than this (metres) are the same place, not a tie.
AGREE_M = 300.0

#: Columns of the decisions file.
DECISIONS = ["project_id", "name", "source", "candidate_id", "decision", "note"]

#: Columns of review.csv (what needs a decision).
REVIEW = ["project_id", "name", "kind", "source", "candidate_id", "candidate", "category",
          "score", "precision", "reason", "lon", "lat"]

_PRECISION_RANK = {"surveyed": 0, "site": 1, "approximate": 2, "schematic": 3}


@cache
def _categories() -> dict[str, dict[str, list[str]]]:
    return resources.load("source_categories")["kinds"]


def category_fits(kind: str, source: str, category: str) -> bool:
    """True when an answer's category suits the project's kind (see the module doc)."""
    allowed = _categories().get(kind)
    if not allowed or not category:
        return False
    if source == "tianditu":
        return any(word in category for word in allowed.get("tianditu", []))
    key = category.split("=", 1)[0]
    return any(tag == category or tag == f"{key}=*" for tag in allowed.get("osm", []))


def load_decisions(path: Path | None) -> pd.DataFrame:
    """Read a decisions file (empty table when there is none); bad rows fail in one line."""
    if path is None or not Path(path).is_file():
        return pd.DataFrame(columns=DECISIONS)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("project_id", "source", "candidate_id", "decision")
               if c not in table.columns]
    if missing:
        raise GeoError(f"decisions file lacks columns {missing}", path=path,
                         fix="use the header project_id,name,source,candidate_id,decision,note")
    bad = sorted(set(table["decision"]) - {"accept", "reject"})
    if bad:
        raise GeoError(f"decisions must be accept or reject, not {bad}", path=path,
                         fix="write accept or reject in the decision column")
    for column in DECISIONS:
        if column not in table.columns:
            table[column] = ""
    return table[DECISIONS]


@dataclass(frozen=True)
class Verdict:
    """The gate's answer for one project: the chosen candidate row (or None) and why."""

    chosen: int | None
    status: str
    reason: str


def _distance_m(a: BaseGeometry, b: BaseGeometry) -> float:
    frame = gpd.GeoSeries([a, b], crs="EPSG:4326").to_crs(settings.metric_crs)
    return float(frame.iloc[0].distance(frame.iloc[1]))


def _in_counties(geometry: BaseGeometry, counties: Sequence[str],
                 districts: gpd.GeoDataFrame) -> bool:
    if not counties:
        return True
    area = districts.loc[districts["name"].isin(counties), "geometry"].union_all()
    return bool(area.buffer(0.005).intersects(geometry.representative_point()))


def judge(kind: str, rows: pd.DataFrame, counties: Sequence[str],
          districts: gpd.GeoDataFrame) -> Verdict:
    """Apply the gate to one project's (non-rejected) candidates, best first."""
    if rows.empty:
        return Verdict(None, "", "no candidate")
    fits = [category_fits(kind, s, c) for s, c in zip(rows["source"], rows["category"],
                                                       strict=True)]
    order = sorted(range(len(rows)), key=lambda i: (
        -rows["score"].iloc[i], not fits[i],
        _PRECISION_RANK.get(rows["precision"].iloc[i], 9), rows["source"].iloc[i]))
    best = order[0]
    top = rows.iloc[best]
    if not fits[best]:
        return Verdict(None, "review",
                       f"category {top['category'] or '(none)'} does not fit kind {kind}")
    if top["score"] < settings.accept_score:
        return Verdict(None, "review",
                       f"score {top['score']:.2f} below {settings.accept_score:.2f}")
    if not _in_counties(top.geometry, counties, districts):
        return Verdict(None, "review", f"outside {'、'.join(counties)}, which the text names")
    for i in order[1:]:
        other = rows.iloc[i]
        close = top["score"] - other["score"] <= settings.tie_margin
        if close and fits[i] and _distance_m(top.geometry, other.geometry) > AGREE_M:
            return Verdict(None, "review",
                           f"tie: {other['source']} {other['candidate_id']} scores "
                           f"{other['score']:.2f} at another place")
    # prefer the best geometry among answers that agree with the winner
    agreeing = [i for i in order if fits[i] and rows["score"].iloc[i] >= top["score"]
                - settings.tie_margin and _distance_m(top.geometry, rows.geometry.iloc[i])
                <= AGREE_M]
    chosen = min(agreeing, key=lambda i: (_PRECISION_RANK.get(rows["precision"].iloc[i], 9),
                                          order.index(i)))
    return Verdict(chosen, "auto", f"score {top['score']:.2f}, category fits {kind}, "
                   + (f"in {'、'.join(counties)}, " if counties else "") + "no close second")


def review_table(candidates: gpd.GeoDataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """The candidates awaiting a decision, as written to ``review.csv``."""
    part = candidates[candidates["status"] == "review"]
    points = part.geometry.representative_point()
    table = pd.DataFrame({
        "project_id": part["project_id"], "name": part["name"],
        "kind": part["project_id"].map(kinds).fillna(""), "source": part["source"],
        "candidate_id": part["candidate_id"], "candidate": part["candidate"],
        "category": part["category"], "score": part["score"], "precision": part["precision"],
        "reason": part["reason"], "lon": [f"{x:.6f}" for x in points.x],
        "lat": [f"{y:.6f}" for y in points.y]})
    return table[REVIEW].reset_index(drop=True)


def append_decision(path: Path, project_id: str, source: str, candidate_id: str,
                    decision: str, name: str = "", note: str = "") -> Path:
    """Add (or replace) one decision in the decisions file, keeping it sorted."""
    table = load_decisions(path)
    same = ((table["project_id"] == project_id) & (table["source"] == source)
            & (table["candidate_id"] == candidate_id))
    row = pd.DataFrame([{"project_id": project_id, "name": name, "source": source,
                         "candidate_id": candidate_id, "decision": decision, "note": note}])
    table = pd.concat([table[~same], row], ignore_index=True)
    table = table.sort_values(["project_id", "source", "candidate_id"], kind="stable")
    return write_csv(path, table[DECISIONS])
