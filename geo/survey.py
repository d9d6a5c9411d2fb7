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

Columns of the reference CSV: ``name, feature, lon, lat, source``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from . import settings
from .errors import GazetteerError

#: Columns the reference CSV must have, in order.
REFERENCE_COLUMNS: tuple[str, ...] = ("name", "feature", "lon", "lat", "source")

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

#: Columns of the comparison table.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "name", "feature", "precision", "distance_m", "tolerance_m", "within", "source",
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
    if tuple(reader.fieldnames or ()) != REFERENCE_COLUMNS:
        raise GazetteerError(f"header is {reader.fieldnames}", path=path, line=1,
                             fix="use the header " + ",".join(REFERENCE_COLUMNS))
    rows = [_parse_reference_row(path, line, raw) for line, raw in enumerate(reader, start=2)]
    return pd.DataFrame(rows, columns=["row", *REFERENCE_COLUMNS])


def compare_with_reference(gazetteer: gpd.GeoDataFrame, reference: pd.DataFrame, *,
                           path: Path | str = "reference") -> pd.DataFrame:
    """Distance from each reference point to its gazetteer row's geometry.

    ``gazetteer`` is the output of :func:`geo.gazetteer.load_gazetteer`;
    ``reference`` that of :func:`load_reference`.  A reference naming a row
    the gazetteer lacks raises :class:`GazetteerError` (the check would
    otherwise pass silently).  Returns :data:`COMPARISON_COLUMNS`, one row per
    reference, in reference order; ``within`` is True when the distance is
    inside the row's :data:`TOLERANCE_M` (always True for classes that promise
    nothing finer than a county).
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
        distance = round(float(metric.loc[label].distance(point)), 1)
        out.append({
            "name": ref["name"], "feature": ref["feature"], "precision": precision,
            "distance_m": distance, "tolerance_m": tolerance,
            "within": tolerance is None or distance <= tolerance, "source": ref["source"],
        })
    return pd.DataFrame(out, columns=list(COMPARISON_COLUMNS))


def _parse_reference_row(path: Path, line: int, raw: dict[str, str | None]) -> dict[str, object]:
    """Validate one reference row: every cell present, coordinates in range."""
    cells = {k: (raw.get(k) or "").strip() for k in REFERENCE_COLUMNS}
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
    return {"row": line, **cells, "lon": lon, "lat": lat}
