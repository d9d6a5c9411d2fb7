"""Station coordinates, and lines drawn through them.

A railway or metro line is only as good as the points it is drawn through.
The station table (``data/raw/<city>_stations.csv``, format in
``data/raw/GAZETTEER.md``) holds one row per station: the coordinate as its
source states it (``source_lon``, ``source_lat`` in the source's ``datum``),
converted here, once, to WGS84; and its ``basis``: ``cited`` when a source
states the coordinate, ``knowledge`` when it was placed from knowledge
(labelled as such, never evidence).

A gazetteer row whose ``stations`` cell lists station names in order is drawn
through those stations (:func:`line_through`; ``scripts/draw_station_lines.py``
writes the WKT, the gazetteer loader checks it still agrees).  Its
``cited_vertices`` says how many of the vertices are cited (``23/25``); only a
line whose every vertex is cited may be ``surveyed``.  Every cited station a
line is drawn through is no evidence for it: the stations are shown as their own
layer (:func:`station_layer`), and evidence comes from independent coordinates in
the reference table (``use`` = ``check``, :mod:`geo.survey`).

A coordinate may belong to one line's platform (``line`` names the gazetteer
row): interchange stations have one platform per line, a few hundred metres
apart.  A row with an empty ``line`` serves every line naming the station.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from . import coords, fields
from .errors import GazetteerError
from .provenance import FLAGGED_LABEL, glued_links, public_source

#: Columns the station CSV must have, in order.
STATION_COLUMNS: tuple[str, ...] = (
    "name", "line", "basis", "datum", "source_lon", "source_lat", "source",
)

#: Values of ``basis``: a coordinate a source states, or one placed from knowledge.
BASES: tuple[str, ...] = ("cited", "knowledge")

#: Datums a stated coordinate may be in, and their conversion to WGS84.
DATUMS = {
    "WGS84": lambda lon, lat: (lon, lat),
    "GCJ-02": coords.gcj02_to_wgs84,
    "BD-09": coords.bd09_to_wgs84,
}

#: Separator of station names in a gazetteer row's ``stations`` cell.
SEPARATOR = "|"

#: How far (metres) a gazetteer vertex may be from its station and still agree.
AGREE_M = 0.5

#: Columns of the loaded table (``row`` is the CSV line, header = 1).
COLUMNS: tuple[str, ...] = ("row", *STATION_COLUMNS, "lon", "lat", "source_label",
                            "source_url", "counts_as_cited")


def load_stations(path: Path) -> pd.DataFrame:
    """Read and validate the station table at ``path``.

    Returns :data:`COLUMNS`: the stated columns, ``lon``/``lat`` in WGS84
    (converted from ``datum``), the public ``source_label``/``source_url``, and
    ``counts_as_cited``: the basis is ``cited`` and the source is not only a
    flagged copy (:mod:`geo.provenance`).  Bad rows raise
    :class:`GazetteerError` naming the line and the fix.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise GazetteerError(f"cannot read the station table ({exc.strerror or exc})", path=path,
                             fix="check the path and file permissions") from exc
    except UnicodeDecodeError as exc:
        raise GazetteerError(f"file is not UTF-8 (byte {exc.start})", path=path,
                             fix="save the file as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != STATION_COLUMNS:
        raise GazetteerError(f"header is {reader.fieldnames}", path=path, line=1,
                             fix="use the header " + ",".join(STATION_COLUMNS))
    rows = [_parse_row(path, line, raw) for line, raw in enumerate(reader, start=2)]
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        key, line = (str(row["name"]), str(row["line"])), int(str(row["row"]))
        if key in seen:
            raise GazetteerError(f"station {key[0]!r}{' of ' + key[1] if key[1] else ''} is"
                                 f" listed twice (also on line {seen[key]})", path=path,
                                 line=line, fix="keep one row per station and line")
        seen[key] = line
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _parse_row(path: Path, line: int, raw: dict[str, str | None]) -> dict[str, object]:
    cells = {k: (raw.get(k) or "").strip() for k in STATION_COLUMNS}
    name = cells["name"]
    for column in ("name", "basis", "datum", "source_lon", "source_lat", "source"):
        if not cells[column]:
            raise GazetteerError(f"station {name or '?'!r}: empty {column}", path=path, line=line,
                                 fix="fill every column but `line`")
    if cells["basis"] not in BASES:
        raise GazetteerError(f"station {name!r}: basis {cells['basis']!r}", path=path, line=line,
                             fix=f"use one of: {', '.join(BASES)}")
    if cells["datum"] not in DATUMS:
        raise GazetteerError(f"station {name!r}: datum {cells['datum']!r}", path=path, line=line,
                             fix=f"use one of: {', '.join(DATUMS)} (convert an unknown datum"
                             " only if a check shows which it is)")
    try:
        lon, lat = float(cells["source_lon"]), float(cells["source_lat"])
    except ValueError:
        raise GazetteerError(f"station {name!r}: coordinates {cells['source_lon']!r},"
                             f" {cells['source_lat']!r} are not numbers", path=path, line=line,
                             fix="write decimal degrees, longitude first") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and 73 <= lon <= 136 and 3 <= lat <= 54):
        hint = " (lat/lon swapped?)" if 73 <= lat <= 136 and 3 <= lon <= 54 else ""
        raise GazetteerError(f"station {name!r}: ({lon}, {lat}) is not in China{hint}",
                             path=path, line=line, fix="write WGS84-style decimal degrees,"
                             " longitude first")
    source = cells["source"]
    if cells["basis"] == "knowledge" and "knowledge" not in source:
        raise GazetteerError(f"station {name!r}: a knowledge placement must say so", path=path,
                             line=line, fix="start the source with 'knowledge, unverified'")
    if cells["basis"] == "cited" and not (
            "http" in source or source.startswith("dataset:")):
        raise GazetteerError(f"station {name!r}: a cited coordinate needs its address",
                             path=path, line=line,
                             fix="give the page's address, or set basis to knowledge")
    glued = glued_links(source)
    if glued:
        raise GazetteerError(f"station {name!r}: the address {glued[0]!r} runs into"
                             " punctuation", path=path, line=line,
                             fix="leave a space between an address and the punctuation after it")
    wgs_lon, wgs_lat = DATUMS[cells["datum"]](lon, lat)
    public = public_source(source)
    return {"row": line, **cells, "source_lon": lon, "source_lat": lat,
            "lon": round(wgs_lon, 6), "lat": round(wgs_lat, 6), "source_label": public.label,
            "source_url": public.url,
            "counts_as_cited": cells["basis"] == "cited"
            and not public.label.startswith(FLAGGED_LABEL)}


def split_names(cell: str) -> tuple[str, ...]:
    """Station names of a gazetteer ``stations`` cell, in order."""
    return tuple(part.strip() for part in cell.split(SEPARATOR) if part.strip())


def station_index(stations: pd.DataFrame) -> dict[tuple[str, str], dict]:
    """(name, line) -> station row (a dict of :data:`COLUMNS`), for repeated lookups."""
    return {(str(r["name"]), str(r["line"])): r for r in stations.to_dict("records")}


def lookup(index: dict[tuple[str, str], dict], name: str, line: str) -> dict | None:
    """The station row for ``name`` on ``line`` in a :func:`station_index`: that line's
    platform, else the shared row."""
    return index.get((name, line)) or index.get((name, ""))


def line_through(stations: pd.DataFrame, names: Sequence[str], line: str
                 ) -> tuple[LineString, int]:
    """The line through ``names`` in order, and how many of its vertices are cited.

    Raises ``KeyError`` naming the first station the table lacks, ``ValueError``
    for fewer than two stations.
    """
    if len(names) < 2:
        raise ValueError("a line needs at least two stations")
    index = station_index(stations)
    points, cited = [], 0
    for name in names:
        row = lookup(index, name, line)
        if row is None:
            raise KeyError(name)
        points.append((float(row["lon"]), float(row["lat"])))
        cited += bool(row["counts_as_cited"])
    return LineString(points), cited


def agrees(geom: BaseGeometry, drawn: LineString, metric_crs: str) -> bool:
    """True when ``geom`` has the vertices of ``drawn``, each within :data:`AGREE_M`."""
    if geom.geom_type != "LineString" or len(geom.coords) != len(drawn.coords):
        return False
    pair = gpd.GeoSeries([Point(c) for c in (*geom.coords, *drawn.coords)],
                         crs="EPSG:4326").to_crs(metric_crs)
    n = len(drawn.coords)
    return all(pair.iloc[i].distance(pair.iloc[n + i]) <= AGREE_M for i in range(n))


#: Columns of the station layer (GeoPackage ``stations``), besides the geometry.
LAYER_COLUMNS: tuple[str, ...] = (
    "name", "line", "lines", "basis", "datum", "source_lon", "source_lat", "source",
    "source_url", "source_notes",
)


def station_layer(stations: pd.DataFrame, gazetteer: pd.DataFrame) -> gpd.GeoDataFrame:
    """The stations the gazetteer's lines are drawn through, as WGS84 points.

    ``lines`` names the gazetteer rows drawn through each station (``;``-separated,
    gazetteer order); stations no line uses are left out.  ``source`` is the
    public label, ``source_notes`` the station table's full citation.
    """
    used: dict[int, list[str]] = {}
    index = station_index(stations)
    if "stations" in gazetteer.columns:
        for _, row in gazetteer.iterrows():
            for name in split_names(str(row.get("stations") or "")):
                station = lookup(index, name, str(row["name"]))
                if station is not None:
                    used.setdefault(int(station["row"]), []).append(str(row["name"]))
    rows = stations[stations["row"].isin(list(used))].sort_values("row", kind="stable")
    frame = pd.DataFrame({
        **{c: rows[c] for c in ("name", "line", "basis", "datum", "source_lon", "source_lat",
                                "source_url")},
        "lines": [fields.SEPARATOR.join(dict.fromkeys(used[int(r)])) for r in rows["row"]],
        "source": rows["source_label"], "source_notes": rows["source"],
    }).reset_index(drop=True)
    return gpd.GeoDataFrame(frame[list(LAYER_COLUMNS)],
                            geometry=[Point(x, y) for x, y in zip(rows["lon"], rows["lat"],
                                                                  strict=True)],
                            crs="EPSG:4326")
