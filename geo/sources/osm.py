"""OpenStreetMap source through osmnx's public API: Overpass features, then Nominatim.

The only module that imports :mod:`osmnx` (lazily; the offline build never needs it).

1. :func:`configure_osmnx` turns on osmnx's own on-disk cache
   (``ox.settings.use_cache``/``cache_folder`` = ``settings.cache_folder``), Overpass
   slot management, a timeout and a user agent naming this project.  osmnx itself
   pauses before every uncached Nominatim request (≤ 1 per second) and answers
   cached requests without any.
2. :func:`fetch_features` downloads the named features of :data:`QUERY_TAGS`
   inside the city's boundary (``ox.features_from_polygon``) -- or reads an OSM XML
   file (``ox.features_from_xml``) -- and :func:`match_features` matches their names
   to the project names; a way or relation keeps its real geometry.
3. Names still unmatched go to Nominatim (``ox.geocode_to_gdf``), bounded to the city.

Rows follow :data:`geo.sources.COLUMNS`.  OSM data © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from .. import __version__, settings
from ..errors import GeoError, require
from ..names import (
    city_prefixes,
    match_score,
    normalize_name,
    shortlister,
)
from . import Area, Query

#: OSM tags downloaded from Overpass (or read from XML) and matched by name.
QUERY_TAGS: dict[str, bool | str | list[str]] = {
    "railway": ["rail", "subway", "light_rail", "construction", "proposed", "station"],
    "highway": ["motorway", "trunk", "primary", "construction", "proposed"],
    "leisure": ["park", "nature_reserve", "stadium", "sports_centre"],
    "building": ["stadium", "hospital", "school", "university"],
    "amenity": ["hospital", "school", "university", "college"],
    "water": ["reservoir"],
    "landuse": ["reservoir", "construction", "industrial"],
    "route": ["railway", "subway", "light_rail", "train"],
    "aeroway": ["aerodrome"],
    "harbour": True,
    "man_made": ["bridge"],
}

#: OSM keys holding names that are compared with project names.
NAME_KEYS: tuple[str, ...] = ("name", "name:zh", "name:zh-Hans", "official_name", "alt_name")

#: Features with the same name and tag closer than this (degrees, ~500 m) form one candidate.
GROUP_DISTANCE_DEG = 0.005


#: Attribution required by the ODbL wherever OSM-derived data is shown.
ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0)"
LICENCE = "ODbL 1.0, © OpenStreetMap contributors"

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
    except OSError as exc:  # requests' errors are OSErrors
        raise _network_error(exc) from exc
    except ValueError:  # osmnx's public errors for "no usable answer" are ValueErrors
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
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


def _category(row: pd.Series) -> str:
    """The feature's main tag as ``key=value`` (first of :data:`QUERY_TAGS` present)."""
    for key in QUERY_TAGS:
        value = row.get(key)
        if isinstance(value, str) and value:
            return f"{key}={value}"
    return ""


def _element(ids: list[str]) -> str:
    """``OSM way 123`` for one element, ``OSM way 123 + 2 more`` for a group."""
    kind, _, number = ids[0].partition("/")
    more = f" + {len(ids) - 1} more" if len(ids) > 1 else ""
    return f"OSM {kind} {number}{more}"


def _candidate_row(project_id: str, name: str, features: gpd.GeoDataFrame, rows: list[int],
                   score: float) -> dict[str, Any]:
    """Build one candidate from the feature rows of one OSM name/tag group.

    A way or relation geometry is ``surveyed`` (mapped by OSM contributors); a
    lone node (a POI) is ``site``.
    """
    part = features.loc[sorted(rows)]
    ids = sorted(part["osm_id"], key=_osm_sort_key)
    geometry = _merge(part.geometry.values)
    first = part.iloc[0]
    precision = "site" if geometry.geom_type == "Point" else "surveyed"
    return {"project_id": project_id, "name": name, "source": "osm",
            "candidate_id": ";".join(ids), "candidate": str(first["name"]),
            "category": _category(first), "score": round(float(score), 3),
            "precision": precision, "element": _element(ids), "licence": LICENCE,
            "geometry": geometry}


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
            if score is None:
                continue
            for row in index[other]:
                best[group_of[row]] = max(score, best.get(group_of[row], 0.0))
        for g in sorted(best):
            out.append(_candidate_row(project_id, name, features, groups[g], best[g]))
    return out


# --------------------------------------------------------------------------- nominatim

def geocode_name(name: str, city: str, boundary: BaseGeometry) -> gpd.GeoDataFrame:
    """Ask Nominatim (through osmnx, cached) for ``name`` in ``city``; empty if not found."""
    ox = _osmnx()
    query = nominatim_query(name, city, boundary)
    try:  # osmnx pauses 1 s before an uncached request; cached answers wait for nothing
        return ox.geocode_to_gdf(query, which_result=1)
    except OSError as exc:
        raise _network_error(exc) from exc
    except ValueError:  # osmnx's public errors for "nothing found" are ValueErrors
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")


def _nominatim_candidate(project_id: str, name: str, result: pd.Series,
                         prefixes: Sequence[str]) -> dict[str, Any] | None:
    """Turn one Nominatim result into a candidate row, or None if its name does not match.

    A point result is ``site``; a line (a way's own geometry) ``surveyed``; an
    area is replaced by a point inside it, only ``approximate``.
    """
    found = result.get("name")
    if not isinstance(found, str) or not found:
        found = str(result.get("display_name", "")).split(",")[0]
    if result.get("class") in _DROP_CLASSES:
        return None
    score = match_score(normalize_name(name, prefixes), normalize_name(found, prefixes))
    if score is None:
        return None
    geometry = result.geometry
    precision = {"Point": "site", "LineString": "surveyed",
                 "MultiLineString": "surveyed"}.get(geometry.geom_type, "approximate")
    if precision == "approximate":
        geometry = geometry.representative_point()
    osm_id = f"{result.get('osm_type')}/{result.get('osm_id')}"
    return {"project_id": project_id, "name": name, "source": "nominatim",
            "candidate_id": osm_id, "candidate": found,
            "category": f"{result.get('class', '')}={result.get('type', '')}",
            "score": round(float(score), 3), "precision": precision,
            "element": f"OSM {result.get('osm_type')} {result.get('osm_id')} (Nominatim)",
            "licence": LICENCE, "geometry": geometry}


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


class OsmSource:
    """OpenStreetMap: Overpass features inside the city, then Nominatim (osmnx, cached)."""

    name = "osm"
    licence = LICENCE
    hosts = ("overpass-api.de", "nominatim.openstreetmap.org")

    def __init__(self, xml_path: Path | None = None, use_nominatim: bool = True) -> None:
        _osmnx()  # a missing osmnx is one clear line (pip install) before anything is asked
        self.xml_path = xml_path
        self.use_nominatim = use_nominatim

    def search(self, queries: Sequence[Query], area: Area) -> list[dict[str, Any]]:
        """Candidates for ``queries``: feature name matches, Nominatim for the rest."""
        boundary = _check_boundary(area.boundary)
        prefixes = city_prefixes(area.city)
        configure_osmnx()
        features = fetch_features(boundary, xml_path=self.xml_path)
        names = [(q.project_id, q.name) for q in queries]
        rows = match_features(names, features, prefixes)
        if self.use_nominatim:
            found = {r["project_id"] for r in rows}
            rest = [(pid, name) for pid, name in names if pid not in found]
            rows += geocode_names(rest, boundary, area.city, prefixes)
        return rows
