"""``geo export``: the built GeoPackage in the formats GIS departments exchange.

Every export reads the finished GeoPackage (``layers/<name>.gpkg``), so what is
exported is exactly what was built and checked.  The project layers are the
three ``projects_<point|line|polygon>`` tables (one geometry type each, lines
and polygons as Multi types, as in the GeoPackage):

* ``shp`` - one Shapefile per geometry type, UTF-8 with a ``.cpg`` file (written
  by fiona), field names shortened to at most 10 characters by the documented
  map ``fields.csv`` (:func:`geo.fields.short_names`); a text value longer
  than a dBASE field holds (254 bytes of UTF-8) is cut at a character boundary
  in the ``.dbf`` and kept whole in ``<layer>_long_text.csv``;
* ``geojson`` - one RFC 7946 FeatureCollection of all located projects;
* ``fgb`` - one FlatGeobuf per geometry type;
* ``kml`` - one KML document (Google Earth, 奥维) of all located projects;
* ``csv`` - ``projects.csv``: every project with its geometry as WKT
  (text neutralised as in every CSV the package writes);
* ``gpkg`` - a copy of the GeoPackage under a new name (its embedded project
  resolves layers relative to the file, so a renamed copy keeps working);
* ``postgis`` - the layers and attribute tables, their keys and relations and
  the QGIS default styles (``layer_styles``) into a PostgreSQL/PostGIS
  database, see :mod:`geo.postgis`.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from . import fields, qgis_project
from .errors import GeoError, OutputError
from .io import write_csv

FORMATS = ("shp", "gpkg", "geojson", "fgb", "kml", "csv", "postgis")

#: The project layers every export carries.
PROJECT_LAYERS = ("projects_point", "projects_line", "projects_polygon")

#: Largest dBASE text field, in bytes (Shapefile stores UTF-8 bytes).
DBF_MAX_BYTES = 254


def project_layers(gpkg: Path) -> dict[str, gpd.GeoDataFrame]:
    """The ``projects_<class>`` layers of the GeoPackage that exist, in class order."""
    if not Path(gpkg).exists():
        raise GeoError("no GeoPackage to export", path=gpkg, fix="run `geo build` first")
    present = {name for name, _ in pyogrio.list_layers(gpkg)}
    return {name: pyogrio.read_dataframe(gpkg, layer=name)
            for name in PROJECT_LAYERS if name in present}


def _fit_bytes(text: str, limit: int = DBF_MAX_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes without splitting a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def _dbf_type(series: pd.Series) -> str:
    """Fiona schema type of a column: ``int``, ``float`` or ``str:<bytes>``."""
    if pd.api.types.is_integer_dtype(series.dtype):
        return "int"
    if pd.api.types.is_float_dtype(series.dtype):
        return "float"
    longest = max((len(str(v).encode("utf-8")) for v in series if isinstance(v, str)),
                  default=1)
    return f"str:{min(DBF_MAX_BYTES, max(1, longest))}"


def field_map(columns: list[str]) -> pd.DataFrame:
    """The documented short-name map: short name, field, alias, description."""
    short = fields.short_names(columns)
    return pd.DataFrame({"short_name": [short[c] for c in columns], "field": columns,
                         "alias": [fields.alias(c) for c in columns],
                         "description": [fields.description(c) for c in columns]})


def _value(value):
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def write_shapefile(frame: gpd.GeoDataFrame, target: Path) -> tuple[Path, pd.DataFrame]:
    """One layer as a UTF-8 Shapefile with short names; returns (path, long texts)."""
    import fiona  # here, not at module level: fiona pulls in boto3, which `geo build` never needs

    columns = [c for c in frame.columns if c != frame.geometry.name]
    short = fields.short_names(columns)
    schema = {"geometry": _fiona_geometry(frame),
              "properties": {short[c]: _dbf_type(frame[c]) for c in columns}}
    long_rows = []
    with fiona.open(target, "w", driver="ESRI Shapefile", schema=schema, crs="EPSG:4326",
                    encoding="utf-8") as sink:
        for _, row in frame.iterrows():
            props = {}
            for col in columns:
                value = _value(row[col])
                if isinstance(value, str) and len(value.encode("utf-8")) > DBF_MAX_BYTES:
                    long_rows.append({"project_id": row.get("project_id"), "field": col,
                                      "short_name": short[col], "value": value})
                    value = _fit_bytes(value)
                props[short[col]] = value
            sink.write({"geometry": shapely.geometry.mapping(row.geometry),
                        "properties": props})
    return target, pd.DataFrame(long_rows, columns=["project_id", "field", "short_name",
                                                    "value"])


def _fiona_geometry(frame: gpd.GeoDataFrame) -> str:
    kinds = sorted(set(frame.geometry.geom_type.dropna()))
    return kinds[0] if len(kinds) == 1 else "Unknown"


def export_shapefiles(gpkg: Path, out: Path) -> list[Path]:
    """Shapefiles (one per geometry type), ``fields.csv`` and long-text sidecars."""
    written = []
    columns: list[str] = []
    for name, frame in project_layers(gpkg).items():
        path, long_text = write_shapefile(frame, out / f"{name}.shp")
        written.append(path)
        columns = [c for c in frame.columns if c != frame.geometry.name]
        if len(long_text):
            written.append(write_csv(out / f"{name}_long_text.csv", long_text))
    written.append(write_csv(out / "fields.csv", field_map(columns)))
    return written


def _all_projects(gpkg: Path) -> gpd.GeoDataFrame:
    frames = list(project_layers(gpkg).values())
    if not frames:
        raise GeoError("the GeoPackage has no located projects", path=gpkg,
                         fix="check the build's unresolved table")
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


def export_geojson(gpkg: Path, out: Path) -> list[Path]:
    """Write all located projects as one GeoJSON file (RFC 7946, WGS84)."""
    target = out / "projects.geojson"
    pyogrio.write_dataframe(_all_projects(gpkg), target, driver="GeoJSON",
                            layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"})
    return [target]


def export_fgb(gpkg: Path, out: Path) -> list[Path]:
    """Write each spatial layer as FlatGeobuf."""
    written = []
    for name, frame in project_layers(gpkg).items():
        target = out / f"{name}.fgb"
        pyogrio.write_dataframe(frame, target, driver="FlatGeobuf")
        written.append(target)
    return written


def export_kml(gpkg: Path, out: Path) -> list[Path]:
    """Write all located projects as one KML file."""
    target = out / "projects.kml"
    frame = _all_projects(gpkg)
    pyogrio.write_dataframe(frame, target, driver="KML", layer="projects",
                            dataset_options={"NameField": "name",
                                             "DescriptionField": "status_label_zh"})
    return [target]


def export_csv(gpkg: Path, out: Path) -> list[Path]:
    """Every project (located or not) with its geometry as WKT (``wkt``, NULL if none)."""
    table = pyogrio.read_dataframe(gpkg, layer="projects", read_geometry=False)
    located = _all_projects(gpkg).set_index("project_id").geometry
    table["wkt"] = [shapely.to_wkt(located[p], rounding_precision=6)
                    if p in located.index else None for p in table["project_id"]]
    return [write_csv(out / "projects.csv", table)]


def export_gpkg(gpkg: Path, out: Path, name: str | None = None) -> list[Path]:
    """A copy of the GeoPackage as ``out/name``; its embedded projects are rewritten to
    read the new file name (a file renamed by hand keeps sources naming the old one)."""
    target = out / (name or Path(gpkg).name)
    shutil.copyfile(gpkg, target)
    if target.name != Path(gpkg).name:
        con = sqlite3.connect(target)
        try:
            with con:
                for pname, content in con.execute("SELECT name, content FROM qgis_projects"
                                                  ).fetchall():
                    qgz = qgis_project.rename_sources(bytes.fromhex(content), Path(gpkg).name,
                                                      target.name)
                    con.execute("UPDATE qgis_projects SET content = ? WHERE name = ?",
                                (qgz.hex(), pname))
        finally:
            con.close()
    return [target]


def export(gpkg: Path, fmt: str, out: Path | None = None, dsn: str | None = None,
           rename: str | None = None) -> list:
    """Write format ``fmt`` of ``gpkg`` into folder ``out`` (or database ``dsn``);
    ``rename``: file name of the ``gpkg`` copy."""
    if fmt not in FORMATS:
        raise GeoError(f"unknown export format {fmt!r}", fix=f"use one of {FORMATS}")
    if fmt == "postgis":
        from .postgis import export_postgis

        if not dsn:
            raise GeoError("postgis export needs a database", fix="pass --dsn postgresql://…")
        return export_postgis(Path(gpkg), dsn)
    if out is None:
        raise GeoError("no output folder", fix="pass --out FOLDER")
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc})", path=out,
                          fix="choose a writable folder") from exc
    if fmt == "gpkg":
        return export_gpkg(Path(gpkg), Path(out), rename)
    writer = {"shp": export_shapefiles, "geojson": export_geojson, "fgb": export_fgb,
              "kml": export_kml, "csv": export_csv}[fmt]
    return writer(Path(gpkg), Path(out))
