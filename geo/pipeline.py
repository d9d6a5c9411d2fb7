"""Run every stage for one report: parse → extract → resolve → geocode → districts → write.

:func:`build` computes everything in memory first and writes only when every
stage has succeeded, each file atomically; a failed build therefore leaves the
previous outputs untouched.  :func:`run_stages` is the pure part (no writes),
used by the benchmark and the tests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import shapely.geometry

from . import __version__, resources, settings
from .checks import check_projects
from .claims import add_claims, apply_claims, resolve_report_year
from .districts import allocate, districts_column, load_districts, metric_crs_of, summarise
from .errors import GazetteerError, GeoError, ReportError
from .extract import extract
from .gazetteer import load_gazetteer
from .geocode import locate, match_names, own_sentences, same_site, unplace_merged
from .io import (
    atomic_path,
    build_lock,
    ensure_folder,
    recover,
    sweep_temporaries,
    transaction,
    write_csv,
    write_text,
)
from .neighbours import load_neighbours
from .parallel import Worker
from .report import parse, read_report
from .resolve import merge_projects, resolve
from .schema import MENTIONS, PROJECTS, PROJECTS_CSV, check_columns
from .stations import load_stations, station_layer
from .survey import compare_with_reference, empty_comparison, load_reference, round_to_precision

if TYPE_CHECKING:  # imported lazily: osmnx is optional
    from .online import OnlineResult

log = logging.getLogger(__name__)


#: The delivery line of a work report: "（2024年1月23日在…人民代表大会…上）".
_STATED_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日在[^\n]{0,40}?(?:代表大会|会议)")


def stated_date(text: str) -> str | None:
    """The delivery date the report states near its start (ISO), else ``None``."""
    found = _STATED_DATE.search(text[:1000])
    if not found:
        return None
    year, month, day = (int(v) for v in found.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


@dataclass
class Stages:
    """Everything a build computes, before anything is written."""

    name: str
    city: str
    report_path: Path
    report_sha256: str
    document: object
    sections: pd.DataFrame
    mentions: pd.DataFrame
    projects: gpd.GeoDataFrame
    candidates: pd.DataFrame
    unresolved: pd.DataFrame
    districts: gpd.GeoDataFrame
    allocation: pd.DataFrame
    summary: gpd.GeoDataFrame
    checks: pd.DataFrame
    reference: pd.DataFrame = field(default_factory=empty_comparison)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    online: OnlineResult | None = None  # of `geo build --online`, else None
    #: promise tracker tables (geo.tracker); a single report is a series of one
    series_stages: pd.DataFrame | None = None
    promises: pd.DataFrame | None = None
    #: the stations this report's lines are drawn through (geo.stations.station_layer)
    stations: gpd.GeoDataFrame | None = None
    #: the projected CRS every length and area of this build is measured in
    metric_crs: str = field(default_factory=lambda: settings.metric_crs)

    @property
    def meta(self) -> dict:
        """Report facts every output records (name, source hash, year, stated date)."""
        year = getattr(self.document, "report_year", None)
        extra = {}
        if self.online is not None and self.online.attributions:  # only online builds
            extra = {"data_attribution": self.online.attributions,
                     "data_licences": self.online.licences}
        return extra | {
            "name": self.name, "city": self.city, "report_path": self.report_path.name,
            "report_sha256": self.report_sha256, "report_year": year,
            "title": f"{self.city}{year or ''}年政府工作报告项目地图",
            "generated_by": f"geo {__version__}",
            "report_date": stated_date(getattr(self.document, "text", "")),
        }

    @property
    def active_projects(self) -> gpd.GeoDataFrame:
        """The projects the map draws and the summaries count: all but those merged
        into another (``merged_into``), which keep their rows in the tables."""
        return self.projects[self.projects["merged_into"] == ""]

    @property
    def mentions_by_survivor(self) -> pd.DataFrame:
        """Mentions filed under the project that draws them (a merged project's
        mentions under its survivor), for views that show one entry per site."""
        survivor = self.projects.set_index("project_id")["merged_into"]
        target = self.mentions["project_id"].map(survivor).fillna("")
        return self.mentions.assign(
            project_id=target.where(target != "", self.mentions["project_id"]))

    def counts(self) -> dict[str, int]:
        """Mentions, active projects, located and unresolved projects, failed checks."""
        active = self.active_projects
        located = int(active.geometry.notna().sum())
        return {"mentions": len(self.mentions), "projects": len(active),
                "located": located, "unresolved": len(active) - located,
                "failed_checks": len(self.checks)}


@dataclass
class BuildResult:
    """What ``build`` returns: the stage tables and the paths it wrote."""
    stages: Stages
    paths: dict[str, Path]


def _timed(timings: dict[str, float], stage: str, func: Callable, *args, **kwargs):
    t0 = time.perf_counter()
    out = func(*args, **kwargs)
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0
    return out


def run_stages(report: Path, *, city: str, name: str, text: str | None = None,
               year: int | None = None, gazetteer_path: Path | None = None,
               districts_path: Path | None = None, online: bool = False,
               progress: Callable[[str], None] = lambda s: None) -> Stages:
    """Compute every table for one report (no output is written)."""
    timings: dict[str, float] = {}
    report = Path(report)
    if text is None:
        text = _timed(timings, "read", read_report, report)
    doc = _timed(timings, "parse", parse, text, report)
    for warning in doc.warnings:
        progress(f"warning: {warning}")
    sections = doc.sections_table()
    progress(f"parse: {len(doc.parts)} parts, {len(sections) - len(doc.parts)} sections, "
             f"{len(doc.paragraphs)} paragraphs")
    mentions = _timed(timings, "extract", extract, doc)
    report_year, year_warning = resolve_report_year(doc, text, report, year)
    if year_warning:
        doc.warnings.append(year_warning)
        progress(f"warning: {year_warning}")
    doc.report_year = report_year
    mentions = add_claims(mentions, report_year)
    progress(f"extract: {len(mentions)} mentions")

    city_files = settings.city_files(city)
    districts_path = districts_path or city_files.get("districts")
    districts = _timed(timings, "districts", _cached,
                       ("districts", city, _file_key(districts_path)),
                       load_districts, city, districts_path)
    # every length and area from here on, and the writers, use the city's own zone
    settings.metric_crs = metric_crs_of(districts)
    neighbours = _timed(timings, "districts", _cached,
                        ("neighbours", city, _file_key(city_files.get("neighbours")),
                         _file_key(districts_path), settings.metric_crs),
                        load_neighbours, city, districts)
    own_gazetteer = gazetteer_path is None or gazetteer_path == city_files.get("gazetteer")
    gazetteer_path = gazetteer_path or city_files.get("gazetteer")
    gazetteer = None
    stations_path = city_files.get("stations") if own_gazetteer else None
    stations = (_cached(("stations", _file_key(stations_path)), load_stations,
                        Path(stations_path))
                if stations_path is not None and Path(stations_path).exists() else None)
    if gazetteer_path is not None and Path(gazetteer_path).exists():
        gazetteer_key = ("gazetteer", _file_key(gazetteer_path), _file_key(districts_path),
                         city, _file_key(stations_path))
        gazetteer = _timed(timings, "gazetteer", _cached, gazetteer_key, load_gazetteer,
                           Path(gazetteer_path), districts=districts, stations=stations)
    elif gazetteer_path is not None:
        raise GeoError("gazetteer file not found", path=gazetteer_path,
                       fix="restore it or remove the city's entry from geo.settings.city_data")

    mentions, table = _timed(timings, "resolve", resolve, mentions, city)
    progress(f"resolve: {len(table)} projects")
    if table.empty:
        raise ReportError("no project mentions found, nothing to map",
                          fix="check that this is a government work report; "
                              "`geo extract` lists what the extractor finds")
    matches = _timed(timings, "geocode", match_names, list(mentions["name"]), gazetteer, city)
    projects, candidates, unresolved = _timed(timings, "geocode", locate, table, mentions,
                                              matches, gazetteer, districts, city)
    online_result = None
    if online:
        from .online import run_online

        projects, unresolved, online_result = _timed(
            timings, "online", run_online, projects, unresolved, own_sentences(mentions),
            districts, city, city_files.get("decisions"), progress)
    elif gazetteer is None:
        progress(f"warning: no gazetteer for {city} and no online sources: projects are placed "
                 f"at county level at best (add data/raw/{city}_gazetteer.csv, see "
                 "data/raw/GAZETTEER.md, or run `geo build --online`)")
    projects = unplace_merged(merge_projects(projects, mentions, city, same_site(projects)))
    projects = apply_claims(projects, mentions, report_year)
    projects = assign_themes(projects)
    active = projects[projects["merged_into"] == ""]
    allocation = _timed(timings, "districts", allocate, active, districts, neighbours)
    projects = _finish_projects(projects, allocation)
    active = projects[projects["merged_into"] == ""]
    summary = _timed(timings, "districts", summarise, active, allocation, districts)
    checks = _timed(timings, "checks", check_projects, active, districts, city,
                    own_sentences(mentions), neighbours)
    reference = _timed(timings, "checks", _reference_check, gazetteer,
                       city_files.get("reference") if own_gazetteer else None)
    stages = Stages(name, city, report, hashlib.sha256(text.encode("utf-8")).hexdigest(), doc,
                    sections, mentions, projects, candidates, unresolved, districts, allocation,
                    summary, checks, reference, timings, list(doc.warnings), online_result)
    set_promises(stages, *_series_of_one(stages))
    if stations is not None and gazetteer is not None:
        # the stations of the lines this report's projects are drawn as, not of every line
        chosen = candidates[candidates["chosen"].astype(bool)] if len(candidates) else candidates
        drawn = tuple(sorted({int(r) for r in chosen.get("gazetteer_row", [])}))
        stages.stations = _cached(("station_layer", gazetteer_key, drawn), station_layer,
                                  stations, gazetteer[gazetteer["row"].isin(drawn)])
    c = stages.counts()
    progress(f"geocode: {c['located']} located, {c['unresolved']} unresolved "
             f"({_precision_breakdown(projects)})")
    for _, row in checks.iterrows():
        progress(f"warning: check {row['check']} failed for {row['name']}: {row['detail']}")
    _refuse_failed_references(reference, gazetteer_path)
    return stages


def _refuse_failed_references(reference: pd.DataFrame, path: Path | None) -> None:
    """A precision class that fails its tolerance on an evidence point is a data
    error: the row promises a distance it does not keep."""
    failed = reference[~reference["within"].astype(bool)]
    if len(failed):
        row = failed.iloc[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise GazetteerError(
            f"gazetteer row {row['name']!r} lies {row['distance_m']:.0f} m from"
            f" {row['feature']}, but its precision {row['precision']} promises"
            f" {row['tolerance_m']:.0f} m{more}", path=path,
            fix="redraw the row through better coordinates, or lower its precision")


def _series_of_one(stages: Stages) -> tuple[pd.DataFrame, pd.DataFrame]:
    from .tracker import series_of_one

    return series_of_one(stages)


def set_promises(stages: Stages, table: pd.DataFrame, promises: pd.DataFrame) -> None:
    """Attach the tracker's tables and each project's ``promise_outcome``."""
    from .tracker import promise_outcome_field

    stages.series_stages, stages.promises = table, promises
    stages.projects["promise_outcome"] = promise_outcome_field(
        list(stages.projects["project_id"]), promises)


def _reference_check(gazetteer: gpd.GeoDataFrame | None, path: Path | None) -> pd.DataFrame:
    """Compare the gazetteer with the city's reference coordinates, if it has any.

    Only evidence is kept: independent points and leave-one-out measures (the
    ``method`` column says which).  A point a geometry was drawn through is no
    evidence for it and is not listed; the stations lines are drawn through are
    in the ``stations`` layer instead."""
    if gazetteer is None or path is None or not Path(path).exists():
        return empty_comparison()
    comparison = compare_with_reference(gazetteer, load_reference(Path(path)), path=path)
    return comparison[comparison["method"] != "drawn"].reset_index(drop=True)


#: Districts and gazetteers already read in this process, keyed by file identity.
_LOADED: dict[tuple, gpd.GeoDataFrame] = {}


def _file_key(path: Path | None) -> tuple | None:
    """Identity of an input file: path, modification time and size (None if absent)."""
    if path is None or not Path(path).exists():
        return None
    stat = Path(path).stat()
    return (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


def _cached(key: tuple, loader: Callable, *args, **kwargs) -> gpd.GeoDataFrame:
    """Load once per process and input identity (a corpus of reports of one city reads
    its boundaries and gazetteer once); callers get a copy they may modify."""
    if key not in _LOADED:
        _LOADED[key] = loader(*args, **kwargs)
    return _LOADED[key].copy()


def _precision_breakdown(projects: gpd.GeoDataFrame) -> str:
    counts = projects.loc[projects.geometry.notna(), "precision"].value_counts()
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def assign_themes(projects: pd.DataFrame) -> pd.DataFrame:
    """Set each project's ``theme`` from its final kind (the gazetteer's kind wins over
    the extractor's), once: every later table reads this column."""
    theme = resources.theme_of_kind()
    return projects.assign(theme=projects["kind"].map(lambda k: theme.get(k, "urban")))


def _finish_projects(projects: gpd.GeoDataFrame, allocation: pd.DataFrame) -> gpd.GeoDataFrame:
    """Add labels, geometry type, districts, lengths and areas; order columns."""
    projects = projects.copy()
    labels = {s["code"]: s for s in resources.statuses()}
    projects["status_label_zh"] = projects["status"].map(lambda s: labels[s]["zh"])
    projects["status_label_en"] = projects["status"].map(lambda s: labels[s]["en"])
    projects["geometry_type"] = [g.geom_type if g is not None else "" for g in projects.geometry]
    cols = districts_column(allocation)
    projects["districts"] = projects["project_id"].map(cols).fillna("")
    metric = projects.geometry.to_crs(settings.metric_crs)
    measurable = projects["precision"].isin(["surveyed", "site", "approximate", "schematic"])
    lines = projects["geometry_type"].str.contains("LineString") & measurable
    polys = projects["geometry_type"].str.contains("Polygon") & measurable
    projects["length_km"] = round_to_precision(metric.length / 1000.0, projects["precision"]
                                                ).where(lines)
    projects["area_km2"] = round_to_precision(metric.area / 1e6, projects["precision"]
                                               ).where(polys)
    for column in ("published_length_km", "published_area_km2"):
        projects[column] = pd.to_numeric(projects.get(column), errors="coerce")
    for column in ("measure_note", "cited_vertices"):
        projects[column] = projects.get(column, pd.Series("", index=projects.index)).fillna("")
    projects["status_year"] = projects["status_year"].astype("Int64")
    projects["target_year"] = projects["target_year"].astype("Int64")
    projects = projects.sort_values("first_start", kind="stable").reset_index(drop=True)
    frame = gpd.GeoDataFrame(projects[[*PROJECTS, "geometry"]], geometry="geometry",
                             crs="EPSG:4326")
    return check_columns(frame, PROJECTS, "projects")


# ----------------------------------------------------------------------------- writing


#: Characters a build name may not contain (path separators, Windows-reserved, controls).
#: Longest build name in UTF-8 bytes: file names are NAME_MAX (255) bytes on common file
#: systems, and outputs add up to ~40 bytes (``.NAME.xxxxxxxx_embed.html-journal``).
MAX_NAME_BYTES = 200
_BAD_NAME = re.compile(r'[\\/<>:"|?*\x00-\x1f]')


def check_name(name: str) -> str:
    """Return ``name`` if it is one plain file name, else raise :class:`GeoError`.

    The name becomes file and folder names under the output folders, so
    ``../x``, ``a/b``, ``.hidden`` or an absolute path could write elsewhere.
    """
    if not name or name.startswith(".") or name != name.strip() or _BAD_NAME.search(name):
        raise GeoError(f"invalid build name {name!r}: it must be a plain file name",
                       fix="use letters, digits, _ or - (e.g. ningbo_2024), "
                           "without / or \\ or a leading dot")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise GeoError(f"build name too long ({len(name.encode('utf-8'))} bytes in UTF-8, at most "
                       f"{MAX_NAME_BYTES}): file names would exceed the file system's limit",
                       fix="use a shorter --name (e.g. hangzhou_2025)")
    return name


def output_paths(name: str, root: Path | None = None) -> dict[str, Path]:
    """Where a build named ``name`` writes each output (``name`` checked by :func:`check_name`)."""
    check_name(name)
    base = Path(root) if root else settings.root
    processed = (base / "data" / "processed" / name) if root else settings.processed_folder / name
    layers = (base / "layers") if root else settings.layers_folder
    maps = (base / "maps") if root else settings.maps_folder
    data = maps / f"{name}_data"
    return {
        "mentions": processed / "mentions.csv", "projects": processed / "projects.csv",
        "projects_geojson": processed / "projects.geojson",
        "sections": processed / "sections.csv", "summary": processed / "district_summary.csv",
        "summary_md": processed / "district_summary.md",
        "allocation": processed / "district_allocation.csv",
        "unresolved": processed / "unresolved.csv",
        "candidates": processed / "geocode_candidates.csv", "checks": processed / "checks.csv",
        "reference": processed / "reference_check.csv",
        "stages": processed / "stages.csv", "promises": processed / "promises.csv",
        "scorecard": processed / "scorecard.csv",
        "gpkg": layers / f"{name}.gpkg", "map": maps / f"{name}.html",
        "embed": maps / f"{name}_embed.html",
        "download_geojson": data / "projects.geojson", "download_csv": data / "projects.csv",
        "download_dictionary": data / "data_dictionary.md",
    }


def projects_geojson(projects: gpd.GeoDataFrame, digits: int = 6) -> str:
    """Deterministic GeoJSON of the located projects (sorted, rounded, fixed key order)."""
    located = projects[projects.geometry.notna()].sort_values("project_id", kind="stable")
    features = []
    for _, row in located.iterrows():
        props = {c: _plain(row[c]) for c in PROJECTS}
        geom = shapely.geometry.mapping(row.geometry)  # not GeoSeries.to_json: 100x slower
        features.append({"type": "Feature", "id": row["project_id"], "properties": props,
                         "geometry": {"type": geom["type"],
                                      "coordinates": _round(geom["coordinates"], digits)}})
    collection = {"type": "FeatureCollection",
                  "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
                  "features": features}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n"


def _plain(value):
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _round(coords, digits: int):
    if isinstance(coords, (list, tuple)):
        if coords and isinstance(coords[0], (int, float)):
            return [round(float(c), digits) for c in coords]
        return [_round(c, digits) for c in coords]
    return coords


def data_dictionary() -> str:
    """A short Markdown data dictionary for the downloadable project table (naming the
    build's metric CRS: call it while that is set, as the writers do)."""
    return resources.resource_text("data_dictionary.md").replace("{metric_crs}",
                                                                 settings.metric_crs)


def write_outputs(stages: Stages, paths: dict[str, Path], *,
                  progress: Callable[[str], None] = lambda s: None,
                  map_worker: Worker | None = None) -> None:
    """Write every output of a build: each file atomically, and all of them or none
    (:func:`geo.io.transaction`), so a failure keeps the previous set intact.

    ``map_worker``: a :class:`geo.parallel.Worker` already warming up (see
    :func:`build`); one is started here otherwise."""
    with settings.restoring_metric_crs(), transaction(journal_path(paths)):
        settings.metric_crs = stages.metric_crs  # the CRS its lengths were measured in
        _write_all(stages, paths, progress, map_worker)


def journal_path(paths: dict[str, Path]) -> Path:
    """The rename journal of a build (beside its GeoPackage; exists only mid-switch)."""
    gpkg = paths["gpkg"]
    return gpkg.with_name(f".{gpkg.stem}.switch")


def _write_all(stages: Stages, paths: dict[str, Path], progress: Callable[[str], None],
               map_worker: Worker | None = None) -> None:
    for folder in {p.parent for p in paths.values()}:
        ensure_folder(folder)
    worker = map_worker or Worker(_import_webmap)
    # The worker is the innermost context: on failure it is stopped before the
    # temporary files it writes are deleted.
    with atomic_path(paths["map"]) as map_tmp, atomic_path(paths["embed"]) as embed_tmp, worker:
        # The map is rendered by the worker (which imported folium while the stages
        # ran) into temporary files this process renames with the others.
        t0 = time.perf_counter()
        worker.submit(_render_map_files, stages, _downloads(paths), map_tmp, embed_tmp)
        _write_geopackage(stages, paths)
        progress(f"layers: {paths['gpkg']}")
        _write_tables(stages, paths)
        progress(f"tables: {paths['mentions'].parent}")
        worker.result()
        stages.timings["write_map"] = time.perf_counter() - t0
    progress(f"map: {paths['map']} (embed: {paths['embed'].name})")


def _import_webmap() -> None:
    """Warm-up of the map worker: folium is the slowest import of the build."""
    from . import webmap  # noqa: F401


def _render_map_files(stages: Stages, downloads: dict[str, str], full: Path,
                      embed: Path) -> None:
    from .webmap import build_pages

    pages = build_pages(projects=_with_promises(stages),
                        mentions=map_mentions(stages.mentions_by_survivor),
                        summary=stages.summary, districts=stages.districts,
                        meta={**stages.meta, "scorecard": _scorecard_rows(stages)},
                        downloads=downloads)
    for path, page in zip((full, embed), pages, strict=True):
        Path(path).write_bytes(page.encode("utf-8"))


#: Mentions per project the web map embeds (the first ones, in document order); the
#: tables and the GeoPackage keep all.  Keeps the page bounded for huge reports.
MAP_MENTIONS_PER_PROJECT = 10


def map_mentions(mentions: pd.DataFrame) -> pd.DataFrame:
    """The mentions the map shows: at most MAP_MENTIONS_PER_PROJECT per project."""
    order = mentions.sort_values(["start", "mention_id"], kind="stable")
    return order[order.groupby("project_id").cumcount() < MAP_MENTIONS_PER_PROJECT]


def _scorecard_rows(stages: Stages) -> list[dict]:
    """The scorecard (promises by outcome per area) as plain records for the map."""
    from .tracker import scorecard

    return scorecard(_promise_frames(stages)[1]).to_dict("records")


def _with_promises(stages: Stages) -> gpd.GeoDataFrame:
    """The map's projects, each with the list of its promises and their outcomes
    (the scorecard, the outcome filter and the popups read it)."""
    _, promises = _promise_frames(stages)
    by_project: dict[str, list[dict]] = {}
    for row in promises.itertuples():
        by_project.setdefault(row.project_id, []).append(
            {"year": int(row.promised_in), "promise": row.promise, "outcome": row.outcome,
             "evidence_year": None if pd.isna(row.evidence_year) else int(row.evidence_year)})
    projects = stages.active_projects.copy()
    projects["promises"] = [by_project.get(pid, []) for pid in projects["project_id"]]
    return projects


def _downloads(paths: dict[str, Path]) -> dict[str, str]:
    """Links from the map to the open-data files, relative to the map's folder."""
    maps = paths["map"].parent
    return {
        "projects.geojson": _relative_url(paths["download_geojson"], maps),
        "projects.csv": _relative_url(paths["download_csv"], maps),
        "data_dictionary.md": _relative_url(paths["download_dictionary"], maps),
        "geopackage": _relative_url(paths["gpkg"], maps),
    }


def _write_geopackage(stages: Stages, paths: dict[str, Path]) -> None:
    from .layers import write_geopackage

    t0 = time.perf_counter()
    write_geopackage(paths["gpkg"], projects=stages.projects, mentions=stages.mentions,
                     sections=stages.sections, unresolved=stages.unresolved,
                     candidates=stages.candidates, districts=stages.districts,
                     summary=stages.summary, meta=stages.meta, reference=stages.reference,
                     promises=_promise_frames(stages), stations=stages.stations)
    stages.timings["write_gpkg"] = time.perf_counter() - t0


def _write_tables(stages: Stages, paths: dict[str, Path]) -> None:
    from .districts import format_summary

    t0 = time.perf_counter()
    write_csv(paths["mentions"], stages.mentions[MENTIONS])
    write_csv(paths["projects"], stages.projects[PROJECTS_CSV])
    geojson = projects_geojson(stages.projects)
    write_text(paths["projects_geojson"], geojson)
    write_csv(paths["sections"], stages.sections)
    write_csv(paths["summary"], pd.DataFrame(stages.summary.drop(columns="geometry")))
    write_text(paths["summary_md"], format_summary(stages.summary, "markdown"))
    write_csv(paths["allocation"], stages.allocation)
    write_csv(paths["unresolved"], stages.unresolved)
    write_csv(paths["candidates"], stages.candidates)
    if stages.online is not None:
        from .online import write_online

        write_online(stages.online, paths["candidates"].parent)
    write_csv(paths["checks"], stages.checks)
    write_csv(paths["reference"], stages.reference)
    _write_promises(stages, paths)
    write_text(paths["download_geojson"], geojson)
    write_csv(paths["download_csv"], pd.DataFrame(stages.projects.drop(columns="geometry")))
    write_text(paths["download_dictionary"], data_dictionary())
    stages.timings["write_tables"] = time.perf_counter() - t0


def _promise_frames(stages: Stages) -> tuple[pd.DataFrame, pd.DataFrame]:
    """stages and promises tables of the build (computed once, series of one if needed)."""
    from .tracker import series_of_one

    if stages.promises is None:
        stages.series_stages, stages.promises = series_of_one(stages)
    return stages.series_stages, stages.promises


def _write_promises(stages: Stages, paths: dict[str, Path]) -> None:
    """stages.csv, promises.csv and scorecard.csv (a single report: a series of one)."""
    from .tracker import scorecard, series_of_one

    if stages.promises is None:
        stages.series_stages, stages.promises = series_of_one(stages)
    write_csv(paths["stages"], stages.series_stages)
    write_csv(paths["promises"], stages.promises)
    write_csv(paths["scorecard"], scorecard(stages.promises))


def _relative_url(target: Path, start: Path) -> str:
    """``target`` as a URL relative to ``start``: every byte outside ``A-Za-z0-9_.-/``
    percent-encoded (a build name with spaces, ``#``, ``&``, quotes or Chinese), and
    ``./`` in front when it would not start with a letter, digit, ``_`` or ``.``
    (the map accepts only such relative links)."""
    import os
    from urllib.parse import quote

    url = quote(Path(os.path.relpath(target, start)).as_posix(), safe="/").replace("~", "%7E")
    return url if re.match(r"[A-Za-z0-9_.]", url) else "./" + url


def build(report: Path | None = None, *, city: str | None = None, name: str | None = None,
          root: Path | None = None, online: bool = False, year: int | None = None,
          progress: Callable[[str], None] = lambda s: None) -> BuildResult:
    """Build every output for ``report`` (default: the Ningbo 2024 report)."""
    report = Path(report) if report else settings.default_report
    city = settings.canonical_city(city or settings.default_city)
    online = online or settings.use_network
    if name is None:
        name = settings.default_name if report == settings.default_report else report.stem
    paths = output_paths(name, root)  # checks the name before any folder is created
    for folder in {p.parent for p in paths.values()}:
        ensure_folder(folder)
    # Start the map's worker first: it imports the web-map libraries while the
    # stages run here (see geo.parallel).
    with build_lock(paths["gpkg"], progress), Worker(_import_webmap) as map_worker, \
            settings.restoring_metric_crs():
        if recover(journal_path(paths)):
            progress("recovered: finished the output switch of an interrupted build")
        sweep_temporaries(paths.values())
        stages = run_stages(report, city=city, name=name, year=year, online=online,
                            progress=progress)
        write_outputs(stages, paths, progress=progress, map_worker=map_worker)
    c = stages.counts()
    progress(f"done: {c['mentions']} mentions, {c['projects']} projects, {c['located']} located, "
             f"{c['unresolved']} unresolved")
    return BuildResult(stages, paths)
