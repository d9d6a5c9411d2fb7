"""Locate projects: gazetteer matching with kept candidates, county fallback, checks.

Matching rules, tried in order for every spelling of a project's name:

``exact``        the name equals a gazetteer name;
``alias``        the name equals one of the row's aliases;
``normalised``   the normalised keys are equal (宁波/市 prefixes, （暂名）, 项目/工程,
                 full/half width; see :func:`geo.resolve.project_key`);
``fuzzy``        :func:`geo.names.match_score` ≥ ``settings.fuzzy_threshold``, with
                 line numbers equal and phases equal (三期 never takes 一期's geometry).

Every candidate considered is kept in the CANDIDATES table with its rule and
score; the chosen one is flagged.  A project with no candidate falls back to a
county named in its name, then in its sentence (``precision=district``); otherwise
it is unresolved and listed with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from shapely.ops import unary_union

from .districts import district_names_in_text
from .gazetteer import LINEAR_KINDS
from .names import match_score, shortlister
from .resolve import project_key
from .schema import CANDIDATES, UNRESOLVED

RULE_RANK = {"exact": 0, "alias": 1, "normalised": 2, "fuzzy": 3}


@dataclass(frozen=True)
class Match:
    """One gazetteer row a project name matched, by which rule and with what score."""
    row: int          # gazetteer index
    candidate: str    # the gazetteer name or alias matched
    rule: str
    score: float


@dataclass(frozen=True)
class GazetteerIndex:
    """Every gazetteer spelling with its key, plus a shortlister for fuzzy look-ups."""

    entries: tuple[tuple[int, str, str, bool], ...]   # (row, spelling, key, is_alias)
    shortlist: Callable[[str], list[int]]             # key -> entry numbers worth scoring


def index_gazetteer(gazetteer: gpd.GeoDataFrame, city: str) -> GazetteerIndex:
    """Index every gazetteer name and alias (done once per build)."""
    entries = []
    for idx, name, aliases in zip(gazetteer.index, gazetteer["name"], gazetteer["aliases"],
                                  strict=True):
        entries.append((idx, name, project_key(name, city), False))
        entries.extend((idx, alias, project_key(alias, city), True) for alias in aliases)
    return GazetteerIndex(tuple(entries), shortlister([e[2] for e in entries]))


def candidates_for(name: str, index: GazetteerIndex, city: str) -> list[Match]:
    """All gazetteer candidates for one spelling, best first (pure).

    Fuzzy scoring runs only on the entries :func:`geo.names.shortlister` keeps (those
    sharing enough characters to possibly match); exact, alias and normalised
    matches are checked on every entry.
    """
    key = project_key(name, city)
    fuzzy = set(index.shortlist(key))
    best: dict[int, Match] = {}
    for n, (idx, spelling, gkey, is_alias) in enumerate(index.entries):
        if name == spelling:
            match = Match(idx, spelling, "alias" if is_alias else "exact", 1.0)
        elif key == gkey:
            match = Match(idx, spelling, "normalised", 1.0)
        elif n in fuzzy:
            score = match_score(key, gkey)
            if score is None:
                continue
            match = Match(idx, spelling, "fuzzy", float(score))
        else:
            continue
        old = best.get(idx)
        if old is None or (RULE_RANK[match.rule], -match.score) < (RULE_RANK[old.rule], -old.score):
            best[idx] = match
    return sorted(best.values(), key=lambda m: (RULE_RANK[m.rule], -m.score, m.row))


def match_names(names: list[str], gazetteer: gpd.GeoDataFrame | None,
                city: str) -> dict[str, list[Match]]:
    """Candidates for every distinct name (empty lists without a gazetteer)."""
    if gazetteer is None or gazetteer.empty:
        return {n: [] for n in names}
    index = index_gazetteer(gazetteer, city)
    return {n: candidates_for(n, index, city) for n in dict.fromkeys(names)}


def same_site(projects: pd.DataFrame) -> dict[str, str]:
    """Projects located on the same gazetteer row, mapped to the one they join.

    The survivor of each group is the project with the smallest key, so the result
    depends neither on row order nor on which spelling the report used first.
    """
    chosen = projects.dropna(subset=["gazetteer_index"])
    merged: dict[str, str] = {}
    for _, group in chosen.groupby("gazetteer_index", sort=True):
        if len(group) < 2:
            continue
        survivor = group.sort_values("key", kind="stable").iloc[0]["project_id"]
        merged.update({pid: survivor for pid in group["project_id"] if pid != survivor})
    return merged


def unplace_merged(projects: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A merged project keeps its row (and id) but draws nothing: its survivor does."""
    projects = projects.copy()
    merged = projects["merged_into"] != ""
    projects.loc[merged, "geometry"] = None
    projects.loc[merged, ["precision", "source", "source_url", "source_notes", "name_en"]] = ""
    projects.loc[merged, "match_rule"] = "merged"
    return projects


def locate(projects: pd.DataFrame, mentions: pd.DataFrame, matches: dict[str, list[Match]],
           gazetteer: gpd.GeoDataFrame | None, districts: gpd.GeoDataFrame,
           city: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Give every project a geometry, precision and source, or a reason it has none.

    Returns ``(projects, candidates, unresolved)``; ``projects`` is a
    GeoDataFrame in EPSG:4326 with geometry None for unresolved projects.
    """
    cand_rows, records, unresolved = [], [], []
    quotes = own_sentences(mentions)
    for project in projects.itertuples(index=False):
        names = project.names.split("|")
        found = sorted(((m, n) for n in names for m in matches.get(n, [])),
                       key=lambda mn: (RULE_RANK[mn[0].rule], -mn[0].score, mn[0].row))
        chosen = found[0][0] if found else None
        seen = set()
        for m, n in found:
            assert gazetteer is not None  # matches index the gazetteer's rows
            if (m.row, n) in seen:
                continue
            seen.add((m.row, n))
            cand_rows.append({
                "project_id": project.project_id, "name": n, "candidate": m.candidate,
                "gazetteer_row": int(gazetteer.loc[m.row, "row"]), "rule": m.rule,
                "score": round(m.score, 3), "chosen": m is chosen,
            })
        record = project._asdict()
        if chosen is not None:
            assert gazetteer is not None
            g = gazetteer.loc[chosen.row]
            record.update(geometry=g.geometry, precision=g["precision"], source=g["source"],
                          source_url=g.get("source_url", "") or "",
                          source_notes=g.get("source_notes", g["source"]) or "",
                          published_length_km=g.get("published_length_km"),
                          published_area_km2=g.get("published_area_km2"),
                          measure_note=g.get("measure_note", "") or "",
                          cited_vertices=g.get("cited_vertices", "") or "",
                          match_rule=chosen.rule, name_en=g.get("name_en", "") or "",
                          kind=g["kind"], gazetteer_index=chosen.row)
        else:
            record.update(_district_fallback(project, quotes.get(project.project_id, []),
                                             districts, city))
            if record["geometry"] is None:
                unresolved.append({"project_id": project.project_id, "name": project.name,
                                   "kind": project.kind, "status": project.status,
                                   "reason": record.pop("reason")})
            record.pop("reason", None)
            record["gazetteer_index"] = None
        records.append(record)
    frame = gpd.GeoDataFrame(pd.DataFrame(records), geometry="geometry", crs="EPSG:4326")
    frame["name_en"] = frame["name_en"].fillna("")
    candidates = pd.DataFrame(cand_rows, columns=CANDIDATES)
    return frame, candidates, pd.DataFrame(unresolved, columns=UNRESOLVED)


def own_sentences(mentions: pd.DataFrame) -> dict[str, list[str]]:
    """Each project's sentences with the names of *other* projects blanked out.

    ``葛岙水库、杭州湾引水工程、江北下沉式再生水厂建成投用``: the 江北 inside another
    project's name says nothing about where 杭州湾引水工程 is, so it must not drive
    the county fallback.
    """
    spans: dict[int, list[tuple[int, int]]] = {}
    for start, end, qstart in zip(mentions["start"], mentions["end"], mentions["quote_start"],
                                  strict=True):
        spans.setdefault(int(qstart), []).append((int(start) - int(qstart),
                                                  int(end) - int(qstart)))
    out: dict[str, list[str]] = {}
    for pid, quote, start, end, qstart in zip(mentions["project_id"], mentions["quote"],
                                              mentions["start"], mentions["end"],
                                              mentions["quote_start"], strict=True):
        own = (int(start) - int(qstart), int(end) - int(qstart))
        chars = list(quote)
        for a, b in spans.get(int(qstart), []):
            if (a, b) != own:
                chars[max(a, 0):max(b, 0)] = "□" * (max(b, 0) - max(a, 0))
        out.setdefault(pid, []).append(own_clause("".join(chars), *own))
    return out


#: Marks that end a clause: a county after one of them belongs to another statement.
_CLAUSE_MARKS = "，,；;：:。！？!?"


def own_clause(sentence: str, start: int, end: int) -> str:
    """The clause of ``sentence`` around ``sentence[start:end]`` (the project's own words).

    ``北仑区新增企业120家，开工建设甬舟铁路``: the 北仑区 of the statistic says
    nothing about the railway, so the county fallback and the county check read only
    ``开工建设甬舟铁路``.  Marks inside brackets do not end the clause.
    """
    left = _clause_mark(sentence, min(max(start, 0), len(sentence)) - 1, -1)
    right = _clause_mark(sentence, max(end, 0), 1)
    return sentence[0 if left is None else left + 1:len(sentence) if right is None else right]


def _clause_mark(sentence: str, index: int, step: int) -> int | None:
    """The first clause mark from ``index`` walking by ``step`` (-1 left, 1 right) that
    is not inside brackets, or None."""
    opening, closing = ("）)", "（(") if step < 0 else ("（(", "）)")
    depth = 0
    while 0 <= index < len(sentence):
        ch = sentence[index]
        if ch in opening:
            depth += 1
        elif ch in closing:
            depth = max(depth - 1, 0)
        elif ch in _CLAUSE_MARKS and depth == 0:
            return index
        index += step
    return None


def _district_fallback(project, quotes: list[str], districts: gpd.GeoDataFrame,
                       city: str) -> dict:
    """County named in the name (any number) or in its sentences (exactly one)."""
    blank = {"geometry": None, "precision": "", "source": "", "source_url": "", "source_notes": "",
             "match_rule": "", "name_en": ""}
    if districts is None or districts.empty:
        return {**blank, "reason": "no gazetteer entry and no district boundaries"}
    in_name = district_names_in_text(project.name, districts, city)
    where = "name"
    if not in_name:
        named = {n for q in quotes for n in district_names_in_text(q, districts, city)}
        in_name = sorted(named) if len(named) == 1 else []
        where = "sentence"
    if not in_name:
        return {**blank, "reason": "no gazetteer entry matched and no county named in the "
                                   "name or sentence"}
    if getattr(project, "kind", "") in LINEAR_KINDS:
        # A road or railway is never drawn as the polygon of the counties it crosses.
        return {**blank, "reason": f"a {project.kind} known only by the counties it lies in"
                                   f" ({'、'.join(in_name)}); its route is not known"}
    geom = unary_union(list(districts.loc[districts["name"].isin(in_name), "geometry"]))
    source = f"county named in the project's {where}: {'、'.join(in_name)}"
    return {"geometry": geom, "precision": "district", "source": source, "source_url": "",
            "source_notes": source,
            "match_rule": f"district_{where}", "name_en": "", "reason": ""}
