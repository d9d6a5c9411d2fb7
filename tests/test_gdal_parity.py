"""The GeoPackage structures ``geo.layers`` writes by hand equal what GDAL writes.

``layers`` builds the R-tree index, its triggers and the feature-count triggers
itself (to keep rebuilds byte-identical).  This ties that code to the real
thing: GDAL, asked for the same layer at the same ``GPKG_VERSION``, must write
the same trigger SQL, header ids and extension rows.  A GDAL upgrade that
changes them fails here, not silently in users' tools.
"""

from __future__ import annotations

import re
import sqlite3

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from geo.layers import GPKG_VERSION

LAYER = "projects_point"


def _norm(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().replace('"', "").lower()


def _structures(path, table: str) -> dict:
    con = sqlite3.connect(path)
    try:
        triggers = {_norm(sql) for (sql,) in con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND (tbl_name = ? OR "
            "tbl_name = ?)", (table, f"rtree_{table}_geom"))}
        extensions = set(con.execute(
            "SELECT table_name, column_name, extension_name, scope FROM gpkg_extensions "
            "WHERE table_name = ? AND extension_name = 'gpkg_rtree_index'", (table,)))
        header = (con.execute("PRAGMA application_id").fetchone()[0],
                  con.execute("PRAGMA user_version").fetchone()[0])
        rtree = con.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                            (f"rtree_{table}_geom",)).fetchone()
    finally:
        con.close()
    return {"triggers": triggers, "extensions": extensions, "header": header,
            "rtree": _norm(rtree[0]) if rtree else None}


@pytest.fixture(scope="module")
def gdal_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gdal") / "gdal.gpkg"
    frame = gpd.GeoDataFrame({"project_id": ["P-1"]}, geometry=[Point(121.5, 29.9)],
                             crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path, layer=LAYER, driver="GPKG", geometry_type="Point",
                            dataset_options={"VERSION": GPKG_VERSION},
                            layer_options={"GEOMETRY_NAME": "geom", "FID": "fid",
                                           "SPATIAL_INDEX": "YES"})
    return path


def test_triggers_header_and_extensions_match_gdal(ningbo_build, gdal_file):
    ours = _structures(ningbo_build.paths["gpkg"], LAYER)
    gdal = _structures(gdal_file, LAYER)
    assert ours["header"] == gdal["header"]
    assert ours["rtree"] == gdal["rtree"]
    assert ours["extensions"] == gdal["extensions"]
    rtree_triggers = {t for t in gdal["triggers"] if f"rtree_{LAYER}_geom" in t}
    assert rtree_triggers and rtree_triggers <= ours["triggers"], (
        sorted(rtree_triggers - ours["triggers"]))
    missing = gdal["triggers"] - ours["triggers"]
    assert not missing, sorted(missing)
