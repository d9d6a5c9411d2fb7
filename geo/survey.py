"""Compare gazetteer geometries with independent reference coordinates.

A gazetteer row says how far it may be trusted through its ``precision``
class.  This module holds that promise to account: a *reference table*
(``data/raw/<city>_reference.csv``, format in ``data/raw/GAZETTEER.md``) lists
coordinates from sources other than the gazetteer row itself (an aerodrome
reference point from OurAirports/``airportsdata``, a station's Wikipedia
coordinate, a dam site from a reservoir article), each tied to one gazetteer
row.  :func:`compare_with_reference` measures the distance from every reference
point to its row's geometry (zero when a polygon contains it, the distance to
the nearest point of a line for a station on that line) and flags the ones
farther than the row's precision class allows (:data:`TOLERANCE_M`).

Columns of the reference CSV: ``name, feature, lon, lat, source`` and an
optional ``use``: ``check`` (the default: the coordinate was not used to draw
the row, so it is independent evidence) or ``drawn`` (the row's geometry was
drawn through it).  A drawn point is not evidence for the geometry drawn
through it; for a line it is measured *leave-one-out*: the line's interior
vertex at the point is removed and the distance to the remaining line is what
counts (how far the line would be from that station had the station not been
used).  A drawn point at a line's end or on a point or polygon row cannot be
measured that way and is listed with ``method = drawn`` and no verdict.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from . import settings
from .errors import GazetteerError

#: Columns the reference CSV must have, in order.
REFERENCE_COLUMNS: tuple[str, ...] = ("name", "feature", "lon", "lat", "source")

#: Optional last column of the reference CSV and its allowed values.
USE_COLUMN = "use"
USES: tuple[str, ...] = ("check", "drawn")

#: How close (metres) a line vertex must be to a ``drawn`` point to count as
#: drawn through it (and be left out in the leave-one-out measure).
DRAWN_VERTEX_M = 25.0

#: Methods of a comparison row: an independent point, a leave-one-out measure,
#: or a drawn point that cannot be measured (no verdict).
METHODS: tuple[str, ...] = ("independent", "leave-one-out", "drawn")

#: How far (metres) a reference point may lie from a geometry of each precision
#: class.  ``district`` and ``city`` promise nothing finer than their county.
TOLERANCE_M: dict[str, float | None] = {
    "surveyed": 100.0,
    "site": 300.0,
    "approximate": 2000.0,
    "schematic": 2000.0,
    "district": None,
    "city": None,
}

#: Decimals of length_km / area_km2 per precision class: a geometry good to
#: tens or hundreds of metres gets two, the kilometre-scale classes one.
MEASURE_DECIMALS = {"surveyed": 2, "site": 2}


def round_to_precision(values: pd.Series, precision: pd.Series) -> pd.Series:
    """Round each measure to what its geometry's precision class allows."""
    decimals = precision.map(lambda p: MEASURE_DECIMALS.get(p, 1))
    return pd.Series([round(float(v), int(d)) if pd.notna(v) else v
                      for v, d in zip(values, decimals, strict=True)], index=values.index)


#: Columns of the comparison table.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "name", "feature", "precision", "distance_m", "tolerance_m", "within", "method", "source",
)


def empty_comparison() -> pd.DataFrame:
    """A comparison table with no rows (a city without reference coordinates)."""
    return pd.DataFrame({c: pd.Series(dtype=bool if c == "within" else object)
                         for c in COMPARISON_COLUMNS})


def load_reference(path: Path) -> pd.DataFrame:
    """Read the reference CSV at ``path``; bad rows raise :class:`GazetteerError`.

    Returns a DataFrame with :data:`REFERENCE_COLUMNS` plus ``row`` (the CSV
    line, header = 1); ``lon``/``lat`` are floats in WGS84.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GazetteerError("reference table not found", path=path,
                             fix="create it with the columns " + ", ".join(REFERENCE_COLUMNS)
                             ) from None
    except UnicodeDecodeError as exc:
        raise GazetteerError(f"not UTF-8 ({exc.reason})", path=path,
                             fix="save the file as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    if header not in (REFERENCE_COLUMNS, (*REFERENCE_COLUMNS, USE_COLUMN)):
        raise GazetteerError(f"header is {reader.fieldnames}", path=path, line=1,
                             fix="use the header " + ",".join(REFERENCE_COLUMNS)
                             + f" (optionally ,{USE_COLUMN})")
    rows = [_parse_reference_row(path, line, raw) for line, raw in enumerate(reader, start=2)]
    return pd.DataFrame(rows, columns=["row", *REFERENCE_COLUMNS, USE_COLUMN])


def compare_with_reference(gazetteer: gpd.GeoDataFrame, reference: pd.DataFrame, *,
                           path: Path | str = "reference") -> pd.DataFrame:
    """Distance from each reference point to its gazetteer row's geometry.

    ``gazetteer`` is the output of :func:`geo.gazetteer.load_gazetteer`;
    ``reference`` that of :func:`load_reference`.  A reference naming a row
    the gazetteer lacks raises :class:`GazetteerError` (the check would
    otherwise pass silently).  Returns :data:`COMPARISON_COLUMNS`, one row per
    reference, in reference order; ``within`` is True when the distance is
    inside the row's :data:`TOLERANCE_M` (always True for classes that promise
    nothing finer than a county, and for ``method = drawn`` rows, which are no
    evidence either way).  ``use = drawn`` points on lines are measured
    leave-one-out (module docstring).
    """
    rows_by_name = {name: i for i, name in zip(gazetteer.index, gazetteer["name"], strict=True)}
    metric = gazetteer.geometry.to_crs(settings.metric_crs)
    points = gpd.GeoSeries([Point(lon, lat) for lon, lat in zip(reference["lon"], reference["lat"],
                                                                 strict=True)],
                           crs="EPSG:4326").to_crs(settings.metric_crs)
    out = []
    for (_, ref), point in zip(reference.iterrows(), points, strict=True):
        label = rows_by_name.get(ref["name"])
        if label is None:
            raise GazetteerError(f"reference {ref['feature']!r} names {ref['name']!r},"
                                 " which is not a gazetteer row", path=path, line=int(ref["row"]),
                                 fix="use the gazetteer row's exact `name`")
        precision = gazetteer.at[label, "precision"]
        tolerance = TOLERANCE_M[precision]
        method, geom = _measured_geometry(metric.loc[label], point, ref.get(USE_COLUMN, "check"))
        distance = round(float(geom.distance(point)), 1)
        out.append({
            "name": ref["name"], "feature": ref["feature"], "precision": precision,
            "distance_m": distance, "tolerance_m": tolerance,
            "within": tolerance is None or method == "drawn" or distance <= tolerance,
            "method": method, "source": ref["source"],
        })
    return pd.DataFrame(out, columns=list(COMPARISON_COLUMNS))


def class_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per precision class: how many evidence points (``independent`` and
    ``leave-one-out``) lie within the class's tolerance, their median and
    largest distance, and how many drawn points were left without a verdict.

    Works on the in-memory comparison and on a re-read ``reference_check.csv``.
    """
    rows = []
    if len(comparison):
        method = comparison["method"].astype(str)
        evidence = comparison[method.isin(("independent", "leave-one-out"))]
        for precision in dict.fromkeys(comparison["precision"].astype(str)):
            part = evidence[evidence["precision"].astype(str) == precision]
            within = part["within"].astype(str).str.lower().isin(("true", "1"))
            distances = pd.to_numeric(part["distance_m"])
            rows.append({
                "precision": precision, "tolerance_m": TOLERANCE_M.get(precision),
                "checks": len(part), "within": int(within.sum()),
                "median_m": float(distances.median()) if len(part) else None,
                "max_m": float(distances.max()) if len(part) else None,
                "drawn_only": int(((comparison["precision"].astype(str) == precision)
                                   & (method == "drawn")).sum()),
            })
    return pd.DataFrame(rows, columns=["precision", "tolerance_m", "checks", "within",
                                       "median_m", "max_m", "drawn_only"])


def _measured_geometry(geom: BaseGeometry, point: Point, use: str) -> tuple[str, BaseGeometry]:
    """The method and the (metric) geometry a reference point is measured against.

    ``check`` points measure the row's geometry as it is.  ``drawn`` points on a
    line whose vertex lies at the point measure the line without that vertex
    (leave-one-out).  An end vertex cannot be left out that way (the line would
    only get shorter, which measures nothing), nor can a drawn point on a point
    or polygon: those get method ``drawn`` and no verdict.
    """
    if use != "drawn":
        return "independent", geom
    if geom.geom_type != "LineString":
        return "drawn", geom
    coords = list(geom.coords)
    nearest = min(range(len(coords)), key=lambda i: Point(coords[i]).distance(point))
    interior = 0 < nearest < len(coords) - 1
    if Point(coords[nearest]).distance(point) > DRAWN_VERTEX_M or not interior:
        return "drawn", geom
    return "leave-one-out", LineString(coords[:nearest] + coords[nearest + 1:])


def _parse_reference_row(path: Path, line: int, raw: dict[str, str | None]) -> dict[str, object]:
    """Validate one reference row: every cell present, coordinates in range."""
    cells = {k: (raw.get(k) or "").strip() for k in REFERENCE_COLUMNS}
    use = (raw.get(USE_COLUMN) or "").strip() or "check"
    if use not in USES:
        raise GazetteerError(f"use {use!r} is not one of {', '.join(USES)}", path=path, line=line,
                             fix="write `check` for an independent point, `drawn` for one the"
                             " geometry was drawn through")
    missing = [k for k, v in cells.items() if not v]
    if missing:
        raise GazetteerError(f"empty {', '.join(missing)}", path=path, line=line,
                             fix="fill every column; `source` says where the coordinate comes from")
    try:
        lon, lat = float(cells["lon"]), float(cells["lat"])
    except ValueError:
        raise GazetteerError(f"lon/lat {cells['lon']!r}, {cells['lat']!r} are not numbers",
                             path=path, line=line,
                             fix="write decimal degrees, e.g. 121.462") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise GazetteerError(f"lon/lat {lon}, {lat} out of range", path=path, line=line,
                             fix="write WGS84 decimal degrees, longitude first")
    return {"row": line, **cells, "lon": lon, "lat": lat, USE_COLUMN: use}
