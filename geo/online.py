"""Online geocoding for ``geo build --online``: ask the sources, gate, apply decisions.

The curated gazetteer answers first (in :mod:`geo.geocode`); only projects it
did not locate are sent to the online sources of ``settings.online_sources``
(:mod:`geo.sources.osm`, :mod:`geo.sources.tianditu`).  Their answers form one
candidates table; :mod:`geo.gating` and the reviewer's decisions file pick what
goes on the map.  A source that cannot be reached is skipped after a few
seconds with a note, and the build goes on with what it has -- the offline
outputs are always written.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from . import settings
from .districts import city_outline, district_names_in_text
from .errors import GeoError, require
from .gating import Verdict, judge, load_decisions, review_table
from .io import write_csv, write_text
from .sources import COLUMNS, Area, Query, unreachable

#: Columns of online_candidates.csv (geometry as lon/lat of a point on it).
OUTPUT_COLUMNS: list[str] = [*COLUMNS, "status", "reason", "lon", "lat"]

ATTRIBUTION = {"osm": "© OpenStreetMap contributors (ODbL 1.0)",
               "nominatim": "© OpenStreetMap contributors (ODbL 1.0)",
               "tianditu": "© 天地图 (国家地理信息公共服务平台)"}


@dataclass
class OnlineResult:
    """What the online part added: candidates with their status, review list, notes."""

    candidates: gpd.GeoDataFrame
    review: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    @property
    def attributions(self) -> list[str]:
        """Attribution lines for the sources whose geometries are on the map."""
        placed = self.candidates[self.candidates["status"].isin(["auto", "accepted"])]
        return sorted({ATTRIBUTION[s] for s in placed["source"] if s in ATTRIBUTION})

    @property
    def licences(self) -> list[str]:
        """The licences of the geometries placed from online sources."""
        placed = self.candidates[self.candidates["status"].isin(["auto", "accepted"])]
        return sorted(set(placed["licence"]))


#: The hosts each source talks to (probed before anything is imported or asked).
HOSTS: dict[str, tuple[str, ...]] = {
    "osm": ("overpass-api.de", "nominatim.openstreetmap.org"),
    "tianditu": ("api.tianditu.gov.cn",),
}


def make_source(name: str) -> Any:
    """The source object for a name in ``settings.online_sources``."""
    if name == "osm":
        from .sources.osm import OsmSource

        return OsmSource()
    if name == "tianditu":
        from .sources.tianditu import TiandituSource

        return TiandituSource()
    raise GeoError(f"unknown online source {name!r}", fix="use osm and/or tianditu in GEO_SOURCES")


def usable_sources(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(sources that can be asked at all, notes on the others); a missing osmnx is an error."""
    usable, notes = [], []
    for name in names:
        if name not in HOSTS:
            raise GeoError(f"unknown online source {name!r}",
                           fix="use osm and/or tianditu in GEO_SOURCES")
        if name == "osm" and importlib.util.find_spec("osmnx") is None:
            require("osmnx", "online geocoding (--online)")  # one clear line with the fix
        if name == "tianditu" and not settings.tianditu_key:
            notes.append("天地图 not asked: no key (set TIANDITU_KEY, or geo.settings."
                         "tianditu_key; a free key from https://console.tianditu.gov.cn)")
            continue
        usable.append(name)
    return usable, notes


def queries_for(projects: gpd.GeoDataFrame) -> list[Query]:
    """Projects the gazetteer did not locate (unresolved or county-only), as queries."""
    todo = projects[projects["gazetteer_index"].isna()]
    return [Query(r.project_id, name, r.kind) for r in todo.itertuples()
            for name in dict.fromkeys(str(r.names).split("|"))]


def ask_sources(queries: Sequence[Query], area: Area, names: Sequence[str],
                progress: Callable[[str], None]) -> tuple[list[dict[str, Any]], list[str],
                                                          list[str]]:
    """Ask each named source; return (rows, notes on sources not asked, sources asked).

    Every source's hosts are probed at once first, before osmnx is even imported, so
    no network costs one short timeout, not one per source or library.
    """
    rows: list[dict[str, Any]] = []
    asked: list[str] = []
    usable, notes = usable_sources(names)
    t0 = time.monotonic()
    down = unreachable([h for name in usable for h in HOSTS[name]])
    waited = time.monotonic() - t0
    for name in usable:
        failed = [h for h in HOSTS[name] if h in down]
        if failed:
            notes.append(f"{name} not asked: cannot reach {failed[0]} ({down[failed[0]]}) "
                         f"after {waited:.1f} s")
            continue
        found = make_source(name).search(queries, area)
        asked.append(name)
        progress(f"online: {name}: {len(found)} candidates for {len(queries)} names")
        rows.extend(found)
    return rows, notes, asked


def candidates_frame(rows: Sequence[dict[str, Any]]) -> gpd.GeoDataFrame:
    """One deterministic candidates table (best answer per project, source and id)."""
    frame = gpd.GeoDataFrame(list(rows), columns=[*COLUMNS, "geometry"], geometry="geometry",
                             crs="EPSG:4326")
    frame["score"] = frame["score"].astype(float)
    frame = frame.sort_values(["project_id", "source", "candidate_id", "score"],
                              ascending=[True, True, True, False], kind="mergesort")
    frame = frame.drop_duplicates(["project_id", "source", "candidate_id"])
    frame["status"], frame["reason"] = "", ""
    return frame.reset_index(drop=True)


def _counties(project_id: str, name: str, quotes: dict[str, list[str]],
              districts: gpd.GeoDataFrame, city: str) -> list[str]:
    """Counties the project's own name, or else its own sentences (just one), name."""
    named = district_names_in_text(name, districts, city)
    if named:
        return named
    found = {n for q in quotes.get(project_id, [])
             for n in district_names_in_text(q, districts, city)}
    return sorted(found) if len(found) == 1 else []


def decide(frame: gpd.GeoDataFrame, projects: gpd.GeoDataFrame, decisions: pd.DataFrame,
           quotes: dict[str, list[str]], districts: gpd.GeoDataFrame,
           city: str) -> dict[str, Verdict]:
    """Set every candidate's status and reason; return the verdict per project."""
    chosen = {(d.project_id, d.source, d.candidate_id): d.decision
              for d in decisions.itertuples()}
    verdicts: dict[str, Verdict] = {}
    by_id = projects.set_index("project_id")
    for pid, part in frame.groupby("project_id", sort=True):
        project = by_id.loc[pid]
        keys = [(pid, s, c) for s, c in zip(part["source"], part["candidate_id"], strict=True)]
        marks = [chosen.get(k, "") for k in keys]
        frame.loc[part.index, "status"] = ["rejected" if m == "reject" else "" for m in marks]
        frame.loc[part.index, "reason"] = ["rejected in the decisions file" if m == "reject"
                                           else "" for m in marks]
        accepted = [i for i, m in zip(part.index, marks, strict=True) if m == "accept"]
        if accepted:
            verdict = Verdict(accepted[0], "accepted", "accepted in the decisions file")
        else:
            open_rows = part[[m != "reject" for m in marks]]
            counties = _counties(pid, str(project["name"]), quotes, districts, city)
            verdict = judge(str(project["kind"]), open_rows, counties, districts)
            if verdict.chosen is not None:
                verdict = Verdict(open_rows.index[verdict.chosen], verdict.status,
                                  verdict.reason)
            elif open_rows.empty:
                verdict = Verdict(None, "rejected", "every candidate rejected in review")
            else:
                frame.loc[open_rows.index, ["status", "reason"]] = ["review", verdict.reason]
        if verdict.chosen is not None:
            rest = [i for i in part.index if i != verdict.chosen and
                    frame.loc[i, "status"] != "rejected"]
            frame.loc[rest, ["status", "reason"]] = ["not_chosen", "another candidate placed"]
            frame.loc[verdict.chosen, ["status", "reason"]] = [verdict.status, verdict.reason]
        verdicts[pid] = verdict
    return verdicts


def place(projects: gpd.GeoDataFrame, unresolved: pd.DataFrame, frame: gpd.GeoDataFrame,
          verdicts: dict[str, Verdict]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Put accepted candidates on the map; say why the rest stay unresolved."""
    projects = projects.copy()
    unresolved = unresolved.copy()
    rows = projects.index[projects["project_id"].isin(verdicts)]
    for i in rows:
        pid = projects.at[i, "project_id"]
        verdict = verdicts[pid]
        if verdict.chosen is None:
            note = ("online candidates await review (geo review)" if verdict.status == "review"
                    else "online candidates rejected in review")
            mask = unresolved["project_id"] == pid
            unresolved.loc[mask, "reason"] = unresolved.loc[mask, "reason"] + "; " + note
            continue
        c = frame.loc[verdict.chosen]
        how = "accepted by review" if verdict.status == "accepted" else "accepted automatically"
        projects.at[i, "geometry"] = c.geometry
        projects.at[i, "precision"] = c["precision"]
        projects.at[i, "source"] = (f"{c['element']}: {c['candidate']} (score {c['score']:.2f}, "
                                    f"{how}); licence {c['licence']}")
        projects.at[i, "match_rule"] = f"{c['source']}_{verdict.status}"
        unresolved = unresolved[unresolved["project_id"] != pid]
    return projects, unresolved.reset_index(drop=True)


def run_online(projects: gpd.GeoDataFrame, unresolved: pd.DataFrame,
               quotes: dict[str, list[str]], districts: gpd.GeoDataFrame, city: str,
               decisions_path: Path | None, progress: Callable[[str], None] = lambda s: None,
               ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, OnlineResult]:
    """Look up what the gazetteer could not place; return updated projects, unresolved, result."""
    area = Area(city, city_outline(districts), districts)
    queries = queries_for(projects)
    rows, notes, asked = ask_sources(queries, area, settings.online_sources, progress)
    frame = candidates_frame(rows)
    decisions = load_decisions(decisions_path)
    verdicts = decide(frame, projects, decisions, quotes, districts, city)
    projects, unresolved = place(projects, unresolved, frame, verdicts)
    kinds = dict(zip(projects["project_id"], projects["kind"], strict=True))
    result = OnlineResult(frame, review_table(frame, kinds), notes, asked)
    for note in notes:
        progress(f"warning: online: {note}")
    if not asked:
        progress("warning: online part not done (no source could be asked); "
                 "the offline outputs are written")
    return projects, unresolved, result


# --------------------------------------------------------------------------- output

def candidates_table(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """online_candidates.csv: every candidate with source, score, licence, status, reason."""
    points = frame.geometry.representative_point() if len(frame) else gpd.GeoSeries()
    table = pd.DataFrame(frame[[c for c in OUTPUT_COLUMNS if c in frame.columns]])
    table["lon"] = [f"{p.x:.6f}" for p in points] if len(frame) else []
    table["lat"] = [f"{p.y:.6f}" for p in points] if len(frame) else []
    return table[OUTPUT_COLUMNS]


def candidates_geojson(frame: gpd.GeoDataFrame) -> str:
    """The candidates with their real geometries, coordinates to 6 decimals."""
    features = []
    for _, row in frame.iterrows():
        props = {c: (float(row[c]) if c == "score" else str(row[c]))
                 for c in OUTPUT_COLUMNS[:-2]}
        geometry = shapely.set_precision(row.geometry, 1e-6) if row.geometry is not None else None
        features.append({"type": "Feature", "properties": props,
                         "geometry": None if geometry is None else
                         json.loads(shapely.to_geojson(geometry))})
    head = {"type": "FeatureCollection",
            "attribution": "; ".join(sorted(set(ATTRIBUTION.values())))}
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    return json.dumps(head, ensure_ascii=False)[:-1] + f', "features": [\n{body}\n]}}\n'


def write_online(result: OnlineResult, folder: Path) -> list[Path]:
    """Write online_candidates.csv/.geojson and review.csv into ``folder``."""
    return [write_csv(folder / "online_candidates.csv", candidates_table(result.candidates)),
             write_text(folder / "online_candidates.geojson",
                        candidates_geojson(result.candidates)),
             write_csv(folder / "review.csv", result.review)]
