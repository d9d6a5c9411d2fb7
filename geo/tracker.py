"""A promise tracker over several reports of one city.

Each report says what happened last year (facts) and promises this year's steps
(targets, see :mod:`geo.claims`).  Given a series of reports, :func:`track` matches
projects across years (:func:`match_series`: renames, abbreviations and dropped
qualifiers kept together, phases and line numbers kept apart) and scores every promise
against the later reports (:func:`promise_outcomes`):

* ``kept`` — the promised step is reported in the next year's report;
* ``late`` — it is reported only in a later report;
* ``in_progress`` — later reports still mention the project without the promised step;
* ``dropped`` — later reports exist but never mention it again;
* ``unverifiable`` — no later report in the series.

A promise repeated the next year is its own row.  One report is a series of one: every
promise is ``unverifiable``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from .claims import vocabulary
from .errors import ReportError

OUTCOMES: tuple[str, ...] = ("kept", "late", "in_progress", "dropped", "unverifiable")

STAGES_COLUMNS = ["project_id", "name", "report_year", "part", "claim", "stage",
                  "status_phrase", "quote", "report_project_id"]
PROMISES_COLUMNS = ["project_id", "name", "promised_in", "promise", "outcome",
                    "evidence_year", "evidence_stage", "evidence_quote", "districts"]

_PHASE = re.compile(r"\d+(?:期|号线|号|标段|段)|[a-z]\d*线")
_HEAD_LEN = 2


@dataclass
class Report:
    """One report of a series: its year, source file and per-report tables."""

    year: int
    path: object
    mentions: pd.DataFrame   # needs project_id, key, name, part, claim, stage, status_phrase,
                             # quote, year, start
    projects: pd.DataFrame   # needs project_id, name, districts (optional), merged_into
    #: project id -> the gazetteer row that placed it (``site:<CSV line>``), if any
    sites: dict[str, str] | None = None


# ----------------------------------------------------------------------------- checks


def order_series(items: Sequence[tuple[object, int | None]]) -> list[int]:
    """Indexes of ``(path, year)`` items sorted by year; raise :class:`ReportError`
    naming the file when a year is unknown or two reports share one."""
    seen: dict[int, object] = {}
    for path, year in items:
        if year is None:
            raise ReportError("the report's year cannot be read, so it cannot be placed in "
                              "the series", path=path,
                              fix="add its heading (e.g. 2024年主要目标任务) or build it alone "
                                  "with --year")
        if year in seen:
            raise ReportError(f"two reports of the same year {year} in one series "
                              f"(also {seen[year]})", path=path,
                              fix="pass one report per year")
        seen[year] = path
    return sorted(range(len(items)), key=lambda i: cast(int, items[i][1]))  # checked above


def city_stem(city: str) -> str:
    """``宁波市`` → ``宁波`` (the form reports use in running text)."""
    return re.sub(r"(市|地区|自治州|盟)$", "", city) or city


def check_city(text: str, city: str, path: object) -> None:
    """Raise :class:`ReportError` when a report never names the series' city (a series
    mixing two cities' reports)."""
    stem = city_stem(city)
    if stem and stem not in text:
        raise ReportError(f"the report never names {city}: is it another city's report?",
                          path=path, fix=f"build each city's reports as their own series "
                                          f"(--city {city})")


# ----------------------------------------------------------------------------- matching


def _phases(key: str) -> tuple[str, ...]:
    return tuple(sorted(_PHASE.findall(key)))


def _subsequence(short: str, long: str) -> bool:
    """Each character of ``short`` in order in ``long``, a one-character place short form
    (claims.json ``place_abbreviations``: 甬 = 宁波) matching its full form's first one."""
    aliases = vocabulary().get("place_abbreviations", {})
    pos = 0
    for ch in short:
        options = [ch] + ([aliases[ch][0]] if len(aliases.get(ch, "")) > 0 else [])
        found = [long.find(o, pos) for o in options if long.find(o, pos) >= 0]
        if not found:
            return False
        pos = min(found) + 1
    return True


def _first_agrees(short: str, long: str) -> bool:
    alias = vocabulary().get("place_abbreviations", {}).get(short[0], "")
    return short[0] == long[0] or (bool(alias) and alias[0] == long[0])


def same_project(a: str, b: str) -> bool:
    """Whether two project keys (:func:`geo.resolve.project_key`) of different reports
    name one project: equal; or equal phases/line numbers and either one ends with the
    other (a dropped qualifier: 南太湖新区长东片区 / 长东片区) or one abbreviates the other
    with the same head word (湖杭铁路 / 湖州至杭州西铁路)."""
    if a == b:
        return True
    a, b = _comparable(a), _comparable(b)
    if a == b:
        return True
    if _phases(a) != _phases(b):
        return False
    short, long = sorted((a, b), key=len)
    if len(short) >= 4 and long.endswith(short):
        return True
    head = short[-_HEAD_LEN:]
    if len(short) < 4 or not long.endswith(head):
        return False
    body_s, body_l = short[:-_HEAD_LEN], long[:-_HEAD_LEN]
    return (len(body_s) >= 2 and _first_agrees(body_s, body_l)
            and _subsequence(body_s, body_l) and len(body_l) > len(body_s))


def _comparable(key: str) -> str:
    """A key with long forms shortened (claims.json ``series_abbreviations``)."""
    for long, short in vocabulary()["series_abbreviations"].items():
        if not long.startswith("_"):
            key = key.replace(long, short)
    return key


def match_series(reports: Sequence[Report]) -> dict[tuple[int, str], str]:
    """Group id of every (report year, project id): the id the project had in the
    first report naming it (:func:`track` renames groups to their latest id).  A project
    joins an earlier one when one of its keys equals one of the earlier one's, or when
    exactly one earlier project matches by :func:`same_project`, or else when exactly
    one earlier project was placed by the same gazetteer row (a rename sharing no
    characters, which the gazetteer lists as an alias: 宁波西枢纽 → 宁波枢纽); several
    candidates are ambiguous and stay apart."""
    keys: dict[str, set[str]] = {}          # series id -> keys seen in earlier reports
    sites: dict[str, set[str]] = {}         # series id -> rows that placed it, earlier reports
    out: dict[tuple[int, str], str] = {}
    for report in reports:
        # one report's projects are matched against the earlier reports only: within a
        # report, the resolve stage has already told its projects apart (and same-site
        # projects are the pipeline's merges, not renames)
        seen: dict[str, set[str]] = {}
        placed: dict[str, set[str]] = {}
        columns = [c for c in ("key", "key_full") if c in report.mentions.columns]
        own_keys = report.mentions.groupby("project_id")[columns].agg(
            lambda s: set(s)).apply(lambda row: set().union(*row), axis=1)
        for pid, own in own_keys.items():
            own = own | {_comparable(k) for k in own}
            site = (report.sites or {}).get(str(pid), "")
            exact = [sid for sid, ks in keys.items() if own & ks]
            if not exact:
                exact = [sid for sid, ks in keys.items()
                         if any(same_project(a, b) for a in own for b in ks)]
            if not exact and site:
                exact = [sid for sid, rows in sites.items() if site in rows]
            sid = exact[0] if len(exact) == 1 else pid
            seen.setdefault(sid, set()).update(own)
            if site:
                placed.setdefault(sid, set()).add(site)
            out[(report.year, pid)] = sid
        for table, new in ((keys, seen), (sites, placed)):
            for sid, values in new.items():
                table.setdefault(sid, set()).update(values)
    return out


# ----------------------------------------------------------------------------- tables


def _survivor_ids(report: Report) -> pd.Series:
    """Mentions' project ids with gazetteer merges applied (one entry per site)."""
    merged = report.projects.set_index("project_id")["merged_into"] \
        if "merged_into" in report.projects.columns else pd.Series(dtype=object)
    target = report.mentions["project_id"].map(merged).fillna("")
    return target.where(target != "", report.mentions["project_id"])


def _rank(stage: str) -> int:
    return int(vocabulary()["stage_rank"].get(stage, 0))


def stages_table(reports: Sequence[Report], ids: dict[tuple[int, str], str]) -> pd.DataFrame:
    """One row per project, report and claim: the most advanced step of that claim."""
    rows = []
    for report in reports:
        survivors = _survivor_ids(report)
        frame = report.mentions.assign(
            _pid=survivors, _sid=[ids.get((report.year, p), p) for p in survivors])
        names = report.projects.set_index("project_id")["name"]
        # per project and claim, the most advanced step (then the earliest mention)
        frame = frame[["_sid", "_pid", "claim", "stage", "start", "name", "part",
                       "status_phrase", "quote"]].assign(_rank=frame["stage"].map(_rank))
        best_rows = frame.sort_values(["_rank", "start"], ascending=[False, True],
                                      kind="stable").drop_duplicates(["_sid", "claim"])
        for best in best_rows.to_dict("records"):
            pid = best["_pid"]
            rows.append({"project_id": best["_sid"],
                         "name": names.get(pid, best["name"]), "report_year": report.year,
                         "part": best["part"], "claim": best["claim"], "stage": best["stage"],
                         "status_phrase": best["status_phrase"], "quote": best["quote"],
                         "report_project_id": pid, "_start": best["start"]})
    if not rows:
        return pd.DataFrame(columns=STAGES_COLUMNS)
    table = pd.DataFrame(rows).sort_values(["report_year", "_start", "claim"], kind="stable")
    return table[STAGES_COLUMNS].reset_index(drop=True)


def promise_outcomes(stages: pd.DataFrame, years: Sequence[int],
                     districts: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per target in a report: the promise and what later reports say."""
    vocab = vocabulary()
    districts = districts or {}
    by_project = {pid: g for pid, g in stages.groupby("project_id", sort=False)}
    rows = []
    for _, promise in stages[stages["claim"] == "target"].iterrows():
        target = vocab["target_of_stage"].get(promise["stage"], "none")
        if target == "none":
            continue
        year = int(promise["report_year"])
        history = by_project[promise["project_id"]]
        outcome, evidence = _outcome(history, year, target, [y for y in years if y > year])
        rows.append({"project_id": promise["project_id"], "name": promise["name"],
                     "promised_in": year, "promise": target, "outcome": outcome,
                     "evidence_year": evidence.get("year"),
                     "evidence_stage": evidence.get("stage", ""),
                     "evidence_quote": evidence.get("quote", ""),
                     "districts": districts.get(promise["project_id"], "")})
    frame = pd.DataFrame(rows, columns=PROMISES_COLUMNS)
    frame["evidence_year"] = frame["evidence_year"].astype("Int64")
    return frame


def _outcome(history: pd.DataFrame, year: int, target: str,
             later_years: list[int]) -> tuple[str, dict]:
    """Outcome of one promise made in ``year`` given the project's later rows."""
    if not later_years:
        return "unverifiable", {}
    reaches = set(vocabulary()["target_reaches"][target])
    later = history[history["report_year"] > year].sort_values("report_year", kind="stable")
    facts = later[(later["claim"] == "fact") & later["stage"].isin(reaches)]
    if len(facts):
        first = facts.iloc[0]
        evidence = {"year": int(first["report_year"]) - 1, "stage": first["stage"],
                    "quote": first["quote"]}
        kept = int(first["report_year"]) == min(later_years) == year + 1
        return ("kept" if kept else "late"), evidence
    if len(later):
        last = later.iloc[-1]
        year_of = int(last["report_year"]) - (1 if last["claim"] == "fact" else 0)
        return "in_progress", {"year": year_of, "stage": last["stage"], "quote": last["quote"]}
    return "dropped", {}


def scorecard(promises: pd.DataFrame) -> pd.DataFrame:
    """Promises by outcome: a city-wide row (全市), one per district, one for 未定位."""
    rows = [_score_row("全市", promises)]
    per: dict[str, list[int]] = {}
    for i, value in enumerate(promises["districts"].fillna("")):
        for d in [x for x in re.split(r"[;|、,]", str(value)) if x.strip()] or ["未定位"]:
            per.setdefault(d.strip(), []).append(i)
    for district in sorted(d for d in per if d != "未定位") + \
            (["未定位"] if "未定位" in per else []):
        rows.append(_score_row(district, promises.iloc[per[district]]))
    return pd.DataFrame(rows)


def _score_row(area: str, frame: pd.DataFrame) -> dict:
    counts = frame["outcome"].value_counts()
    row: dict[str, Any] = {"area": area, "promises": len(frame)}
    row.update({o: int(counts.get(o, 0)) for o in OUTCOMES})
    verifiable = len(frame) - row["unverifiable"]
    row["kept_share"] = round(row["kept"] / verifiable, 3) if verifiable else None
    return row


def report_of(stages) -> Report:
    """The tracker's view of one report's :class:`geo.pipeline.Stages`."""
    from .resolve import project_key

    year = stages.meta["report_year"]
    mentions = stages.mentions.assign(
        key=stages.mentions["name"].map(lambda n: project_key(n, stages.city)),
        key_full=stages.mentions["name"].map(project_key))
    chosen = stages.candidates[stages.candidates["chosen"].astype(bool)] \
        if len(stages.candidates) else stages.candidates
    sites = {str(pid): f"site:{row}" for pid, row in zip(chosen["project_id"],
                                                         chosen["gazetteer_row"], strict=True)}
    return Report(int(year) if year is not None else 0, stages.report_path, mentions,
                  pd.DataFrame(stages.projects.drop(columns="geometry")), sites)


def districts_of(reports: Sequence[Report], ids: dict[tuple[int, str], str]) -> dict[str, str]:
    """Series id → districts, from the latest report that locates the project."""
    out: dict[str, str] = {}
    for report in reports:
        if "districts" not in report.projects.columns:
            continue
        for pid, value in zip(report.projects["project_id"], report.projects["districts"],
                              strict=True):
            if isinstance(value, str) and value:
                out[ids.get((report.year, pid), pid)] = value
    return out


def _latest_ids(ids: dict[tuple[int, str], str]) -> dict[tuple[int, str], str]:
    """Name each matched group by the id it has in the latest report naming it, so the
    tracker's tables join the latest build's projects (GeoPackage relations, map)."""
    latest: dict[str, tuple[int, str]] = {}
    for (year, pid), sid in ids.items():
        if sid not in latest or year > latest[sid][0]:
            latest[sid] = (year, pid)
    return {key: latest[sid][1] for key, sid in ids.items()}


def track(reports: Sequence[Report]) -> tuple[pd.DataFrame, pd.DataFrame,
                                              dict[tuple[int, str], str]]:
    """``(stages, promises, ids)`` for reports sorted by year."""
    ids = _latest_ids(match_series(reports))
    table = stages_table(reports, ids)
    promises = promise_outcomes(table, [r.year for r in reports], districts_of(reports, ids))
    return table, promises, ids


def series_of_one(stages) -> tuple[pd.DataFrame, pd.DataFrame]:
    """stages and promises tables of a single build (every promise unverifiable)."""
    table, promises, _ids = track([report_of(stages)])
    return table, promises


def promise_outcome_field(project_ids: Sequence[str], promises: pd.DataFrame) -> list[str]:
    """Per project, the outcome of its latest verifiable promise (what GIS staff map):
    ``unverifiable`` when its only promises are this report's, ``""`` without promises."""
    best: dict[str, tuple[tuple[int, int], str]] = {}
    for row in promises.itertuples():
        rank = (0 if row.outcome == "unverifiable" else 1, int(row.promised_in))
        if row.project_id not in best or rank > best[row.project_id][0]:
            best[row.project_id] = (rank, row.outcome)
    return [best[p][1] if p in best else "" for p in project_ids]
