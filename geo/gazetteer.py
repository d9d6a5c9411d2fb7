"""Load and validate a city gazetteer (CSV of named projects with WKT geometry).

The gazetteer is hand-curated data (``data/raw/<city>_gazetteer.csv``, format in
``data/raw/GAZETTEER.md``).  :func:`load_gazetteer` reads it into a
GeoDataFrame and refuses anything that would put a wrong feature on the map:
every problem raises :class:`geo.errors.GazetteerError` naming the file, the
CSV line and how to fix it.

Columns: ``name, aliases, kind, name_en, precision, source, district, wkt``,
where ``source`` is the research trail: the loader keeps it as ``source_notes``
and derives the public ``source`` label and ``source_url`` from it
(:func:`geo.provenance.public_source`); optionally followed by
``published_length_km, published_area_km2, measure_note`` (a figure the source
states, and why the geometry may differ) and ``stations`` (a line drawn through
the stations of the city's station table, in order, see :mod:`geo.stations`).
The loader also refuses axis-aligned boxes and roads drawn as polygons, and a
geometry whose length (area) is more than 25 % (30 %) off its published figure
unless ``measure_note`` says why.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import geopandas as gpd
import pandas as pd
import shapely
from shapely import wkt as shapely_wkt
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from . import settings
from .districts import union_of
from .errors import GazetteerError
from .provenance import FLAGGED_LABEL, glued_links, public_source
from .schema import KINDS, LAND_KINDS, PRECISIONS
from .stations import agrees, line_through, split_names

#: Columns the CSV must have, in the documented order.
CSV_COLUMNS: tuple[str, ...] = (
    "name", "aliases", "kind", "name_en", "precision", "source", "district", "wkt",
)

#: Optional columns (read when present): published figures and the reason a
#: geometry may legitimately differ from them.
OPTIONAL_COLUMNS: tuple[str, ...] = ("published_length_km", "published_area_km2", "measure_note")

#: Optional column: the stations a line is drawn through, in order (``a|b|c``).
STATIONS_COLUMN = "stations"

#: Columns of the returned GeoDataFrame.
COLUMNS: tuple[str, ...] = (
    "row", "name", "aliases", "kind", "name_en", "precision", "source", "source_url",
    "source_notes", "district", *OPTIONAL_COLUMNS, STATIONS_COLUMN, "cited_vertices",
    "geometry",
)

#: Largest allowed relative difference between a line's length (a polygon's
#: area) and the figure its source publishes, unless ``measure_note`` explains it.
LENGTH_TOLERANCE = 0.25
AREA_TOLERANCE = 0.30

#: Kinds that are linear works: never stored as a polygon.
LINEAR_KINDS: tuple[str, ...] = (
    "rail", "metro", "intercity_rail", "expressway", "road", "bridge", "sea_crossing",
    "tunnel_or_channel", "seawall", "utility_tunnel",
)

#: Separator of aliases and of districts inside one cell.
SEPARATOR = "|"

#: Rough bounding box of China (lon min, lat min, lon max, lat max) for the swap check.
CHINA_BBOX: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)

#: Tolerance (km) for a feature's reference point outside its listed district(s).
DISTRICT_TOLERANCE_KM = 2.0


def load_gazetteer(path: Path, *, districts: gpd.GeoDataFrame | None = None,
                   stations: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Read and validate the gazetteer at ``path``.

    Parameters
    ----------
    path
        UTF-8 CSV with the columns in :data:`CSV_COLUMNS`.
    districts
        Optional county-level boundaries (EPSG:4326, a ``name`` column).  When
        given, every row's district names must exist there and the row's
        reference point (see :func:`reference_point`) must lie within
        :data:`DISTRICT_TOLERANCE_KM` of them, or within
        ``settings.coastal_buffer_km`` when it lies offshore (outside all
        districts).
    stations
        Optional station table (:func:`geo.stations.load_stations`).  When
        given, every row with a ``stations`` cell must be the line through those
        stations, may be ``surveyed`` only if every station is cited, and gets
        ``cited_vertices`` (``k/n``); without it ``cited_vertices`` is empty.

    Returns
    -------
    GeoDataFrame in EPSG:4326 with the columns in :data:`COLUMNS`; ``row`` is
    the 1-based CSV line (the header is line 1), ``aliases`` a tuple of str.
    """
    path = Path(path)
    records = [_parse_row(path, line, raw) for line, raw in _read_rows(path)]
    _check_duplicates(path, records)
    for record in records:
        _check_stations(path, record, stations)
    gdf = gpd.GeoDataFrame(records, columns=list(COLUMNS), geometry="geometry", crs="EPSG:4326")
    if districts is not None:
        check_districts(gdf, districts, path=path)
    return gdf


def names_index(gdf: gpd.GeoDataFrame) -> dict[str, int]:
    """Map every name and alias of ``gdf`` to its index label."""
    index: dict[str, int] = {}
    for label, name, aliases in zip(gdf.index, gdf["name"], gdf["aliases"], strict=True):
        for key in (name, *aliases):
            index.setdefault(key, label)
    return index


def reference_point(geom: BaseGeometry) -> BaseGeometry:
    """The point used for district checks: the point itself, a line's midpoint
    (half-way along its length) or a polygon's centroid."""
    if geom.geom_type in ("LineString", "MultiLineString"):
        merged = shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom
        return merged.interpolate(0.5, normalized=True)
    return geom.centroid


def check_districts(gdf: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, *,
                    path: Path | str = "gazetteer") -> None:
    """Raise :class:`GazetteerError` for a row whose reference point is outside its districts.

    Onshore points get :data:`DISTRICT_TOLERANCE_KM`; offshore points (outside
    every district) get ``settings.coastal_buffer_km``, unless the row's kind is
    one of :data:`geo.schema.LAND_KINDS` (a reservoir outside every county is in
    a neighbouring city, not at sea).
    """
    metric = districts.to_crs(settings.metric_crs)
    shapes = dict(zip(metric["name"], metric.geometry, strict=True))
    land = union_of(list(shapes.values()))
    points = gpd.GeoSeries([reference_point(g) for g in gdf.geometry], crs=gdf.crs)
    points = points.to_crs(settings.metric_crs)
    for (_, row), point in zip(gdf.iterrows(), points, strict=True):
        names = [d for d in row["district"].split(SEPARATOR) if d]
        unknown = [d for d in names if d not in shapes]
        if unknown or not names:
            raise GazetteerError(
                f"row {row['name']!r}: unknown district {unknown or row['district']!r}",
                path=path, line=row["row"],
                fix=f"use county-level names from the boundaries: {', '.join(shapes)}")
        onshore = land.contains(point) or row["kind"] in LAND_KINDS
        limit = DISTRICT_TOLERANCE_KM if onshore else settings.coastal_buffer_km
        distance = min(shapes[d].distance(point) for d in names) / 1000.0
        if distance > limit:
            what = "point" if row.geometry.geom_type == "Point" else "reference point"
            raise GazetteerError(
                f"row {row['name']!r}: its {what}"
                f" lies {distance:.1f} km outside {row['district']}"
                f" (allowed {limit:g} km{'' if onshore else ' offshore'})",
                path=path, line=row["row"],
                fix="correct the coordinates or the district column")


def _read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line number, row dict)``; check encoding and header."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GazetteerError(f"cannot read gazetteer ({exc.strerror or exc})", path=path,
                             fix="check the path and file permissions") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise GazetteerError(f"file is not UTF-8 (byte {exc.start})", path=path, line=line,
                             fix="save the file as UTF-8") from exc
    # a detailed polygon's WKT exceeds csv's default 128 KiB field limit; no field can be
    # longer than the file itself
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise GazetteerError(f"missing columns {missing} (found {header})", path=path, line=1,
                             fix=f"the header must be: {','.join(CSV_COLUMNS)}")
    end = reader.line_num
    for cells in reader:
        start, end = end + 1, reader.line_num
        if any(c.strip() for c in cells):
            yield start, dict(zip(header, cells, strict=False))


def _cell(raw: dict[str, str], column: str) -> str:
    value = raw.get(column)
    return value.strip() if isinstance(value, str) else ""


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(SEPARATOR) if part.strip())


def _parse_row(path: Path, line: int, raw: dict[str, str]) -> dict[str, object]:
    """Validate one CSV row and return it as a record of :data:`COLUMNS`."""
    name = _cell(raw, "name")
    if not name:
        raise GazetteerError("empty name", path=path, line=line, fix="fill in the name column")
    kind, precision, source = _cell(raw, "kind"), _cell(raw, "precision"), _cell(raw, "source")
    if kind not in KINDS:
        raise GazetteerError(f"row {name!r}: unknown kind {kind!r}", path=path, line=line,
                             fix=f"use one of: {', '.join(KINDS)}")
    if precision not in PRECISIONS:
        raise GazetteerError(f"row {name!r}: unknown precision {precision!r}", path=path,
                             line=line, fix=f"use one of: {', '.join(PRECISIONS)}")
    if not source:
        raise GazetteerError(f"row {name!r}: empty source", path=path, line=line,
                             fix="say where the geometry came from, e.g. 'knowledge, unverified'")
    geometry = _parse_geometry(path, line, name, _cell(raw, "wkt"))
    _check_shape(path, line, name, kind, geometry)
    published = {c: _number(path, line, name, raw, c) for c in OPTIONAL_COLUMNS[:2]}
    note = _cell(raw, "measure_note")
    _check_published(path, line, name, geometry, published, note)
    glued = glued_links(source)
    if glued:
        raise GazetteerError(f"row {name!r}: the address {glued[0]!r} runs into punctuation",
                             path=path, line=line,
                             fix="leave a space between an address and the punctuation after it")
    public = public_source(source)
    if precision in ("surveyed", "site") and public.label.startswith(FLAGGED_LABEL):
        raise GazetteerError(f"row {name!r}: precision {precision} rests only on a flagged"
                             " web copy", path=path, line=line,
                             fix="cite the original publisher first, or lower the precision"
                             " to approximate")
    return {
        "row": line, "name": name, "aliases": _split(_cell(raw, "aliases")), "kind": kind,
        "name_en": _cell(raw, "name_en"), "precision": precision, "source": public.label,
        "source_url": public.url, "source_notes": source,
        "district": SEPARATOR.join(_split(_cell(raw, "district"))), **published,
        "measure_note": note, STATIONS_COLUMN: SEPARATOR.join(split_names(
            _cell(raw, STATIONS_COLUMN))), "cited_vertices": "", "geometry": geometry,
    }


def _check_stations(path: Path, record: dict[str, object], stations: pd.DataFrame | None
                    ) -> None:
    """A line drawn through stations must still be that line; count its cited vertices."""
    names = split_names(str(record[STATIONS_COLUMN]))
    if not names or stations is None:
        return
    name, line = str(record["name"]), int(cast(int, record["row"]))
    try:
        drawn, cited = line_through(stations, names, name)
    except KeyError as exc:
        raise GazetteerError(f"row {name!r}: station {exc.args[0]!r} is not in the station"
                             " table", path=path, line=line,
                             fix="add the station (with its source) to the station table, or"
                             " correct the name") from None
    except ValueError:
        raise GazetteerError(f"row {name!r}: a line through {len(names)} station",
                             path=path, line=line,
                             fix="list at least two stations, separated by |") from None
    if not agrees(cast(BaseGeometry, record["geometry"]), drawn, settings.metric_crs):
        raise GazetteerError(f"row {name!r}: its wkt is not the line through its stations",
                             path=path, line=line,
                             fix="redraw it: python scripts/draw_station_lines.py")
    if record["precision"] == "surveyed" and cited < len(names):
        raise GazetteerError(f"row {name!r}: surveyed, but only {cited} of {len(names)}"
                             " stations have a cited coordinate", path=path, line=line,
                             fix="cite the other stations, or lower the precision to schematic")
    record["cited_vertices"] = f"{cited}/{len(names)}"


#: Geometry types a gazetteer row may have (one layer type each: point, line, polygon).
GEOMETRY_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                  "MultiPolygon")


def is_axis_aligned_box(geom: BaseGeometry) -> bool:
    """True for a polygon whose outline is a rectangle with edges along the
    meridians and parallels (an invented bounding box, not an outline)."""
    if not isinstance(geom, Polygon) or len(geom.interiors):
        return False
    ring = list(geom.exterior.coords)[:-1]
    if len(ring) != 4:
        return False
    edges = zip(ring, ring[1:] + ring[:1], strict=True)
    return all(math.isclose(a[0], b[0], abs_tol=1e-9) or math.isclose(a[1], b[1], abs_tol=1e-9)
               for a, b in edges)


def _check_shape(path: Path, line: int, name: str, kind: str, geom: BaseGeometry) -> None:
    """No invented boxes; linear works are lines."""
    if is_axis_aligned_box(geom):
        raise GazetteerError(f"row {name!r}: the polygon is an axis-aligned box, not an outline",
                             path=path, line=line,
                             fix="draw the boundary a source gives, or use a point with"
                             " precision approximate")
    if kind in LINEAR_KINDS and geom.geom_type in ("Polygon", "MultiPolygon"):
        raise GazetteerError(f"row {name!r}: a {kind} stored as a polygon", path=path, line=line,
                             fix="draw it as a LINESTRING from end to end, or a point")


def _number(path: Path, line: int, name: str, raw: dict[str, str], column: str) -> float:
    """A published figure (NaN when the cell is empty or the column absent)."""
    text = _cell(raw, column)
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise GazetteerError(f"row {name!r}: {column} {text!r} is not a number", path=path,
                             line=line, fix="write the figure as a plain decimal, e.g. 9.05"
                             ) from None
    if not (math.isfinite(value) and value > 0):
        raise GazetteerError(f"row {name!r}: {column} {text!r} must be positive", path=path,
                             line=line, fix="write the figure the source states, or leave it empty")
    return value


def measure(geom: BaseGeometry) -> tuple[float, float]:
    """Length (km) and area (km²) of a WGS84 geometry in ``settings.metric_crs``."""
    metric = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(settings.metric_crs).iloc[0]
    return metric.length / 1000.0, metric.area / 1e6


def _check_published(path: Path, line: int, name: str, geom: BaseGeometry,
                     published: dict[str, float], note: str) -> None:
    """A geometry must agree with its published length/area unless a note explains why."""
    checks = (("published_length_km", 0, LENGTH_TOLERANCE, "km",
               ("LineString", "MultiLineString")),
              ("published_area_km2", 1, AREA_TOLERANCE, "km²",
               ("Polygon", "MultiPolygon")))
    for column, which, tolerance, unit, types in checks:
        figure = published[column]
        if math.isnan(figure) or geom.geom_type not in types or note:
            continue
        value = measure(geom)[which]  # measured only where a figure is to be checked
        if abs(value - figure) > tolerance * figure:
            raise GazetteerError(
                f"row {name!r}: geometry measures {value:.1f} {unit}, the source states"
                f" {figure:g} {unit} (more than {tolerance:.0%} apart)", path=path, line=line,
                fix="redraw the geometry, or say in measure_note why it differs")


def _parse_geometry(path: Path, line: int, name: str, text: str) -> BaseGeometry:
    """Parse WKT and check validity, coordinate ranges and lon/lat order."""
    if not text:
        raise GazetteerError(f"row {name!r}: empty wkt", path=path, line=line,
                             fix="give a WGS84 lon/lat WKT such as POINT (121.55 29.87)")
    try:
        geom = shapely_wkt.loads(text)
    except Exception as exc:  # shapely raises GEOSException / ValueError variants
        detail = " ".join(str(exc).split())  # GEOS messages may span lines
        raise GazetteerError(f"row {name!r}: invalid WKT ({detail})", path=path, line=line,
                             fix="write WKT like POINT (lon lat) or LINESTRING (lon lat, ...)"
                             ) from exc
    if geom.is_empty:
        raise GazetteerError(f"row {name!r}: empty geometry", path=path, line=line,
                             fix="give at least one coordinate")
    if geom.geom_type not in GEOMETRY_TYPES:
        raise GazetteerError(f"row {name!r}: {geom.geom_type} is not a supported geometry type",
                             path=path, line=line,
                             fix="use POINT, LINESTRING or POLYGON (or their MULTI forms); "
                                 "split a collection into one row per part")
    _check_coordinates(path, line, name, geom)
    if not geom.is_valid:
        raise GazetteerError(f"row {name!r}: invalid geometry ({explain_validity(geom)})",
                             path=path, line=line,
                             fix="close rings, remove self-intersections and repeated points")
    return geom


def _in_box(lon: float, lat: float) -> bool:
    x0, y0, x1, y1 = CHINA_BBOX
    return x0 <= lon <= x1 and y0 <= lat <= y1


def _check_coordinates(path: Path, line: int, name: str, geom: BaseGeometry) -> None:
    for lon, lat in shapely.get_coordinates(geom):
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            if _in_box(lat, lon):
                _swapped(path, line, name, lon, lat)
            raise GazetteerError(
                f"row {name!r}: coordinate ({lon:g} {lat:g}) out of range", path=path, line=line,
                fix="coordinates are lon (-180..180) then lat (-90..90), in degrees WGS84")
        if not _in_box(lon, lat) and _in_box(lat, lon):
            _swapped(path, line, name, lon, lat)


def _swapped(path: Path, line: int, name: str, lon: float, lat: float) -> None:
    raise GazetteerError(
        f"row {name!r}: coordinate ({lon:g} {lat:g}) looks like lat/lon swapped", path=path,
        line=line, fix=f"WKT order is lon lat: write ({lat:g} {lon:g})")


def _check_duplicates(path: Path, records: list[dict[str, object]]) -> None:
    """Every name and alias must identify one row only."""
    seen: dict[str, int] = {}
    for rec in records:
        line = int(cast(int, rec["row"]))
        aliases = cast(list[str], rec["aliases"])
        for key in dict.fromkeys((str(rec["name"]), *aliases)):
            if key in seen and seen[key] != line:
                raise GazetteerError(
                    f"duplicate name or alias {key!r} (also on line {seen[key]})", path=path,
                    line=line, fix="keep each name/alias on one row only")
            seen[key] = line
