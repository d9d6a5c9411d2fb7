"""Tests of geo.districts: synthetic squares with known answers, then the real Ningbo file."""

from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon

from geo import districts as gd
from geo import settings
from geo.errors import GeoError
from geo.pipeline import assign_themes

ROOT = Path(__file__).resolve().parent.parent
NINGBO_FILE = ROOT / "data" / "raw" / "ningbo_districts.geojson"

# ---------------------------------------------------------------------------
# Synthetic districts: three 10 km squares side by side in UTM 51N (~121°E, 29.8°N).
# Geometries are built in metres and converted to EPSG:4326 vertex by vertex, so
# reprojecting back to settings.metric_crs gives the metric squares exactly.
# ---------------------------------------------------------------------------

E0, N0 = 300_000.0, 3_300_000.0
KM = 1000.0
_TO_WGS = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)


def _wgs(geom_m: shapely.Geometry) -> shapely.Geometry:
    """Metric (km offsets from E0, N0) -> EPSG:4326."""
    return shapely.transform(geom_m, lambda xy: _xy_to_lonlat(xy))


def _xy_to_lonlat(xy):
    import numpy as np

    lon, lat = _TO_WGS.transform(E0 + xy[:, 0] * KM, N0 + xy[:, 1] * KM)
    return np.column_stack([lon, lat])


def _square(x0: float, y0: float, size: float = 10.0) -> Polygon:
    return Polygon([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)])


@pytest.fixture(autouse=True)
def _settings(monkeypatch):
    monkeypatch.setattr(settings, "metric_crs", "EPSG:32651")
    monkeypatch.setattr(settings, "coastal_buffer_km", 25.0)


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    """Districts A | B | C, each 10 km x 10 km, x from 0 to 30 km."""
    frame = gpd.GeoDataFrame(
        {"adcode": ["100001", "100002", "100003"], "name": ["甲区", "乙县", "丙市"]},
        geometry=[_wgs(_square(0, 0)), _wgs(_square(10, 0)), _wgs(_square(20, 0))],
        crs="EPSG:4326")
    frame["area_km2"] = gd._areas_km2(frame)
    return frame[["adcode", "name", "area_km2", "geometry"]]


def _projects(rows: list[tuple]) -> gpd.GeoDataFrame:
    """Projects table from (id, name, kind, status, precision, metric geometry or None)."""
    frame = pd.DataFrame(rows, columns=["project_id", "name", "kind", "status", "precision",
                                        "geom"])
    geoms = [None if g is None else _wgs(g) for g in frame.pop("geom")]
    return assign_themes(gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326"))


@pytest.fixture
def projects() -> gpd.GeoDataFrame:
    return _projects([
        ("P01", "穿城铁路", "rail", "under_construction", "schematic",
         LineString([(5, 5), (25, 5)])),                       # A 5, B 10, C 5 km
        ("P02", "出海大桥", "sea_crossing", "planning", "schematic",
         LineString([(25, 5), (70, 5)])),                      # C 5 + 25 offshore, 15 beyond
        ("P03", "跨界园区", "park", "completed", "site",
         Polygon([(7, 0), (15, 0), (15, 5), (7, 5)])),          # A 15 km², B 25 km²
        ("P04", "近海码头", "port_terminal", "started", "site", Point(40, 5)),   # 10 km off C
        ("P05", "远海风电", "energy", "planning", "site", Point(80, 5)),          # 50 km off C
        ("P06", "区级学校", "school", "completed", "district", Point(15, 5)),
        ("P07", "无名项目", "hospital", "other", "site", None),
        ("P08", "甲区医院", "hospital", "completed", "site", Point(2, 2)),
        ("P09", "全市行动", "other", "started", "city", Point(15, 5)),
        ("P10", "区级公园", "park", "started", "district", _square(6, 0, 10)),  # A 40, B 60
    ])


# ---------------------------------------------------------------------------
# Allocation on synthetic squares
# ---------------------------------------------------------------------------

def _rows(alloc: pd.DataFrame, pid: str) -> dict[str, pd.Series]:
    return {r.district: r for r in alloc[alloc["project_id"] == pid].itertuples()}


def test_line_split_at_borders(squares, projects):
    rows = _rows(gd.allocate(projects, squares), "P01")
    assert {k: round(r.length_km, 3) for k, r in rows.items()} == {"甲区": 5.0, "乙县": 10.0,
                                                                   "丙市": 5.0}
    assert rows["乙县"].share == pytest.approx(0.5)
    assert sum(r.share for r in rows.values()) == pytest.approx(1.0)


def test_offshore_line_within_buffer_goes_to_nearest_district(squares, projects):
    rows = _rows(gd.allocate(projects, squares), "P02")
    assert list(rows) == ["丙市"]
    # 5 km on land + 25 km within the buffer; the 15 km beyond the buffer is dropped.
    assert rows["丙市"].length_km == pytest.approx(30.0, abs=0.01)
    assert rows["丙市"].share == 1.0


def test_polygon_area_shares(squares, projects):
    rows = _rows(gd.allocate(projects, squares), "P03")
    # x 7..15, y 0..5: 3x5 = 15 km² in A, 5x5 = 25 km² in B.
    assert rows["甲区"].area_km2 == pytest.approx(15.0, abs=0.01)
    assert rows["乙县"].area_km2 == pytest.approx(25.0, abs=0.01)
    assert rows["乙县"].share == pytest.approx(0.625, abs=1e-4)


def test_offshore_points_buffer(squares, projects):
    alloc = gd.allocate(projects, squares)
    assert list(_rows(alloc, "P04")) == ["丙市"]
    assert list(_rows(alloc, "P05")) == [gd.OUTSIDE]


def test_buffer_setting_is_read_at_call_time(squares, projects, monkeypatch):
    monkeypatch.setattr(settings, "coastal_buffer_km", 5.0)
    alloc = gd.allocate(projects, squares)
    assert list(_rows(alloc, "P04")) == [gd.OUTSIDE]
    assert _rows(alloc, "P02")["丙市"].length_km == pytest.approx(10.0, abs=0.01)


def test_precision_district_city_and_unlocated(squares, projects):
    alloc = gd.allocate(projects, squares)
    p06 = _rows(alloc, "P06")
    assert list(p06) == ["乙县"] and p06["乙县"].share == 1.0 and p06["乙县"].length_km == 0
    assert list(_rows(alloc, "P10")) == ["乙县"]       # largest overlap, share 1
    assert list(_rows(alloc, "P07")) == [gd.UNLOCATED]
    assert list(_rows(alloc, "P09")) == [gd.CITY_WIDE]
    assert list(_rows(alloc, "P08")) == ["甲区"]


def test_allocation_is_sorted_deterministic_and_shares_sum_to_one(squares, projects):
    alloc = gd.allocate(projects, squares)
    assert list(alloc.columns) == gd.ALLOCATION_COLUMNS
    shuffled = projects.iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(alloc, gd.allocate(shuffled, squares))
    sums = alloc.groupby("project_id")["share"].sum()
    assert sums.round(5).eq(1.0).all()
    assert list(alloc["project_id"]) == sorted(alloc["project_id"])


def test_districts_column_orders_by_share(squares):
    proj = _projects([("Q1", "斜线", "road", "planning", "schematic",
                       LineString([(8, 5), (30, 5)]))])   # A 2, B 10, C 10 km
    column = gd.districts_column(gd.allocate(proj, squares))
    assert column["Q1"] == "丙市;乙县;甲区"   # tie B/C broken by name, A last


def test_within_city(squares):
    assert gd.within_city(_wgs(Point(5, 5)), squares)
    assert gd.within_city(_wgs(Point(40, 5)), squares)
    assert not gd.within_city(_wgs(Point(40, 5)), squares, coastal_buffer_km=5)
    assert not gd.within_city(None, squares)
    assert gd.city_outline(squares).area == pytest.approx(squares.union_all().area)


# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------

def test_summary_counts_and_kilometres(squares, projects):
    alloc = gd.allocate(projects, squares)
    summary = gd.summarise(projects, alloc, squares)
    assert list(summary.columns) == [*gd.summary_columns(), "geometry"]
    by = summary.set_index("district")
    assert list(by.index) == ["甲区", "乙县", "丙市", gd.CITY_WIDE, gd.UNLOCATED_LABEL,
                              gd.OUTSIDE_LABEL]
    # 甲区: P01 (line), P03 (polygon), P08 (point); P10 is district-precision in 乙县.
    assert by.loc["甲区", "n_projects"] == 3
    assert by.loc["乙县", "n_projects"] == 4          # P01, P03, P06, P10
    assert by.loc["丙市", "n_projects"] == 3          # P01, P02, P04
    # City-wide: each in-city project once (P01..P04, P06, P08, P09, P10).
    assert by.loc[gd.CITY_WIDE, "n_projects"] == 8
    assert by.loc[gd.UNLOCATED_LABEL, "n_projects"] == 1
    assert by.loc[gd.OUTSIDE_LABEL, "n_projects"] == 1
    status_cols = [f"n_{s}" for s in ("completed", "under_construction", "started",
                                      "planning", "other")]
    assert (summary[status_cols].sum(axis=1) == summary["n_projects"]).all()
    assert by.loc["乙县", "rail_km_under_construction"] == pytest.approx(10.0)
    assert by.loc[gd.CITY_WIDE, "rail_km_under_construction"] == pytest.approx(20.0)
    assert by.loc[gd.CITY_WIDE, "road_km_planning"] == pytest.approx(30.0, abs=0.01)
    districts_only = summary.iloc[:3]
    for col in [c for c in summary.columns if "_km_" in c]:
        assert districts_only[col].sum() == pytest.approx(by.loc[gd.CITY_WIDE, col], abs=0.01)
    assert by.loc["甲区", "area_km2"] == pytest.approx(100.0, abs=0.01)
    assert by.loc["甲区", "per_100km2"] == pytest.approx(3.0)
    assert by.loc["甲区", "projects"] == "甲区医院、穿城铁路、跨界园区"
    assert by.loc["甲区", "n_transit"] == 1 and by.loc["甲区", "n_public"] == 1
    assert summary.geometry.iloc[0] is not None and summary.geometry.iloc[3:].isna().all()


def test_project_missing_from_allocation_counts_unlocated(squares, projects):
    alloc = gd.allocate(projects, squares)
    alloc = alloc[alloc["project_id"] != "P08"]
    by = gd.summarise(projects, alloc, squares).set_index("district")
    assert by.loc[gd.UNLOCATED_LABEL, "n_projects"] == 2


def test_format_summary_styles(squares, projects):
    projects = projects.copy()
    projects.loc[0, "name"] = "<script>a|b</script>"
    summary = gd.summarise(projects, gd.allocate(projects, squares), squares)
    text = gd.format_summary(summary, "text")
    lines = text.splitlines()

    def cells(line: str) -> int:       # terminal columns: CJK characters are two wide
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)

    # The last column (projects per 100 km²) is right-aligned and filled for the
    # district and city rows, so those lines end in the same terminal column.
    full = [line for line in lines[:2 + len(squares) + 1]]
    assert len({cells(line) for line in full}) == 1, text
    assert lines[2].startswith("甲区") and lines[2].rstrip().endswith("3.00")
    md = gd.format_summary(summary, "markdown")
    assert md.splitlines()[1].startswith("|:---|")
    assert len(md.splitlines()) == len(summary) + 2
    page = gd.format_summary(summary, "html")
    assert "<script>" not in page and page.count("<tr>") == len(summary) + 1
    with pytest.raises(ValueError):
        gd.format_summary(summary, "csv")  # type: ignore[arg-type]


def test_display_width_counts_cjk_double():
    assert gd.display_width("鄞州区") == 6
    assert gd.display_width("ab") == 2


# ---------------------------------------------------------------------------
# Names in text
# ---------------------------------------------------------------------------

def test_short_names():
    assert gd.short_names("鄞州区") == ["鄞州"]
    assert gd.short_names("余姚市") == ["余姚"]
    assert gd.short_names("郊区") == []


def test_district_names_in_text(ningbo):
    text = "支持余慈地区一体化，推进鄞州、江北区和宁海县发展，北仑港扩建，鄞州区再提。"
    assert gd.district_names_in_text(text, ningbo) == ["余姚市", "慈溪市", "鄞州区", "江北区",
                                                       "宁海县", "北仑区"]
    assert gd.district_names_in_text("宁波市区", ningbo) == []


def test_combined_forms_need_all_members(squares):
    # 余慈 is defined for 宁波市 only; the squares have no 余姚市/慈溪市.
    assert gd.district_names_in_text("余慈", squares) == []
    assert gd.district_names_in_text("甲区与乙县", squares) == ["甲区", "乙县"]


# ---------------------------------------------------------------------------
# The real Ningbo file
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ningbo() -> gpd.GeoDataFrame:
    return gd.load_districts("宁波市", NINGBO_FILE)


NINGBO = {"330203": "海曙区", "330205": "江北区", "330206": "北仑区", "330211": "镇海区",
          "330212": "鄞州区", "330213": "奉化区", "330225": "象山县", "330226": "宁海县",
          "330281": "余姚市", "330282": "慈溪市"}


def test_ningbo_file_properties():
    data = json.loads(NINGBO_FILE.read_text("utf-8"))
    assert NINGBO_FILE.stat().st_size < 400_000
    props = [f["properties"] for f in data["features"]]
    assert [p["adcode"] for p in props] == sorted(NINGBO)
    assert {p["adcode"]: p["name"] for p in props} == NINGBO
    assert all(p["city"] == "宁波市" and "cnmaps" in p["source"] and "GCJ-02" in p["source"]
               for p in props)
    coords = shapely.get_coordinates(shapely.from_geojson(json.dumps(data["features"][0]
                                                                     ["geometry"])))
    assert (abs(coords * 1e5 - (coords * 1e5).round()) < 1e-6).all()   # 5 decimals


def test_ningbo_districts(ningbo):
    assert list(ningbo.columns) == ["adcode", "name", "area_km2", "geometry"]
    assert dict(zip(ningbo["adcode"], ningbo["name"], strict=True)) == NINGBO
    assert ningbo.crs.to_epsg() == 4326
    assert shapely.is_valid(ningbo.geometry.values).all()
    # Official land area ≈ 9,816 km². Gaode's coastal boundaries include tidal flats
    # (+5.5 %, see data/raw/DISTRICTS.md), so allow 6 % on the total; the inland
    # districts match the official figures closely.
    total = ningbo["area_km2"].sum()
    assert abs(total - 9816) / 9816 < 0.06, total
    area = dict(zip(ningbo["name"], ningbo["area_km2"], strict=True))
    assert area["海曙区"] == pytest.approx(595, rel=0.05)
    assert area["江北区"] == pytest.approx(208, rel=0.05)


@pytest.mark.parametrize(("lon", "lat", "name"), [
    (121.556, 29.872, "海曙区"),    # 天一广场
    (121.46, 29.82, "海曙区"),      # 栎社机场
    (121.85, 29.93, "北仑区"),      # 北仑港
    (121.25, 30.17, "慈溪市"),      # 慈溪 centre
    (121.87, 29.48, "象山县"),      # 象山
])
def test_known_points(ningbo, lon, lat, name):
    assert list(ningbo[ningbo.covers(Point(lon, lat))]["name"]) == [name]


def test_ningbo_no_overlaps_or_gaps(ningbo):
    metric = list(ningbo.to_crs(settings.metric_crs).geometry)
    for i, a in enumerate(metric):
        for b in metric[i + 1:]:
            assert a.intersection(b).area < 10_000      # < 0.01 km²
    assert shapely.coverage_is_valid(shapely.GeometryCollection(metric).geoms, gap_width=20.0)


def test_ningbo_allocation_line_lengths(ningbo):
    """A line across the city: kilometres per district sum to its length within the city."""
    line = LineString([(121.30, 29.95), (121.556, 29.872), (121.85, 29.93)])
    proj = gpd.GeoDataFrame({"project_id": ["L"], "precision": ["schematic"]},
                            geometry=[line], crs="EPSG:4326")
    alloc = gd.allocate(proj, ningbo)
    inside = gpd.GeoSeries([line], crs=4326).to_crs(settings.metric_crs).iloc[0]
    expected = inside.intersection(gd.city_outline(ningbo.to_crs(settings.metric_crs))).length
    assert alloc["length_km"].sum() == pytest.approx(expected / 1000, abs=0.01)
    assert len(alloc) >= 3 and not math.isclose(alloc["share"].max(), 1.0)


# ---------------------------------------------------------------------------
# Loading from cnmaps, errors, the build script
# ---------------------------------------------------------------------------

def test_load_from_cnmaps_matches_file(ningbo, tmp_path):
    pytest.importorskip("cnmaps")
    fresh = gd.load_districts("宁波", tmp_path / "missing.geojson")   # short name -> 宁波市
    assert list(fresh["adcode"]) == list(ningbo["adcode"])
    assert fresh["area_km2"].sum() == pytest.approx(ningbo["area_km2"].sum(), rel=1e-3)


def test_load_other_city_from_cnmaps():
    pytest.importorskip("cnmaps")
    zhoushan = gd.load_districts("舟山市")
    assert list(zhoushan["name"]) == ["定海区", "普陀区", "岱山县", "嵊泗县"]
    assert shapely.is_valid(zhoushan.geometry.values).all()


def test_jiangbei_resolved_by_city():
    pytest.importorskip("cnmaps")
    chongqing = gd.cnmaps_districts("重庆市")
    assert chongqing.loc[chongqing["name"] == "江北区", "adcode"].tolist() == ["500105"]


def test_unknown_city_is_a_clear_error():
    pytest.importorskip("cnmaps")
    with pytest.raises(GeoError, match="火星市"):
        gd.load_districts("火星市")


def test_bad_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("not json", "utf-8")
    with pytest.raises(gd.DistrictError, match="bad.geojson"):
        gd.load_districts("宁波市", bad)
    with pytest.raises(gd.DistrictError, match="not 杭州市"):
        gd.load_districts("杭州市", NINGBO_FILE)


def test_missing_cnmaps_names_the_package(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "cnmaps", None)     # makes `import cnmaps` fail
    with pytest.raises(GeoError, match="pip install cnmaps"):
        gd.load_districts("温州市", tmp_path / "missing.geojson")


def test_committed_file_matches_a_fresh_build():
    """scripts/make_districts.py rebuilds the committed file byte for byte."""
    pytest.importorskip("cnmaps")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_districts",
                                                  ROOT / "scripts" / "make_districts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    first = json.loads(NINGBO_FILE.read_text("utf-8"))["features"][0]["properties"]["source"]
    if first != gd.cnmaps_source():
        pytest.skip(f"installed cnmaps differs from the file's source ({first})")
    text, figures = module.build("宁波市", gd.SIMPLIFY_TOLERANCE)
    assert text == NINGBO_FILE.read_text("utf-8")
    assert figures["valid"] and figures["max_overlap_m2"] < 10_000


def test_cnmaps_index_reader_agrees_with_the_public_api():
    """``cnmaps_districts`` reads cnmaps' index (its public reader gives no adcode);
    the districts it finds must be those cnmaps' public ``get_adm_maps`` returns, so a
    change of the index layout fails here."""
    cnmaps = pytest.importorskip("cnmaps")
    ours = gd.cnmaps_districts("宁波市")
    public = cnmaps.get_adm_maps(city="宁波市", level="区县", source="高德",
                                 engine="geopandas", wgs84=False)
    public = public[public["kind"] == "陆地"]
    assert sorted(ours["name"]) == sorted(public["district"])
    assert all(len(code) == 6 and code.isdigit() for code in ours["adcode"])
