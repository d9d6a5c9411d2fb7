"""Tests of geo.layers: the GeoPackage GIS staff open in QGIS.

Synthetic inputs (a few projects of every geometry type and status, two
districts near Ningbo) are written once per module; tests without QGIS read
the file with sqlite3, pyogrio and ``ogrinfo``; the ``qgis`` test runs
``tests/qgis_check.py`` under the system Python with QGIS 3.22.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from conftest import qgis_unavailable, run_qgis_python
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon, box

from geo import layers, qgis_layout, qgis_project, qgis_style, resources, settings
from geo.schema import (
    CANDIDATES,
    DISPLAY_STATUSES,
    MENTIONS,
    MENTIONS_EXTRA,
    PROJECTS,
    SECTIONS,
    STATUSES,
    UNRESOLVED,
    SchemaError,
)
from geo.survey import COMPARISON_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHECK_SCRIPT = ROOT / "tests" / "qgis_check.py"

# --------------------------------------------------------------------------- fixtures

# (id, name, kind, status, geometry) - every status, every geometry type, one unlocated.
_PROJECTS = [
    ("P-0000000001", "轨道交通7号线", "metro", "under_construction",
     LineString([(121.50, 29.86), (121.56, 29.90), (121.62, 29.91)])),
    ("P-0000000002", "甬舟铁路", "rail", "started",
     MultiLineString([[(121.45, 29.80), (121.55, 29.82)], [(121.55, 29.82), (121.70, 29.95)]])),
    ("P-0000000003", "机场快速路南延", "road", "completed",
     LineString([(121.46, 29.78), (121.47, 29.70)])),
    ("P-0000000004", "象山湾疏港高速", "expressway", "planning",
     LineString([(121.60, 29.70), (121.75, 29.60)])),
    ("P-0000000005", "宁波西枢纽", "rail", "other", Point(121.49, 29.87)),
    ("P-0000000006", "李惠利医院东部院区", "hospital", "completed", Point(121.58, 29.87)),
    ("P-0000000007", "宁波图书馆新馆", "culture", "under_construction", Point(121.60, 29.88)),
    ("P-0000000008", "三江口公园", "park", "planning",
     Polygon([(121.54, 29.87), (121.56, 29.87), (121.56, 29.885), (121.54, 29.885)])),
    ("P-0000000009", "前湾新区产业园", "industrial", "started",
     MultiPolygon([box(121.20, 30.20, 121.25, 30.24), box(121.27, 30.20, 121.30, 30.22)])),
    ("P-0000000010", "东钱湖湿地", "wetland_or_island", "completed",
     box(121.63, 29.75, 121.68, 29.79)),
    ("P-0000000011", "某未定位项目", "energy", "planning", None),
]


def _project_frame() -> gpd.GeoDataFrame:
    theme_of = resources.theme_of_kind()
    rows = []
    for pid, name, kind, status, geom in _PROJECTS:
        info = resources.status_info(status)
        rows.append({
            "project_id": pid, "name": name, "name_en": "", "kind": kind,
            "theme": theme_of[kind], "status": status, "status_label_zh": info["zh"],
            "status_label_en": info["en"], "status_year": 2024 if status != "completed" else 2023,
            "status_phrase": "加快建设", "part": "tasks", "section": "三",
            "section_title": "（三）扩大有效投资", "geometry_type": geom.geom_type if geom else "",
            "precision": "site" if geom else "", "source": "test",
            "source_url": "https://example.org/a" if geom else "", "source_notes": "test notes",
            "published_length_km": None, "published_area_km2": None, "measure_note": "",
            "cited_vertices": "", "match_rule": "exact",
            "districts": "海曙区" if geom else "", "n_mentions": 1 if pid[-1] != "1" else 2,
            "length_km": 999.0, "area_km2": 999.0, "merged_into": "", "geometry": geom,
            "stage_at_report": status, "stage_inferred": False, "target": "none",
            "target_year": None, "promise_outcome": "",
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")[[*PROJECTS, "geometry"]]


def _mentions(projects: gpd.GeoDataFrame) -> pd.DataFrame:
    rows = []
    for p in projects.itertuples():
        for k in range(int(p.n_mentions)):
            i = len(rows) + 1
            section = "2.3" if k == 0 else "1.2"
            rows.append({
                "mention_id": f"M{i:04d}", "project_id": p.project_id, "name": p.name,
                "kind": p.kind, "status": p.status, "status_phrase": p.status_phrase,
                "part": "tasks" if section == "2.3" else "review",
                "section": "三" if section == "2.3" else "二", "section_title": "标题",
                "lead": "", "quote": f"加快{p.name}建设。", "start": 100 * i,
                "end": 100 * i + len(p.name), "year": 2024, "section_id": section,
                "quote_start": 100 * i - 2, "status_start": 100 * i - 2,
                "status_end": 100 * i,
                "claim": "target" if section == "2.3" else "fact", "stage": p.status,
            })
    return pd.DataFrame(rows)[[*MENTIONS, *MENTIONS_EXTRA]]


def _sections() -> pd.DataFrame:
    rows = [("1", "review", "一", "2023年工作回顾", "", "", 2023, 0, 50),
            ("1.2", "review", "一", "2023年工作回顾", "二", "（二）项目建设", 2023, 10, 50),
            ("2", "tasks", "二", "2024年主要目标任务", "", "", 2024, 50, 5000),
            ("2.3", "tasks", "二", "2024年主要目标任务", "三", "（三）扩大有效投资", 2024, 60,
             5000)]
    return pd.DataFrame(rows, columns=SECTIONS)


def _districts() -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"adcode": ["330203", "330212"], "name": ["海曙区", "鄞州区"]},
        geometry=[box(121.2, 29.6, 121.55, 30.3), box(121.55, 29.55, 121.8, 30.0)],
        crs="EPSG:4326")
    frame["area_km2"] = frame.to_crs(settings.metric_crs).area / 1e6
    return frame[["adcode", "name", "area_km2", "geometry"]]


def _summary(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    cols = ["district", "adcode", "area_km2", "n_projects",
            *[f"n_{s}" for s in STATUSES], *[f"n_{t['id']}" for t in resources.themes()],
            *[f"rail_km_{s}" for s in STATUSES], *[f"road_km_{s}" for s in STATUSES],
            "per_100km2", "projects"]
    rows = []
    for i, d in enumerate(districts.itertuples()):
        row = dict.fromkeys(cols, 0)
        row.update(district=d.name, adcode=d.adcode, area_km2=d.area_km2, n_projects=4 + i,
                   per_100km2=(4 + i) / d.area_km2 * 100, projects="甲|乙", geometry=d.geometry)
        rows.append(row)
    for label, n in (("全市", 10), ("未定位 (unlocated)", 1)):
        row = dict.fromkeys(cols, 0)
        row.update(district=label, adcode="", area_km2=None, n_projects=n, per_100km2=None,
                   projects="", geometry=None)
        rows.append(row)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")[[*cols, "geometry"]]


def _inputs() -> dict:
    projects = _project_frame()
    districts = _districts()
    unresolved = pd.DataFrame([("P-0000000011", "某未定位项目", "energy", "planning",
                                "no gazetteer match")], columns=UNRESOLVED)
    candidates = pd.DataFrame([
        ("P-0000000001", "轨道交通7号线", "宁波轨道交通7号线", 12, "exact", 1.0, 1),
        ("P-0000000001", "轨道交通7号线", "7号线", 13, "fuzzy", 0.8, 0),
        ("P-0000000006", "李惠利医院东部院区", "李惠利医院", 40, "fuzzy", 0.9, 1),
    ], columns=CANDIDATES)
    return {"projects": projects, "mentions": _mentions(projects), "sections": _sections(),
            "unresolved": unresolved, "candidates": candidates, "districts": districts,
            "summary": _summary(districts),
            "reference": pd.DataFrame([
                ("轨道交通7号线", "湾头站 (station on the line)", "schematic", 12.5, 2000.0, True,
                 "independent", "https://example.org/wanto"),
            ], columns=list(COMPARISON_COLUMNS)),
            "meta": {"name": "test_2024", "city": "宁波市",
                     "report_path": "data/raw/ningbo_2024.txt", "report_sha256": "ab" * 32,
                     "report_year": 2024,
                     "title": "宁波市2024年政府工作报告 项目地图 <test & \"q\">",
                     "generated_by": "geo 0.1.0"}}


@pytest.fixture(scope="module")
def inputs() -> dict:
    return _inputs()


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory, inputs) -> Path:
    path = tmp_path_factory.mktemp("layers") / "test_2024.gpkg"
    return layers.write_geopackage(path, **inputs)


def _sql(path: Path, query: str, *args) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def _expected_layers(projects: gpd.GeoDataFrame) -> dict[str, int]:
    stems = {t["id"]: t["layer"] for t in resources.themes()}
    counts: dict[str, int] = {}
    for theme, geom in zip(projects["theme"], projects.geometry, strict=True):
        cls = layers.geometry_class(geom)
        if cls:
            name = f"{stems[theme]}_{cls}"
            counts[name] = counts.get(name, 0) + 1
    return counts


def _expected_tables(projects: gpd.GeoDataFrame) -> dict[str, int]:
    """``projects_<class>`` -> feature count."""
    counts: dict[str, int] = {}
    for geom in projects.geometry:
        cls = layers.geometry_class(geom)
        if cls:
            counts[f"projects_{cls}"] = counts.get(f"projects_{cls}", 0) + 1
    return counts


def _read_theme(path: Path, name: str) -> gpd.GeoDataFrame:
    """A theme layer as the embedded project shows it: projects_<class> filtered on theme."""
    stem, cls = name.rsplit("_", 1)
    theme = next(t["id"] for t in resources.themes() if t["layer"] == stem)
    return pyogrio.read_dataframe(path, layer=f"projects_{cls}", where=f"theme = '{theme}'")


def _tables(path: Path) -> dict[str, str]:
    return dict(_sql(path, "SELECT table_name, data_type FROM gpkg_contents"))


def _dump(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows (sqlite_master order), for comparing two files."""
    names = [r[0] for r in _sql(path, "SELECT name FROM sqlite_master WHERE type='table' "
                                      "ORDER BY name")]
    return {n: _sql(path, f'SELECT * FROM "{n}"') for n in names}


# --------------------------------------------------------------------------- layers and fields


def test_layer_list_and_counts(gpkg, inputs):
    """One projects layer per geometry type; theme layers as filtered views; fixed tables."""
    expected = _expected_tables(inputs["projects"])
    tables = _tables(gpkg)
    spatial = {n for n, t in tables.items() if t == "features"}
    assert spatial == set(expected) | {"districts", "district_summary"}
    for name, count in expected.items():
        assert _sql(gpkg, f'SELECT count(*) FROM "{name}"')[0][0] == count, name
    for name, count in _expected_layers(inputs["projects"]).items():
        assert len(_read_theme(gpkg, name)) == count, name
    for name in ("projects", "mentions", "sections", "unresolved", "geocode_candidates",
                 "district_summary_totals", "layer_styles", "reference_check"):
        assert tables[name] == "attributes", name
    geom_types = dict(_sql(gpkg, "SELECT table_name, geometry_type_name "
                                 "FROM gpkg_geometry_columns"))
    for name in expected:
        cls = name.rsplit("_", 1)[1]
        assert geom_types[name] == {"point": "POINT", "line": "MULTILINESTRING",
                                    "polygon": "MULTIPOLYGON"}[cls]


def test_fields_of_theme_layers_and_projects_table(gpkg, inputs):
    info = pyogrio.read_info(gpkg, layer="projects_line")
    assert list(info["fields"]) == layers.PROJECT_FIELDS
    assert info["crs"] == "EPSG:4326"
    table = pyogrio.read_dataframe(gpkg, layer="projects")
    assert list(table["project_id"]) == list(inputs["projects"]["project_id"])
    unlocated = table[table["project_id"] == "P-0000000011"].iloc[0]
    assert pd.isna(unlocated["layer"])
    located = table[table["project_id"] == "P-0000000008"].iloc[0]
    assert located["layer"] == "projects_polygon"
    assert located["theme_layer"] == "parks_ecology_polygon"
    assert located["kind_label"] == resources.kind_labels()["park"]["zh"]


def test_lengths_and_areas_are_written_as_given(gpkg, inputs):
    """The writer serialises the pipeline's measures; it never measures again."""
    given = inputs["projects"].set_index("project_id")
    lines = _read_theme(gpkg, "rail_transit_line").set_index("project_id")
    assert len(lines)
    for pid, row in lines.iterrows():
        expected = given.loc[pid, "length_km"]
        assert (pd.isna(row["length_km"]) and pd.isna(expected)) or row["length_km"] == expected


def test_summary_split(gpkg, inputs):
    """District rows keep polygons; the city-wide and unlocated rows form a table."""
    poly = pyogrio.read_dataframe(gpkg, layer="district_summary")
    assert sorted(poly["adcode"]) == sorted(inputs["districts"]["adcode"])
    totals = pyogrio.read_dataframe(gpkg, layer="district_summary_totals")
    assert list(totals["district"]) == ["全市", "未定位 (unlocated)"]


# --------------------------------------------------------------------------- compatibility


def test_version_integrity_and_spatial_index(gpkg):
    assert _sql(gpkg, "PRAGMA application_id")[0][0] == layers.GPKG_APPLICATION_ID
    assert _sql(gpkg, "PRAGMA user_version")[0][0] == layers.GPKG_USER_VERSION == 10200
    assert _sql(gpkg, "PRAGMA integrity_check") == [("ok",)]
    assert _sql(gpkg, "PRAGMA foreign_key_check") == []
    names = {r[0] for r in _sql(gpkg, "SELECT name FROM sqlite_master")}
    rtree = {r[0] for r in _sql(gpkg, "SELECT table_name FROM gpkg_extensions "
                                      "WHERE extension_name = 'gpkg_rtree_index'")}
    spatial = {n for n, t in _tables(gpkg).items() if t == "features"}
    assert rtree == spatial
    for name in spatial:
        assert f"rtree_{name}_geom" in names
        n_index = _sql(gpkg, f'SELECT count(*) FROM "rtree_{name}_geom"')[0][0]
        assert n_index == _sql(gpkg, f'SELECT count(*) FROM "{name}"')[0][0]


def test_ogrinfo_is_clean(gpkg):
    """The system GDAL (the one QGIS uses) lists every layer without a warning."""
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.skip("ogrinfo (gdal-bin) is not installed")
    proc = subprocess.run([ogrinfo, "-ro", "-al", "-so", str(gpkg)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    noise = [ln for ln in (proc.stderr + proc.stdout).splitlines()
             if "Warning" in ln or "ERROR" in ln]
    assert noise == []
    for name in _tables(gpkg):
        assert f"Layer name: {name}" in proc.stdout


def test_pyogrio_reads_every_layer_without_warnings(gpkg, recwarn, caplog):
    """The newer GDAL bundled with pyogrio reads every table quietly too."""
    caplog.set_level("WARNING")
    for name in _tables(gpkg):
        pyogrio.read_dataframe(gpkg, layer=name)
    assert [str(w.message) for w in recwarn] == []
    assert caplog.records == []


# --------------------------------------------------------------------------- styles


def test_layer_styles_one_default_per_spatial_layer(gpkg, inputs):
    rows = _sql(gpkg, "SELECT f_table_name, f_geometry_column, styleQML, styleSLD, "
                      "useAsDefault, update_time FROM layer_styles")
    by_table = {r[0]: r for r in rows}
    assert len(by_table) == len(rows)
    spatial = {n for n, t in _tables(gpkg).items() if t == "features"}
    assert spatial <= set(by_table)
    stamp = layers.fixed_time(inputs["meta"])
    for name, geom_col, qml, sld, default, updated in rows:
        assert default == 1 and updated == stamp
        assert geom_col == ("geom" if name in spatial else "")
        ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
        ET.fromstring(sld.split("\n", 1)[1])


def _categories(qml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(qml.split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "status"
    symbols = {s.get("name"): s for s in renderer.find("symbols")}
    return {c.get("value"): symbols[c.get("symbol")] for c in renderer.find("categories")}


def _statuses_in(gpkg: Path, table: str, where: str = "1") -> list[str]:
    """The statuses present in ``table``, in statuses.json order."""
    present = {r[0] for r in _sql(gpkg, f'SELECT DISTINCT status FROM "{table}" WHERE {where}')}
    return [s["code"] for s in resources.statuses() if s["code"] in present]


def test_styles_follow_statuses_json(gpkg):
    """Every status present has a category (no empty class), with its colour, dash
    pattern and opacity."""
    qml = _sql(gpkg, "SELECT styleQML FROM layer_styles WHERE f_table_name = ?",
               "projects_line")[0][0]
    cats = _categories(qml)
    assert list(cats) == _statuses_in(gpkg, "projects_line")
    assert len(cats) < len(DISPLAY_STATUSES)  # the test input lacks some: no legend entry
    for status in resources.statuses():
        if status["code"] not in cats:
            continue
        symbol = cats[status["code"]]
        assert float(symbol.get("alpha")) == pytest.approx(status["opacity"])
        line = symbol.findall("layer")[-1]
        props = {p.get("k"): p.get("v") for p in line.findall("prop")}
        assert props["line_color"] == qgis_style.rgba(status["color"])
        if status["dash"]:
            dash = [float(v) for v in props["customdash"].split(";")]
            want = [d * qgis_style.LINE_WIDTH_MM for d in status["dash"]]
            assert props["use_custom_dash"] == "1" and dash == pytest.approx(want)
        else:
            assert props["use_custom_dash"] == "0"
    root = ET.fromstring(qml.split("\n", 1)[1])
    rendering = root.find("labeling/settings/rendering")
    assert root.find("labeling/settings/text-style").get("fieldName") == "name"
    # lines: no scale cut-off, a Show expression (zoomed in, or a major line) instead
    assert rendering.get("scaleVisibility") == "0"
    assert float(rendering.get("scaleMax")) == qgis_style.LABEL_MAX_SCALE
    show = root.find("labeling/settings/dd_properties//Option[@name='Show']")
    expr = show.find("Option[@name='expression']").get("value")
    assert expr == qgis_style.major_line_rule()[0] and "length_km" in expr
    point_qml = _sql(gpkg, "SELECT styleQML FROM layer_styles WHERE f_table_name = ?",
                     "projects_point")[0][0]
    point = ET.fromstring(point_qml.split("\n", 1)[1]).find("labeling/settings/rendering")
    assert point.get("scaleVisibility") == "1"


def _project_layer_style(gpkg: Path, layer: str) -> str:
    """A theme layer's style as the embedded project holds it, as a QML-like document."""
    root = _project_xml(gpkg, "test_2024")
    elem = next(m for m in root.iter("maplayer") if m.findtext("id") == f"{layer}_gpkg")
    return "\n" + ET.tostring(elem, encoding="unicode")


def test_point_markers_use_theme_shapes(gpkg):
    for table, theme_id in (("public_services_point", "public"), ("rail_transit_point",
                                                                  "transit")):
        theme = next(t for t in resources.themes() if t["id"] == theme_id)
        qml = _project_layer_style(gpkg, table)
        for symbol in _categories(qml).values():
            props = {p.get("k"): p.get("v") for p in symbol.find("layer").findall("prop")}
            assert props["name"] == qgis_style.QGIS_MARKERS[theme["marker"]]


def test_point_status_by_glyph_as_well_as_colour(gpkg):
    """Each status present on a point layer draws statuses.json's ``qgis_shape`` glyph over
    the theme's marker; no two statuses share a glyph, so colour is not the only cue."""
    glyphs = [s["qgis_shape"] for s in resources.statuses()]
    assert len(set(glyphs)) == len(glyphs)
    qml = _project_layer_style(gpkg, "rail_transit_point")
    cats = _categories(qml)
    assert cats
    for code, symbol in cats.items():
        layers_ = symbol.findall("layer")
        shape = resources.status_info(code)["qgis_shape"]
        if not shape:
            assert len(layers_) == 1
            continue
        assert len(layers_) == 2
        props = {p.get("k"): p.get("v") for p in layers_[1].findall("prop")}
        assert props["name"] == shape
        assert float(props["size"]) < qgis_style.MARKER_SIZE_MM / 1.5


def test_sld_rules_cover_every_status(gpkg):
    sld = _sql(gpkg, "SELECT styleSLD FROM layer_styles WHERE f_table_name = ?",
               "projects_line")[0][0]
    assert sld.count("<ogc:PropertyIsEqualTo>") == len(DISPLAY_STATUSES)
    for status in resources.statuses():
        assert f"<ogc:Literal>{status['code']}</ogc:Literal>" in sld
        assert status["color"].lower() in sld
    assert "<se:MaxScaleDenominator>150000</se:MaxScaleDenominator>" in sld


def test_districts_are_outlines(gpkg):
    qml = _sql(gpkg, "SELECT styleQML FROM layer_styles WHERE f_table_name = 'districts'")[0][0]
    fill = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2/symbols/symbol/layer")
    props = {p.get("k"): p.get("v") for p in fill.findall("prop")}
    assert fill.get("class") == "SimpleFill" and props["style"] == "no"


# --------------------------------------------------------------------------- schema extras


def test_field_aliases_and_domains(gpkg):
    rows = _sql(gpkg, "SELECT column_name, name, constraint_name FROM gpkg_data_columns "
                      "WHERE table_name = 'projects_line'")
    aliases = {c: n for c, n, _ in rows}
    assert set(aliases) == set(layers.PROJECT_FIELDS)
    assert aliases["name"] == "名称 Name"
    assert {c: k for c, _, k in rows if k} == {k: k for k in ("kind", "theme", "status",
                                                             "part", "precision")}
    codes = [r[0] for r in _sql(gpkg, "SELECT value FROM gpkg_data_column_constraints "
                                      "WHERE constraint_name = 'status' ORDER BY rowid")]
    assert codes == list(DISPLAY_STATUSES)
    ext = {r[0] for r in _sql(gpkg, "SELECT table_name FROM gpkg_extensions "
                                    "WHERE extension_name = 'gpkg_schema'")}
    assert ext == {"gpkg_data_columns", "gpkg_data_column_constraints"}


def test_related_tables_extension(gpkg, inputs):
    rels = _sql(gpkg, "SELECT base_table_name, base_primary_column, related_table_name, "
                      "related_primary_column, relation_name, mapping_table_name "
                      "FROM gpkgext_relations")
    assert ("projects", "fid", "mentions", "fid", "attributes", "rel_projects_mentions") in rels
    assert ("sections", "fid", "mentions", "fid", "attributes", "rel_sections_mentions") in rels
    ext = {r[0] for r in _sql(gpkg, "SELECT table_name FROM gpkg_extensions "
                                    "WHERE extension_name = 'related_tables'")}
    assert ext == {"gpkgext_relations", *(r[5] for r in rels)}
    linked = _sql(gpkg, "SELECT p.project_id, m.mention_id FROM rel_projects_mentions x "
                        "JOIN projects p ON p.fid = x.base_id JOIN mentions m "
                        "ON m.fid = x.related_id ORDER BY m.mention_id")
    expected = list(zip(inputs["mentions"]["project_id"], inputs["mentions"]["mention_id"],
                        strict=True))
    assert linked == expected
    sections = _sql(gpkg, "SELECT s.section_id, count(*) FROM rel_sections_mentions x "
                          "JOIN sections s ON s.fid = x.base_id GROUP BY s.section_id")
    assert dict(sections) == inputs["mentions"]["section_id"].value_counts().to_dict()


def test_metadata_names_source_licence_crs_and_precision(gpkg, inputs):
    rows = _sql(gpkg, "SELECT m.metadata FROM gpkg_metadata m JOIN gpkg_metadata_reference r "
                      "ON r.md_file_id = m.id WHERE r.reference_scope = 'geopackage'")
    doc = json.loads(rows[0][0])
    assert doc["source_report"]["sha256"] == inputs["meta"]["report_sha256"]
    assert "ODbL" in doc["licence"] and "OpenStreetMap" in doc["licence"]
    assert any("cnmaps" in a for a in doc["attribution"])
    assert doc["crs"].startswith("EPSG:4326")
    assert set(doc["precision_classes"]) == set(layers.PRECISION_DOCS)
    stamps = {r[0] for r in _sql(gpkg, "SELECT timestamp FROM gpkg_metadata_reference")}
    assert stamps == {layers.fixed_time(inputs["meta"])}
    tables = {r[0] for r in _sql(gpkg, "SELECT table_name FROM gpkg_metadata_reference "
                                       "WHERE reference_scope = 'table'")}
    assert set(_expected_tables(inputs["projects"])) <= tables


def _project_xml(gpkg: Path, name: str) -> ET.Element:
    hexed = _sql(gpkg, "SELECT content FROM qgis_projects WHERE name = ?", name)[0][0]
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(hexed))) as zf:
        assert zf.namelist() == [f"{name}.qgs"]
        text = zf.read(f"{name}.qgs").decode("utf-8")
    return ET.fromstring(text.split("\n", 1)[1])


def test_embedded_project(gpkg, inputs):
    root = _project_xml(gpkg, "test_2024")
    assert root.findtext("title") == inputs["meta"]["title"]  # escaped and read back
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:3857"
    sources = [e.text for e in root.iter("datasource")]
    ogr_sources = [s for s in sources if "layername=" in s]
    assert all(s.startswith("./test_2024.gpkg|layername=") for s in ogr_sources)
    tables = {s.split("layername=")[1].split("|")[0] for s in ogr_sources}
    ids = {e.findtext("id").removesuffix("_gpkg") for e in root.iter("maplayer")}
    assert set(_expected_layers(inputs["projects"])) <= ids
    assert any("|subset=\"theme\" = 'transit'" in s for s in ogr_sources)
    assert set(_expected_tables(inputs["projects"])) | {"mentions", "projects"} <= tables
    rels = {(r.get("referencingLayer"), r.get("referencedLayer"))
            for r in root.iter("relation")}
    assert ("mentions_gpkg", "rail_transit_line_gpkg") in rels
    assert ("mentions_gpkg", "sections_gpkg") in rels
    groups = [g.get("name") for g in root.find("layer-tree-group").findall("layer-tree-group")]
    assert groups[-2:] == ["行政区 Districts", "属性表 Tables"]
    ext = root.find("mapcanvas/extent")
    x0, y0 = float(ext.findtext("xmin")), float(ext.findtext("ymin"))
    assert 13.0e6 < x0 < 14.0e6 and 3.0e6 < y0 < 4.0e6  # around Ningbo in EPSG:3857
    meta = _sql(gpkg, "SELECT metadata FROM qgis_projects")[0][0]
    assert json.loads(meta)["last_modified_time"].startswith("2024-01-01")


# --------------------------------------------------------------------------- behaviour


def test_deterministic(tmp_path, gpkg, inputs):
    """Writing the same inputs again gives the same tables, byte for byte."""
    again = layers.write_geopackage(tmp_path / gpkg.name, **inputs)
    assert _dump(again) == _dump(gpkg)
    assert again.read_bytes() == gpkg.read_bytes()


def test_atomic_failure_leaves_nothing(tmp_path, inputs, monkeypatch):
    target = tmp_path / "x.gpkg"
    target.write_bytes(b"previous good file")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(layers, "finish_geopackage", boom)
    with pytest.raises(RuntimeError):
        layers.write_geopackage(target, **inputs)
    assert target.read_bytes() == b"previous good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.gpkg"]


def test_no_located_projects(tmp_path, inputs):
    data = dict(inputs)
    data["projects"] = inputs["projects"].assign(geometry=None)
    path = layers.write_geopackage(tmp_path / "empty.gpkg", **data)
    tables = _tables(path)
    assert {n for n, t in tables.items() if t == "features"} == {"districts",
                                                                 "district_summary"}
    assert _sql(path, "SELECT count(*) FROM projects")[0][0] == len(inputs["projects"])
    assert _sql(path, "PRAGMA integrity_check") == [("ok",)]


def test_missing_columns_and_meta_fail_loudly(tmp_path, inputs):
    with pytest.raises(SchemaError, match="status"):
        layers.write_geopackage(tmp_path / "a.gpkg",
                                **{**inputs, "projects": inputs["projects"].drop(
                                    columns="status")})
    with pytest.raises(SchemaError, match="report_year"):
        meta = {k: v for k, v in inputs["meta"].items() if k != "report_year"}
        layers.write_geopackage(tmp_path / "b.gpkg", **{**inputs, "meta": meta})
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- real QGIS


def run_qgis_check(gpkg: Path, png: Path, project: str, project_id: str) -> dict:
    """Run tests/qgis_check.py under the system Python and return its JSON report."""
    proc = run_qgis_python(CHECK_SCRIPT, gpkg, png, "--project", project,
                           "--project-id", project_id)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.qgis
def test_qgis_opens_everything(gpkg, inputs, tmp_path):
    """Real QGIS 3.22: layers, default styles, embedded project, relation, rendering.

    The GeoPackage is first copied to another folder: the project must follow it.
    """
    moved = tmp_path / "elsewhere" / gpkg.name
    moved.parent.mkdir()
    shutil.copy(gpkg, moved)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / "layers_qgis.png"
    report = run_qgis_check(moved, png, "test_2024", "P-0000000001")

    expected = _expected_layers(inputs["projects"])
    for name, info in report["layers"].items():
        assert info["valid"], name
    for name, count in _expected_tables(inputs["projects"]).items():
        info = report["layers"][name]
        assert info["count"] == count, name
        assert info["renderer"] == "categorizedSymbol" and info["attr"] == "status"
        assert info["categories"] == _statuses_in(moved, name)
        assert info["label_field"] == "name" and info["label_min_scale"] == 150000
        assert info["aliases"]["name"] == "名称 Name"
        assert info["metadata_title"]
    assert report["layers"]["districts"]["renderer"] == "singleSymbol"

    project = report["project"]
    assert project["loaded"] and project["crs"] == "EPSG:3857"
    assert all(lyr["valid"] for lyr in project["layers"])
    ogr_layers = [lyr for lyr in project["layers"] if lyr["provider"] == "ogr"]
    assert all(lyr["source"].startswith(str(moved)) for lyr in ogr_layers)
    tables = {lyr["table"]: lyr["count"] for lyr in ogr_layers}
    for name, count in expected.items():
        assert tables[name] == count
    assert all(r["valid"] for r in project["relations"])
    mine = sorted(inputs["mentions"].loc[inputs["mentions"]["project_id"] == "P-0000000001",
                                         "mention_id"])
    assert project["related_mentions"]["rail_transit_line"] == mine
    assert project["related_mentions"]["projects"] == mine
    themes = project["map_themes"]
    transit = next(t for t in resources.themes() if t["id"] == "transit")
    shown = themes[f"{transit['zh']} {transit['en']}"]
    assert "rail_transit_line_gpkg" in shown and "districts_gpkg" in shown
    assert "parks_ecology_polygon_gpkg" not in shown
    assert "全部项目 All projects" in themes
    # one map theme per status present: the theme layers with only that legend node ticked
    for status in resources.statuses():
        name = f"状态 Status: {status['zh']} {status['en']}"
        if name not in themes:
            continue
        legend = project["map_theme_legend"][name]
        assert legend and "districts_gpkg" in themes[name]
        for layer_id, keys in legend.items():
            labels = [project["legend_keys"][layer_id][k] for k in keys]
            assert len(labels) == 1 and status["zh"] in labels[0], (name, layer_id, labels)
    assert sum(n.startswith("状态 Status") for n in themes) >= 3

    render = report["render"]
    assert render["ink"] > 0.005 * render["pixels"], "the rendered map is (nearly) blank"
    assert render["scale"] > 150000 and report["render_zoom"]["labels"] > 0
    assert Path(render["png"]).stat().st_size > 5000
    assert report["messages"] == []


def test_coarse_polygons_are_hollow(gpkg):
    """A project known only to its district must not paint the whole district."""
    qml = _sql(gpkg, "SELECT styleQML FROM layer_styles WHERE f_table_name = ?",
               "projects_polygon")[0][0]
    for symbol in _categories(qml).values():
        fill = symbol.find("layer")
        assert fill.get("class") == "SimpleFill"
        expr = fill.find("data_defined_properties/Option/Option[@name='properties']/"
                         "Option[@name='fillColor']/Option[@name='expression']").get("value")
        assert "\"precision\" IN ('district', 'city')" in expr


# --------------------------------------------------------------------------- the real build


@pytest.fixture(scope="module")
def ningbo(tmp_path_factory):
    """The Ningbo 2024 build's tables and its GeoPackage (skipped until the pipeline runs)."""
    pipeline = pytest.importorskip("geo.pipeline")
    if not settings.default_report.exists():
        pytest.skip(f"{settings.default_report} is missing")
    stages = pipeline.run_stages(settings.default_report, city=settings.default_city,
                                 name=settings.default_name)
    path = tmp_path_factory.mktemp("ningbo") / f"{settings.default_name}.gpkg"
    layers.write_geopackage(path, projects=stages.projects, mentions=stages.mentions,
                            sections=stages.sections, unresolved=stages.unresolved,
                            candidates=stages.candidates, districts=stages.districts,
                            summary=stages.summary, meta=stages.meta,
                            reference=stages.reference, stations=stages.stations)
    return stages, path


def test_ningbo_geopackage(ningbo):
    stages, path = ningbo
    assert _sql(path, "PRAGMA integrity_check") == [("ok",)]
    expected = _expected_tables(stages.projects)
    assert len(expected) >= 2 and set(expected) <= {f"projects_{c}"
                                                    for c in layers.GEOMETRY_CLASSES}
    for name, count in expected.items():
        assert _sql(path, f'SELECT count(*) FROM "{name}"')[0][0] == count, name
    assert _sql(path, "SELECT count(*) FROM projects")[0][0] == len(stages.projects)
    assert _sql(path, "SELECT count(*) FROM rel_projects_mentions")[0][0] == len(
        stages.mentions)
    assert _sql(path, "SELECT count(*) FROM districts")[0][0] == 10
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo:
        proc = subprocess.run([ogrinfo, "-ro", "-al", "-so", str(path)], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0
        assert "Warning" not in proc.stderr and "ERROR" not in proc.stderr


@pytest.mark.qgis
def test_ningbo_in_qgis(ningbo):
    stages, path = ningbo
    counts = stages.mentions["project_id"].value_counts()
    located = stages.projects[stages.projects.geometry.notna()]
    pid = max(located["project_id"], key=lambda p: (counts.get(p, 0), p))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = run_qgis_check(path, ARTIFACTS / "layers_ningbo_qgis.png", stages.meta["name"],
                            pid)
    assert all(info["valid"] for info in report["layers"].values())
    project = report["project"]
    assert project["loaded"] and all(lyr["valid"] for lyr in project["layers"])
    mine = sorted(stages.mentions.loc[stages.mentions["project_id"] == pid, "mention_id"])
    assert project["related_mentions"]["projects"] == mine
    theme_layers = [k for k in project["related_mentions"]
                    if k != "projects" and not k.startswith("projects_")]
    assert len(theme_layers) == 1 and project["related_mentions"][theme_layers[0]] == mine
    assert report["render"]["ink"] > 0.01 * report["render"]["pixels"]
    # at the full city extent the major lines (>= MAJOR_LINE_KM) are labelled, and only they
    render = report["render"]
    assert render["scale"] > 3 * qgis_style.LABEL_MAX_SCALE
    major = {name for (name,) in _sql(path, "SELECT name FROM projects_line WHERE "
                                            "length_km >= ?", qgis_style.MAJOR_LINE_KM)}
    drawn = {name for lid, names in render["labels_by_layer"].items()
             if lid != "districts_gpkg" for name in names}
    assert drawn and drawn <= major
    assert len(drawn) >= len(major) // 2  # collisions may drop some, not most
    assert report["messages"] == []
    # the SLD of each point layer, read by QGIS: one rule per status, the status glyph
    # drawn over the marker (GeoServer's shape://vertline reads back as a circle in QGIS)
    sld = report["sld"]["projects_point"]
    assert sld["ok"] and sld["renderer"] == "RuleRenderer", sld
    glyph_rules = {label: shapes for label, shapes in sld["rules"].items() if len(shapes) == 2}
    wanted = {s["code"] for s in resources.statuses() if s.get("qgis_shape")}
    present = {code for (code,) in _sql(path, "SELECT DISTINCT status FROM projects_point")}
    assert len(glyph_rules) >= len(wanted & present) > 0, sld["rules"]
    assert report["sld"]["stations"]["ok"] and len(report["sld"]["stations"]["rules"]) >= 2


def test_polygon_sld_draws_county_precision_as_outlines():
    """County- or city-precision polygons: an outline-only SLD rule per status."""
    import xml.etree.ElementTree as ET

    from geo import qgis_style, resources

    sld = qgis_style.project_sld("urban_areas_polygon", resources.themes()[-1], "polygon")
    ns = {"se": "http://www.opengis.net/se", "ogc": "http://www.opengis.net/ogc"}
    rules = ET.fromstring(sld).findall(".//se:Rule", ns)
    coarse = [r for r in rules if "county" in (r.findtext("se:Name", "", ns) or "")]
    assert len(coarse) == len(resources.statuses())
    for rule in coarse:
        assert rule.find(".//se:PolygonSymbolizer/se:Fill", ns) is None
        assert rule.find(".//se:PolygonSymbolizer/se:Stroke", ns) is not None
        literals = [e.text for e in rule.findall(".//ogc:Literal", ns)]
        assert "district" in literals and "city" in literals


def test_reference_check_table(gpkg):
    """The gazetteer's check against reference coordinates travels with the layers."""
    rows = _sql(gpkg, 'SELECT name, feature, distance_m, tolerance_m, within '
                      'FROM "reference_check"')
    assert rows == [("轨道交通7号线", "湾头站 (station on the line)", 12.5, 2000.0, 1)]
    alias = _sql(gpkg, "SELECT name FROM gpkg_data_columns "
                       "WHERE table_name = 'reference_check' AND column_name = 'distance_m'")
    assert alias == [("距离 Distance (m)",)]


# --------------------------------------------------------------------------- attributes (issue 16)


def test_missing_text_is_null_and_widths_declared(gpkg):
    """No empty strings stand for missing values; every text column declares a width."""
    for table in ("projects", "projects_line", "mentions", "unresolved"):
        cols = _sql(gpkg, f'PRAGMA table_info("{table}")')
        for _, col, kind, *_ in cols:
            if kind.startswith("TEXT"):
                assert kind.startswith("TEXT("), (table, col, kind)
                width = int(kind[5:-1])
                longest = _sql(gpkg, f'SELECT max(length("{col}")) FROM "{table}"')[0][0]
                assert longest is None or longest <= width, (table, col)
                empties = _sql(gpkg, f'SELECT count(*) FROM "{table}" WHERE "{col}" = \'\'')
                assert empties[0][0] == 0, (table, col)
    unlocated = _sql(gpkg, "SELECT layer FROM projects WHERE project_id = 'P-0000000011'")
    assert unlocated == [(None,)]


def test_timestamps_come_from_the_input(monkeypatch):
    meta = {"report_year": 2024}
    assert layers.fixed_time(meta) == "2024-01-01T00:00:00.000Z"
    assert layers.fixed_time({**meta, "report_date": "2024-01-23"}).startswith("2024-01-23")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1706000000")
    assert layers.fixed_time(meta) == "2024-01-23T08:53:20.000Z"


def test_short_names_unique_and_short():
    from geo import fields

    columns = [*layers.PROJECT_FIELDS, "geometry_type", "layer", "theme_layer",
               "n_under_construction", "rail_km_under_construction", "road_km_completed"]
    short = fields.short_names(columns)
    assert all(len(v) <= fields.SHORT_MAX for v in short.values())
    assert len({v.lower() for v in short.values()}) == len(columns)
    assert short["status_label_zh"] == "status_zh" and short["status_label_en"] == "status_en"


def test_theme_views_list_only_present_statuses(gpkg):
    """Each theme layer's legend has one entry per status its features have."""
    root = _project_xml(gpkg, "test_2024")
    checked = 0
    for layer in root.iter("maplayer"):
        source = layer.findtext("datasource") or ""
        if "|subset=" not in source:
            continue
        table = source.split("layername=")[1].split("|")[0]
        where = source.split("|subset=")[1]
        cats = [c.get("value") for c in layer.find("renderer-v2/categories")]
        assert cats == _statuses_in(gpkg, table, where), layer.findtext("id")
        checked += 1
    assert checked >= 3


@pytest.mark.qgis
def test_qgis_desktop_opens_project_and_form_without_warnings(ningbo, tmp_path):
    """QGIS desktop (not only qgis.core) under Xvfb: project and a feature form, no warning
    (e.g. no "Missing Relation in configuration")."""
    stages, path = ningbo
    if qgis_unavailable() or not (shutil.which("xvfb-run") and shutil.which("qgis")):
        pytest.skip("QGIS desktop or xvfb-run is not installed")
    located = stages.projects[stages.projects.geometry.notna()]
    theme = next(t for t in resources.themes() if t["id"] == located["theme"].iloc[0])
    cls = layers.geometry_class(located.geometry.iloc[0])
    report_path = tmp_path / "desktop.json"
    # QGIS embeds the system Python: no trace of this virtualenv/pyenv may reach it
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PYENV", "VIRTUAL_ENV"))}
    env.update({"PATH": "/usr/bin:/bin", "GEO_DESKTOP_GPKG": str(path),
                "GEO_DESKTOP_PROJECT": stages.meta["name"],
                "GEO_DESKTOP_LAYER": f"{theme['layer']}_{cls}_gpkg",
                "GEO_DESKTOP_REPORT": str(report_path)})
    proc = subprocess.run(["xvfb-run", "-a", "qgis", "--nologo", "--noversioncheck",
                           "--noplugins", "--profiles-path", str(tmp_path / "profile"),
                           "--code", str(ROOT / "tests" / "qgis_desktop_check.py")],
                          capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)
    assert report_path.exists(), proc.stderr[-2000:]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["loaded"] and report["form_opened"]
    assert all(report["layers"].values())
    assert report["messages"] == []


LAYOUT_SCRIPT = ROOT / "tests" / "qgis_layout_check.py"


def run_layout_check(gpkg: Path, project: str, pdf: Path, png: Path | None = None) -> dict:
    """Run tests/qgis_layout_check.py (QGIS opens the project's layout, exports it)."""
    proc = run_qgis_python(LAYOUT_SCRIPT, gpkg, project, pdf, *([png] if png else []))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_nice_scale_and_fit_extent():
    assert [qgis_layout.nice_scale(v) for v in (1, 640_000, 650_001, 999_999, 1_000_001)] == [
        1, 750_000, 750_000, 1_000_000, 1_250_000]
    extent, scale = qgis_layout.fit_extent((0, 0, 200_000, 100_000), 200, 200)
    assert scale == 1_000_000  # 200 km on 200 mm
    assert extent == (0.0, -50_000.0, 200_000.0, 150_000.0)  # centred, square like the item


@pytest.mark.qgis
def test_ningbo_print_layout_renders_to_pdf(ningbo, tmp_path):
    """QGIS opens the embedded project, finds the A3 layout and exports it to one PDF page;
    the legend lists only classes drawn in the map and fits its frame."""
    stages, path = ningbo
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf, png = ARTIFACTS / "print_a3.pdf", ARTIFACTS / "print_a3.png"
    for out in (pdf, png):
        out.unlink(missing_ok=True)
    report = run_layout_check(path, stages.meta["name"], pdf, png)
    assert report["loaded"] and report["layouts"] == [qgis_layout.LAYOUT_NAME]
    assert report["page_mm"] == [420.0, 297.0]
    items = {i["id"]: i for i in report["items"]}
    assert {"map", "title", "legend", "scalebar", "north_arrow", "source"} <= set(items)
    assert items["title"]["text"] == stages.meta["title"]
    assert "ODbL" in items["source"]["text"] and "审图号" in items["source"]["text"]
    # the map shows every located project at the city extent
    x0, y0, x1, y1 = items["map"]["extent"]
    for geom in stages.projects.geometry.dropna():
        minx, miny, maxx, maxy = geom.bounds
        (ax, ay), (bx, by) = (qgis_project.to_web_mercator(minx, miny),
                              qgis_project.to_web_mercator(maxx, maxy))
        assert x0 <= ax and bx <= x1 and y0 <= ay and by <= y1
    assert items["map"]["layers"] > 0
    legend = items["legend"]
    assert legend["linked_map"] == "map" and legend["filter_by_map"] and legend["fits"]
    # legend classes: exactly the (layer, status) pairs present among located projects
    statuses = {f"  {qgis_style.status_label(s)}" for s in resources.statuses()}
    shown = sum(1 for e in legend["entries"] if e in statuses)
    located = stages.projects[stages.projects.geometry.notna()]
    klass = located.geometry.map(layers.geometry_class)
    assert shown == located.assign(k=klass).groupby(["theme", "k", "status"]).ngroups
    assert items["scalebar"]["linked_map"] == "map" and items["scalebar"]["unit_label"] == "km"
    assert items["north_arrow"]["valid_svg"] and items["north_arrow"]["north_map"] == "map"
    assert report["pdf_result"] == 0 and report["pdf_pages"] == 1
    assert pdf.stat().st_size > 50_000 and pdf.read_bytes().startswith(b"%PDF")
    assert report["png_result"] == 0 and png.stat().st_size > 50_000
    assert report["messages"] == []


def test_district_choropleth_names_its_unit(gpkg):
    """The choropleth's legend classes and its layer title carry the unit (per 100 km²)."""
    qml = _sql(gpkg, "SELECT styleQML FROM layer_styles WHERE f_table_name = ?",
               "district_summary")[0][0]
    root = ET.fromstring(qml.split("\n", 1)[1])
    ranges = root.findall("renderer-v2/ranges/range")
    assert ranges and root.find("renderer-v2").get("attr") == "per_100km2"
    assert all(r.get("label").endswith(qgis_style.DENSITY_UNIT) for r in ranges)
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(
            _sql(gpkg, "SELECT content FROM qgis_projects")[0][0]))) as zf:
        qgs = zf.read(zf.namelist()[0]).decode()
    layer = next(m for m in ET.fromstring(qgs.split("\n", 1)[1]).iter("maplayer")
                 if m.findtext("id") == "district_summary_gpkg")
    assert "100 km²" in layer.findtext("layername")
