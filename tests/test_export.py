"""geo export: every format written and read back (Chinese intact, same counts),
PostGIS against a real server started here, QGIS loading the results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import run_qgis_python

from geo import export, fields

ROOT = Path(__file__).resolve().parent.parent

GPKG = ROOT / "layers" / "ningbo_2024.gpkg"
#: Server binaries of the newest Debian PostgreSQL installed (not on PATH there).
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/nonexistent"),
             key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


@pytest.fixture(scope="module")
def layers_in() -> dict:
    return export.project_layers(GPKG)


def _same_text(a, b) -> bool:
    return (pd.isna(a) and pd.isna(b)) or a == b


def test_shapefile_round_trip(tmp_path, layers_in):
    written = export.export(GPKG, "shp", tmp_path)
    fmap = pd.read_csv(tmp_path / "fields.csv", dtype=str)
    long_of = dict(zip(fmap["short_name"], fmap["field"], strict=True))
    assert all(len(s) <= 10 for s in fmap["short_name"])
    for name, original in layers_in.items():
        shp = tmp_path / f"{name}.shp"
        assert shp in written and (tmp_path / f"{name}.cpg").read_text().strip() == "UTF-8"
        back = pyogrio.read_dataframe(shp).rename(columns=long_of)
        assert len(back) == len(original)
        sidecar = tmp_path / f"{name}_long_text.csv"
        if sidecar.exists():
            for row in pd.read_csv(sidecar, dtype=str).itertuples():
                idx = back.index[back["project_id"] == row.project_id][0]
                assert row.value.startswith(back.at[idx, row.field])  # cut, not garbled
                back.at[idx, row.field] = row.value
        for col in ("project_id", "name", "status_label_zh", "districts", "source",
                    "section_title"):
            for a, b in zip(back[col], original[col], strict=True):
                assert _same_text(a, b), (name, col, a, b)
        assert any("铁路" in n or "公园" in n or "大桥" in n for n in back["name"])
        # Shapefile does not tell single from multi parts: compare the shapes themselves
        assert all(a.equals(b) for a, b in zip(back.geometry, original.geometry, strict=True))


def test_geojson_is_rfc7946_with_gpkg_types(tmp_path, layers_in):
    (path,) = export.export(GPKG, "geojson", tmp_path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in doc
    feats = doc["features"]
    assert len(feats) == sum(len(f) for f in layers_in.values())
    gpkg_types = {t for f in layers_in.values() for t in f.geometry.geom_type}
    assert {f["geometry"]["type"] for f in feats} == gpkg_types
    names = {f["properties"]["name"] for f in feats}
    assert names == {n for f in layers_in.values() for n in f["name"]}
    for f in feats[:20]:
        x, y = shapely.geometry.shape(f["geometry"]).representative_point().coords[0]
        assert 118 < x < 124 and 27 < y < 32  # lon, lat order


@pytest.mark.parametrize("fmt", ["fgb", "kml"])
def test_fgb_and_kml_read_back(tmp_path, layers_in, fmt):
    written = export.export(GPKG, fmt, tmp_path)
    names = []
    for path in written:
        for layer, _ in pyogrio.list_layers(path):
            names += list(pyogrio.read_dataframe(path, layer=layer)["name"]
                          if fmt == "fgb" else
                          pyogrio.read_dataframe(path, layer=layer)["Name"])
    expected = [n for f in layers_in.values() for n in f["name"]]
    assert sorted(names) == sorted(expected)


def test_csv_has_every_project_with_wkt(tmp_path, layers_in):
    (path,) = export.export(GPKG, "csv", tmp_path)
    table = pd.read_csv(path, dtype=str)
    projects = pyogrio.read_dataframe(GPKG, layer="projects", read_geometry=False)
    assert list(table["project_id"]) == list(projects["project_id"])
    assert list(table["name"]) == list(projects["name"])
    located = table["wkt"].notna()
    assert located.sum() == sum(len(f) for f in layers_in.values())
    assert all(shapely.from_wkt(w).is_valid for w in table.loc[located, "wkt"])


def test_short_names_are_the_documented_map():
    columns = list(export.project_layers(GPKG)["projects_line"].columns)
    columns.remove("geometry")
    fmap = export.field_map(columns)
    assert list(fmap["short_name"]) == [fields.short_names(columns)[c] for c in columns]
    assert fmap["short_name"].str.len().max() <= 10


def test_unknown_format_is_one_clear_error(tmp_path):
    from geo.errors import GeoError

    with pytest.raises(GeoError, match="unknown export format"):
        export.export(GPKG, "dwg", tmp_path)
    with pytest.raises(GeoError, match="run `geo build` first"):
        export.export(tmp_path / "missing.gpkg", "shp", tmp_path)


# --------------------------------------------------------------------------- QGIS


def _qgis(args: list[str]) -> subprocess.CompletedProcess:
    return run_qgis_python(*args)


@pytest.mark.qgis
def test_renamed_copy_opens_its_project(tmp_path):
    """A copy made by ``geo export gpkg --rename`` opens its project, every layer valid."""
    (copy,) = export.export(GPKG, "gpkg", tmp_path, rename="ningbo_projects_v2.gpkg")
    proc = _qgis([str(ROOT / "tests" / "qgis_check.py"), str(copy), str(tmp_path / "r.png"),
                  "--project", "ningbo_2024"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    project = report["project"]
    ogr = [lyr for lyr in project["layers"] if lyr["provider"] == "ogr"]
    assert project["loaded"] and len(ogr) > 10
    assert all(lyr["valid"] for lyr in ogr), [lyr["name"] for lyr in ogr if not lyr["valid"]]
    assert all("ningbo_projects_v2.gpkg" in lyr["source"] for lyr in ogr)


# --------------------------------------------------------------------------- PostGIS


@pytest.fixture(scope="module")
def postgis():
    """A throwaway PostgreSQL cluster with PostGIS on a Unix socket (no TCP)."""
    if not (PG_BIN / "initdb").exists() or not shutil.which("psql"):
        pytest.skip("PostgreSQL server binaries are absent (apt-get install postgresql "
                    "postgis; scripts/install_test_deps.sh does it)")
    # not under pytest's tmp folder: that is private to root, and the server runs as
    # 'postgres' when the tests run as root
    base = Path(tempfile.mkdtemp(prefix="geo-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as 'postgres'
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = str(54000 + os.getpid() % 1000)
    subprocess.run([*as_user, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--locale=C"], check=True,
                   capture_output=True)
    subprocess.run([*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(base / "log"), "-o",
                    f"-c listen_addresses='' -k {sock} -p {port}", "start"], check=True,
                   capture_output=True)
    try:
        dsn = f"postgresql://postgres@/geo?host={sock}&port={port}"
        for _ in range(50):
            if subprocess.run(["psql", "-X", "-d", f"postgresql://postgres@/postgres?host="
                               f"{sock}&port={port}", "-c", "CREATE DATABASE geo"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        yield {"dsn": dsn, "conninfo": f"dbname=geo host={sock} port={port} user=postgres"}
    finally:
        subprocess.run([*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                        "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_postgis_round_trip(postgis, layers_in):
    from geo.postgis import psql

    tables = export.export(GPKG, "postgis", dsn=postgis["dsn"])
    assert set(layers_in) <= set(tables)
    for name, original in layers_in.items():
        # pyogrio's GDAL has no PostgreSQL driver: read back with psql
        rows = psql(postgis["dsn"], f'SELECT project_id, name, ST_GeometryType(geom) '
                                    f'FROM "{name}" ORDER BY fid').splitlines()
        assert len(rows) == len(original)
        got = [r.split("|") for r in rows]
        assert [g[0] for g in got] == list(original["project_id"])
        assert [g[1] for g in got] == list(original["name"])  # Chinese intact
    fks = psql(postgis["dsn"], "SELECT conname FROM pg_constraint WHERE contype = 'f' "
                               "ORDER BY conname").split()
    assert "mentions_project_id_fkey" in fks and "mentions_section_id_fkey" in fks
    styles = psql(postgis["dsn"], "SELECT f_table_name FROM layer_styles WHERE "
                                  "useasdefault AND f_table_catalog = 'geo'").split()
    assert set(layers_in) <= set(styles)
    # again: replaces, does not duplicate
    export.export(GPKG, "postgis", dsn=postgis["dsn"])
    again = psql(postgis["dsn"], "SELECT count(*) FROM layer_styles").strip()
    assert int(again) == len(styles)


@pytest.mark.qgis
def test_qgis_loads_postgis_layers_with_default_styles(postgis, layers_in):
    export.export(GPKG, "postgis", dsn=postgis["dsn"])
    proc = _qgis([str(ROOT / "tests" / "qgis_postgis_check.py"), postgis["conninfo"],
                  *layers_in])
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    for name, original in layers_in.items():
        info = report["layers"][name]
        assert info["valid"], name
        assert info["count"] == len(original)
        assert info["renderer"] == "categorizedSymbol" and info["attr"] == "status", info
        assert info["alias"] == "名称 Name"
        assert info["first_name"] in set(original["name"])
    assert report["messages"] == []


def test_readme_short_name_table_is_the_map():
    """README's short-name table says what the export does."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("**Short-name map**", 1)[1].split("\n\n", 1)[1].split("\n\n", 1)[0]
    pairs = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        pairs.update(dict(zip(cells[0::2], cells[1::2], strict=True)))
    assert len(pairs) >= 20
    assert fields.short_names(list(pairs)) == pairs
