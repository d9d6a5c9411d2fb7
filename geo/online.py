"""OpenStreetMap look-ups through osmnx, for projects the gazetteer could not locate.

This is the only module that imports :mod:`osmnx`, and it does so lazily, so
the default (offline) build never needs it and never touches the network.

What it does (``geo build --online``):

1. :func:`configure_osmnx` turns on osmnx's on-disk HTTP cache
   (``settings.cache_folder``), Overpass slot management, a timeout and a user
   agent naming this project.
2. :func:`search_osm` downloads the named features of interest (railways,
   major roads, parks, hospitals, schools, reservoirs, airports, harbours …)
   inside the city's boundary polygon once per build -- from Overpass, or
   offline from an OSM XML file -- and matches their names to the project
   names locally.  Names still unmatched are sent to Nominatim, one polite,
   cached request each, restricted to the boundary.
3. :func:`write_candidates` writes what was found as reviewable candidates
   (``osm_candidates.csv`` + ``.geojson``).  Candidates never override curated
   gazetteer entries: ``chosen`` is True only for a unique exact name match,
   and it is for the reviewer to copy a candidate into the gazetteer.

OSM data © OpenStreetMap contributors, available under the ODbL 1.0.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from . import __version__, settings
from .errors import GeoError, require
from .io import write_csv, write_text
from .names import (
    city_prefixes,
    match_score,
    normalize_name,
    shortlister,
)
from .schema import CANDIDATES, check_columns

#: OSM tags downloaded from Overpass (or read from XML) and matched by name.
QUERY_TAGS: dict[str, bool | str | list[str]] = {
    "railway": ["rail", "subway", "light_rail", "construction", "proposed", "station"],
    "highway": ["motorway", "trunk", "primary", "construction", "proposed"],
    "leisure": ["park", "nature_reserve", "stadium", "sports_centre"],
    "amenity": ["hospital", "school", "university", "college"],
    "water": ["reservoir"],
    "landuse": ["reservoir", "construction"],
    "aeroway": ["aerodrome"],
    "harbour": True,
    "man_made": ["bridge"],
}

#: OSM tags copied into the candidate table (the OSM ``name`` is ``candidate``).
TAG_COLUMNS: list[str] = [
    "name:en", "railway", "highway", "construction", "leisure", "amenity", "landuse",
    "water", "aeroway",
]

#: All columns of the candidate table, in output order (geometry last).
COLUMNS: list[str] = [*CANDIDATES, *TAG_COLUMNS, "osm_ids", "lon", "lat"]

#: OSM keys holding names that are compared with project names.
NAME_KEYS: tuple[str, ...] = ("name", "name:zh", "name:zh-Hans", "official_name", "alt_name")

#: Features with the same name and tag closer than this (degrees, ~500 m) form one candidate.
GROUP_DISTANCE_DEG = 0.005


#: Attribution required by the ODbL wherever OSM-derived data is shown.
ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0)"

_DROP_CLASSES = {"boundary", "place"}  # Nominatim results that are areas, not projects


# --------------------------------------------------------------------------- osmnx set-up

def _osmnx():
    """Import osmnx or raise a one-line :class:`DependencyError` with the fix."""
    return require("osmnx", "online geocoding (--online)")


def configure_osmnx(cache_folder: Path | None = None) -> None:
    """Set osmnx's cache, timeout, Overpass rate limit and user agent for this project.

    Parameters
    ----------
    cache_folder
        Folder for osmnx's HTTP response cache; defaults to ``settings.cache_folder``.
    """
    ox = _osmnx()
    agent = f"geo-report-map/{__version__} (maps the projects of Chinese government work reports)"
    ox.settings.use_cache = True
    ox.settings.cache_folder = str(cache_folder or settings.cache_folder)
    ox.settings.requests_timeout = 180
    ox.settings.overpass_rate_limit = True
    ox.settings.http_user_agent = agent
    ox.settings.http_referer = agent
    ox.settings.http_accept_language = "zh-CN,zh;q=0.9,en;q=0.5"
    ox.settings.log_console = False


def nominatim_query(name: str, city: str, boundary: BaseGeometry) -> dict[str, str]:
    """Return the Nominatim search parameters for ``name``, bounded to ``boundary``'s box."""
    west, south, east, north = boundary.bounds
    return {
        "q": f"{name}, {city}",
        "viewbox": f"{west:.6f},{north:.6f},{east:.6f},{south:.6f}",
        "bounded": "1",
        "countrycodes": "cn",
    }


def nominatim_cache_file(query: dict[str, str]) -> Path:
    """Return the file osmnx 2.1 caches the answer to ``geocode_to_gdf(query, which_result=1)`` in.

    Mirrors ``osmnx._nominatim``: the SHA-1 of the prepared GET URL of
    ``<nominatim_url>/search`` with the parameters format, polygon_geojson,
    dedupe, limit, then the query's keys in sorted order.  Used to skip the
    polite pause for cached answers (a wrong guess only costs a pause).
    """
    ox = _osmnx()
    import requests

    params: OrderedDict[str, Any] = OrderedDict(
        format="json", polygon_geojson=1, dedupe=0, limit=1)
    for key in sorted(query):
        params[key] = query[key]
    if ox.settings.nominatim_key is not None:
        params["key"] = ox.settings.nominatim_key
    url = ox.settings.nominatim_url.rstrip("/") + "/search"
    prepared = str(requests.Request("GET", url, params=params).prepare().url)
    digest = hashlib.sha1(prepared.encode("utf-8")).hexdigest()  # noqa: S324 - osmnx's key
    return Path(ox.settings.cache_folder) / f"{digest}.json"


# --------------------------------------------------------------------------- features

def _check_boundary(boundary: BaseGeometry) -> BaseGeometry:
    """Return a valid (Multi)Polygon boundary or raise :class:`GeoError`."""
    if isinstance(boundary, (gpd.GeoSeries, gpd.GeoDataFrame)):
        boundary = boundary.to_crs("EPSG:4326").union_all()
    if boundary is None or boundary.is_empty or boundary.geom_type not in {
            "Polygon", "MultiPolygon"}:
        raise GeoError("the city boundary for OSM searches must be a non-empty (Multi)Polygon",
                       fix="check the district boundaries of the city")
    return boundary if boundary.is_valid else shapely.make_valid(boundary)


def fetch_features(boundary: BaseGeometry, *, xml_path: Path | None = None) -> gpd.GeoDataFrame:
    """Return the named OSM features of :data:`QUERY_TAGS` that intersect ``boundary``.

    Reads ``xml_path`` (offline) or asks Overpass (cached on disk, rate limited).
    Returns an empty frame when nothing matches.
    """
    ox = _osmnx()
    try:
        if xml_path is not None:
            gdf = ox.features_from_xml(xml_path, polygon=boundary, tags=QUERY_TAGS)
        else:
            gdf = ox.features_from_polygon(boundary, tags=QUERY_TAGS)
    except ox._errors.InsufficientResponseError:  # no feature inside the boundary
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    except (OSError, ox._errors.ResponseStatusCodeError) as exc:  # requests: OSError
        raise _network_error(exc) from exc
    gdf = gdf.reset_index()
    gdf["osm_id"] = gdf["element"].astype(str) + "/" + gdf["id"].astype(str)
    return gdf[gdf.get("name", pd.Series(dtype=object)).notna()].reset_index(drop=True)


def _network_error(exc: Exception) -> GeoError:
    return GeoError(f"OpenStreetMap request failed: {exc}",
                    fix="check the internet connection, or build without --online")


def _feature_names(values: Iterable[Any]) -> list[str]:
    """Return the distinct names in one feature's name tags (alt_name may hold several, ';')."""
    names: list[str] = []
    for value in values:
        if isinstance(value, str):
            names.extend(v.strip() for v in value.split(";") if v.strip())
    return list(dict.fromkeys(names))


def _group_features(features: gpd.GeoDataFrame) -> list[list[int]]:
    """Group feature rows into candidates: same OSM name, same main tag, and near each other.

    A metro line or road split into many ways becomes one candidate; two schools
    with the same name in different districts stay two candidates.
    """
    by_name: dict[tuple[str, str], list[int]] = {}
    tag_keys = [k for k in QUERY_TAGS if k in features.columns]
    for i, row in zip(features.index, features[["name", *tag_keys]].itertuples(index=False),
                      strict=True):
        tag = next((f"{k}={v}" for k, v in zip(tag_keys, row[1:], strict=True)
                    if isinstance(v, str)), "")
        by_name.setdefault((str(row[0]), tag), []).append(i)
    geometries = dict(zip(features.index, features.geometry.array, strict=True))
    groups: list[list[int]] = []
    for members in by_name.values():
        groups.extend(_clusters(members, [geometries[i] for i in members]))
    return groups


def _clusters(labels: list[int], geometries: list[BaseGeometry]) -> list[list[int]]:
    """Split geometries into chains whose links are closer than GROUP_DISTANCE_DEG."""
    parent = list(range(len(labels)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(labels) - 1):
        near = shapely.dwithin(geometries[i], geometries[i + 1:], GROUP_DISTANCE_DEG)
        for j in (i + 1 + k for k, is_near in enumerate(near) if is_near):
            parent[root(j)] = root(i)
    clusters: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        clusters.setdefault(root(i), []).append(label)
    return list(clusters.values())


def _name_index(features: gpd.GeoDataFrame, prefixes: Sequence[str]) -> dict[str, set[int]]:
    """Map each normalised OSM name to the feature rows carrying it."""
    index: dict[str, set[int]] = {}
    columns = [k for k in NAME_KEYS if k in features.columns]
    rows = features[columns].itertuples(index=False)
    for i, values in zip(features.index, rows, strict=True):
        for name in _feature_names(values):
            index.setdefault(normalize_name(name, prefixes), set()).add(i)
    return index


def _candidate_row(project_id: str, name: str, features: gpd.GeoDataFrame, rows: list[int],
                   rule: str, score: float) -> dict[str, Any]:
    """Build one candidate from the feature rows of one OSM name/tag group."""
    part = features.loc[sorted(rows)]
    ids = sorted(part["osm_id"], key=_osm_sort_key)
    geometry = _merge(part.geometry.values)
    first = part.iloc[0]
    row = {"project_id": project_id, "name": name, "candidate": str(first["name"]),
           "gazetteer_row": ids[0], "rule": rule, "score": float(score), "chosen": False,
           "osm_ids": ";".join(ids), "geometry": geometry}
    for tag in TAG_COLUMNS:
        value = first.get(tag)
        row[tag] = value if isinstance(value, str) else ""
    return row


def _merge(geometries: Sequence[BaseGeometry]) -> BaseGeometry:
    """Union the geometries of one group; join touching line pieces into one line."""
    if len(geometries) == 1:
        return geometries[0]
    merged = shapely.union_all(geometries)
    return shapely.line_merge(merged) if merged.geom_type == "MultiLineString" else merged


def _osm_sort_key(osm_id: str) -> tuple[str, int]:
    element, _, number = osm_id.partition("/")
    return element, int(number)


def match_features(names: Sequence[tuple[str, str]], features: gpd.GeoDataFrame,
                   prefixes: Sequence[str]) -> list[dict[str, Any]]:
    """Return candidate rows for every (project_id, name) matching an OSM feature name."""
    if features.empty:
        return []
    index = _name_index(features, prefixes)
    groups = _group_features(features)
    group_of = {row: g for g, members in enumerate(groups) for row in members}
    keys = list(index)
    shortlist_numbers = shortlister(keys)

    def shortlist(key: str) -> list[str]:
        return [keys[n] for n in shortlist_numbers(key)]

    out: list[dict[str, Any]] = []
    for project_id, name in names:
        key = normalize_name(name, prefixes)
        best: dict[int, float] = {}
        for other in shortlist(key):
            score = match_score(key, other)
            for row in index[other] if score is not None else ():
                best[group_of[row]] = max(score, best.get(group_of[row], 0.0))
        for g in sorted(best):
            rule = "osm_name_exact" if best[g] == 1.0 else "osm_name_fuzzy"
            out.append(_candidate_row(project_id, name, features, groups[g], rule, best[g]))
    return out


# --------------------------------------------------------------------------- nominatim

def _pause_unless_cached(query: dict[str, str]) -> None:
    """Wait ``settings.request_pause`` s before a request osmnx has not cached.

    This comes on top of osmnx's own 1 s pause before every Nominatim request
    (the usage policy's maximum of one request per second); cached answers wait
    for nothing.
    """
    if not nominatim_cache_file(query).is_file():
        time.sleep(settings.request_pause)


def geocode_name(name: str, city: str, boundary: BaseGeometry) -> gpd.GeoDataFrame:
    """Ask Nominatim (through osmnx, cached) for ``name`` in ``city``; empty if not found."""
    ox = _osmnx()
    query = nominatim_query(name, city, boundary)
    _pause_unless_cached(query)
    try:
        return ox.geocode_to_gdf(query, which_result=1)
    except ox._errors.InsufficientResponseError:  # Nominatim found nothing
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    except (OSError, ox._errors.ResponseStatusCodeError) as exc:
        raise _network_error(exc) from exc


def _nominatim_candidate(project_id: str, name: str, result: pd.Series,
                         prefixes: Sequence[str]) -> dict[str, Any] | None:
    """Turn one Nominatim result into a candidate row, or None if its name does not match."""
    found = result.get("name")
    if not isinstance(found, str) or not found:
        found = str(result.get("display_name", "")).split(",")[0]
    if result.get("class") in _DROP_CLASSES:
        return None
    score = match_score(normalize_name(name, prefixes), normalize_name(found, prefixes))
    if score is None:
        return None
    row = {"project_id": project_id, "name": name, "candidate": found,
           "gazetteer_row": f"{result.get('osm_type')}/{result.get('osm_id')}",
           "rule": "nominatim", "score": float(score), "chosen": False,
           "osm_ids": f"{result.get('osm_type')}/{result.get('osm_id')}",
           "geometry": result.geometry}
    row.update({tag: "" for tag in TAG_COLUMNS})
    if result.get("class") in TAG_COLUMNS:
        row[str(result["class"])] = str(result.get("type", ""))
    return row


def geocode_names(names: Sequence[tuple[str, str]], boundary: BaseGeometry, city: str,
                  prefixes: Sequence[str]) -> list[dict[str, Any]]:
    """Return Nominatim candidates inside ``boundary`` for each (project_id, name)."""
    out: list[dict[str, Any]] = []
    for project_id, name in names:
        for _, result in geocode_name(name, city, boundary).iterrows():
            if result.geometry is None or not result.geometry.intersects(boundary):
                continue
            row = _nominatim_candidate(project_id, name, result, prefixes)
            if row is not None:
                out.append(row)
    return out


# --------------------------------------------------------------------------- search

def _require_network() -> None:
    if not settings.use_network:
        raise GeoError("the network is disabled, so OpenStreetMap cannot be searched",
                       fix="run `geo build --online` (or set GEO_ONLINE=1), or pass an OSM "
                           "XML file")


def _frame(rows: Iterable[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Build the sorted candidate GeoDataFrame and mark unique exact matches as chosen."""
    frame = gpd.GeoDataFrame(list(rows), columns=[*COLUMNS[:-2], "geometry"],
                             geometry="geometry", crs="EPSG:4326")
    points = frame.geometry.representative_point()
    frame.insert(len(COLUMNS) - 2, "lon", points.x.round(6) if len(frame) else [])
    frame.insert(len(COLUMNS) - 1, "lat", points.y.round(6) if len(frame) else [])
    frame = frame.sort_values(["project_id", "score", "gazetteer_row"],
                              ascending=[True, False, True], kind="mergesort")
    counts = frame.groupby("project_id")["project_id"].transform("size")
    frame["chosen"] = (frame["score"] == 1.0) & (counts == 1)
    frame["chosen"] = frame["chosen"].astype(bool)
    return check_columns(frame.reset_index(drop=True), CANDIDATES, "osm_candidates")


def search_osm(names: Sequence[tuple[str, str]], boundary: BaseGeometry, *,
               xml_path: Path | None = None, city: str | None = None,
               use_nominatim: bool = True) -> gpd.GeoDataFrame:
    """Find OpenStreetMap candidates inside ``boundary`` for (project_id, name) pairs.

    Parameters
    ----------
    names
        (project_id, name) pairs of projects the gazetteer could not locate.
    boundary
        The city's boundary, a shapely (Multi)Polygon (or a GeoSeries/GeoDataFrame)
        in EPSG:4326; features outside it are excluded.
    xml_path
        An OSM XML file to read instead of the network (offline; no Nominatim).
    city
        City name used to strip prefixes and to qualify Nominatim queries
        (default ``settings.default_city``).
    use_nominatim
        Ask Nominatim for names the features did not match (online only).

    Returns
    -------
    GeoDataFrame (EPSG:4326) with the columns :data:`COLUMNS` and ``geometry``.
    Rows are candidates for review; ``chosen`` is True only for a project with
    exactly one candidate whose score is 1 (exact name).

    Raises
    ------
    GeoError
        When ``xml_path`` is None and ``settings.use_network`` is False, or a
        request fails.
    DependencyError
        When osmnx is not installed.
    """
    if xml_path is None:
        _require_network()
    boundary = _check_boundary(boundary)
    city = city or settings.default_city
    prefixes = city_prefixes(city)
    configure_osmnx()
    features = fetch_features(boundary, xml_path=xml_path)
    rows = match_features(names, features, prefixes)
    if xml_path is None and use_nominatim:
        found = {r["project_id"] for r in rows}
        rest = [(pid, name) for pid, name in names if pid not in found]
        rows += geocode_names(rest, boundary, city, prefixes)
    return _frame(rows)


# --------------------------------------------------------------------------- output

def _round_coords(value: Any, digits: int = 6) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, (list, tuple)):
        return [_round_coords(v, digits) for v in value]
    return value


def candidates_geojson(frame: gpd.GeoDataFrame) -> str:
    """Return the candidates as deterministic GeoJSON text (coordinates to 6 decimals)."""
    features = []
    for _, row in frame.iterrows():
        props = {c: _json_value(row[c]) for c in COLUMNS}
        geometry = None
        if row.geometry is not None and not row.geometry.is_empty:
            geometry = json.loads(shapely.to_geojson(row.geometry))
            geometry["coordinates"] = _round_coords(geometry["coordinates"])
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    head = json.dumps({"type": "FeatureCollection", "attribution": ATTRIBUTION},
                      ensure_ascii=False)[:-1]
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    return f'{head}, "features": [\n{body}\n]}}\n' if features else f'{head}, "features": []}}\n'


def _json_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return value


def candidates_to_csv(path: Path, frame: gpd.GeoDataFrame) -> Path:
    """Write the candidate table (without geometry; lon/lat of a point on it) as CSV."""
    table = pd.DataFrame(frame[COLUMNS])
    for column in ("lon", "lat"):  # 6 decimals (~0.1 m), not write_csv's 3
        table[column] = table[column].map(lambda v: f"{v:.6f}" if pd.notna(v) else "")
    return write_csv(path, table)


def write_candidates(path: Path, frame: gpd.GeoDataFrame) -> Path:
    """Write ``path`` (CSV) and ``path`` with suffix .geojson, atomically; return ``path``.

    Typically ``data/processed/NAME/osm_candidates.csv``.
    """
    check_columns(frame, COLUMNS, "osm_candidates")
    candidates_to_csv(path, frame)
    write_text(Path(path).with_suffix(".geojson"), candidates_geojson(frame))
    return Path(path)
