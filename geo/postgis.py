"""``geo export --format postgis``: the GeoPackage into a PostgreSQL/PostGIS database.

The tables are copied with GDAL's ``ogr2ogr`` (PostgreSQL driver of the system
GDAL; pyogrio's wheels do not carry it), then :program:`psql` adds what makes
the database as usable as the GeoPackage:

* keys: ``fid`` primary keys (ogr2ogr), ``project_id`` unique in ``projects``
  and foreign keys from ``mentions`` / ``geocode_candidates`` / the project
  layers to ``projects`` and from ``mentions`` to ``sections`` - the relations
  of the GeoPackage's Related Tables;
* ``public.layer_styles`` in the schema QGIS creates itself, holding each
  table's default style (QML and SLD) with ``f_table_catalog`` set to the
  database, so QGIS applies it when the layer is loaded from PostGIS.

Only what the GeoPackage holds is written; existing tables of the same names
are replaced (``-overwrite``), other tables are left alone.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from .errors import GeoError

#: Tables copied, in order (parents before children, for the foreign keys).
TABLES = ("projects_point", "projects_line", "projects_polygon", "districts",
          "district_summary", "district_summary_totals", "projects", "sections", "mentions",
          "unresolved", "geocode_candidates")

#: (child table, column, parent table, column): foreign keys added after the copy.
FOREIGN_KEYS = (
    ("mentions", "project_id", "projects", "project_id"),
    ("geocode_candidates", "project_id", "projects", "project_id"),
    ("unresolved", "project_id", "projects", "project_id"),
    ("projects_point", "project_id", "projects", "project_id"),
    ("projects_line", "project_id", "projects", "project_id"),
    ("projects_polygon", "project_id", "projects", "project_id"),
    ("mentions", "section_id", "sections", "section_id"),
)

#: QGIS's own definition of the styles table (QgsPostgresProvider::saveStyle).
LAYER_STYLES_SQL = """CREATE TABLE IF NOT EXISTS public.layer_styles (
  id SERIAL PRIMARY KEY, f_table_catalog varchar, f_table_schema varchar,
  f_table_name varchar, f_geometry_column varchar, styleName text, styleQML xml,
  styleSLD xml, useAsDefault boolean, description text, owner varchar(63) DEFAULT CURRENT_USER,
  ui xml, update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar);
"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise GeoError(f"{name} not found", fix="install gdal-bin and postgresql-client (apt)")
    return path


def _literal(value) -> str:
    """SQL literal (standard_conforming_strings: only quotes need doubling)."""
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def psql(dsn: str, sql: str) -> str:
    """Run ``sql`` with psql against ``dsn``; stop at the first error."""
    proc = subprocess.run([_tool("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                           "-d", dsn], input=sql, capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise GeoError(f"psql failed: {proc.stderr.strip()[:400]}", path=dsn,
                       fix="check the connection string and that the PostGIS extension exists")
    return proc.stdout


def _copy_table(gpkg: Path, dsn: str, table: str) -> None:
    proc = subprocess.run(
        [_tool("ogr2ogr"), "-f", "PostgreSQL", f"PG:{dsn}", str(gpkg), table, "-nln", table,
         "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid", "-lco",
         "LAUNDER=NO", "-lco", "SPATIAL_INDEX=GIST", "--config", "PG_USE_COPY", "YES"],
        capture_output=True, text=True, timeout=600)
    if proc.returncode:
        raise GeoError(f"ogr2ogr could not copy {table}: {proc.stderr.strip()[:400]}",
                       path=dsn, fix="check the connection string and that PostGIS is enabled")


def _keys_sql(present: set[str]) -> str:
    out = []
    if "projects" in present:
        out.append('ALTER TABLE "projects" ADD CONSTRAINT "projects_project_id_key" '
                   'UNIQUE ("project_id");')
    if "sections" in present:
        out.append('ALTER TABLE "sections" ADD CONSTRAINT "sections_section_id_key" '
                   'UNIQUE ("section_id");')
    for child, col, parent, pcol in FOREIGN_KEYS:
        if child in present and parent in present:
            out.append(f'ALTER TABLE "{child}" ADD CONSTRAINT "{child}_{col}_fkey" FOREIGN KEY '
                       f'("{col}") REFERENCES "{parent}" ("{pcol}");')
    return "\n".join(out)


def _styles_sql(gpkg: Path, present: set[str]) -> str:
    con = sqlite3.connect(gpkg)
    try:
        rows = con.execute("SELECT f_table_name, f_geometry_column, styleName, styleQML, "
                           "styleSLD, description, update_time FROM layer_styles "
                           "WHERE useAsDefault ORDER BY id").fetchall()
        kinds = dict(con.execute("SELECT table_name, geometry_type_name "
                                 "FROM gpkg_geometry_columns"))
    finally:
        con.close()
    out = [LAYER_STYLES_SQL]
    for table, gcol, name, qml, sld, desc, stamp in rows:
        kind = _GEOMETRY_WORD.get(kinds.get(table, ""))
        when = _literal(stamp.replace("T", " ").rstrip("Z"))
        if table not in present:
            continue
        out.append("DELETE FROM public.layer_styles WHERE f_table_catalog = current_database()"
                   f" AND f_table_schema = 'public' AND f_table_name = {_literal(table)};")
        out.append("INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, "
                   "f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
                   "useAsDefault, description, update_time, type) VALUES (current_database(), "
                   f"'public', {_literal(table)}, {_literal(gcol or '')}, {_literal(name)}, "
                   f"XMLPARSE(DOCUMENT {_literal(_body(qml))}), "
                   f"XMLPARSE(DOCUMENT {_literal(_body(sld))}), true, {_literal(desc)}, "
                   f"{when}::timestamp, {_literal(kind)});")
    return "\n".join(out)


#: ``layer_styles.type`` as QGIS writes it: the geometry type word (NULL: no geometry).
_GEOMETRY_WORD = {"POINT": "Point", "MULTIPOINT": "Point", "LINESTRING": "Line",
                  "MULTILINESTRING": "Line", "POLYGON": "Polygon", "MULTIPOLYGON": "Polygon"}


def _body(xml: str) -> str:
    """The document without its ``<!DOCTYPE …>`` line (PostgreSQL's xml type refuses DTDs)."""
    return "\n".join(line for line in xml.splitlines() if not line.startswith("<!DOCTYPE"))


def export_postgis(gpkg: Path, dsn: str) -> list[str]:
    """Copy the GeoPackage's tables, keys, relations and styles to ``dsn``."""
    if not gpkg.exists():
        raise GeoError("no GeoPackage to export", path=gpkg, fix="run `geo build` first")
    con = sqlite3.connect(gpkg)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    finally:
        con.close()
    tables = [t for t in TABLES if t in present]
    psql(dsn, "CREATE EXTENSION IF NOT EXISTS postgis;")
    drop = "".join(f'DROP TABLE IF EXISTS "{t}" CASCADE;' for t in reversed(tables))
    psql(dsn, drop)
    for table in tables:
        _copy_table(gpkg, dsn, table)
    psql(dsn, _keys_sql(set(tables)) + "\n" + _styles_sql(gpkg, set(tables)))
    return tables
