"""Offshore means sea: geometries on a neighbouring city's land (issue 18, round 2)."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo import settings
from geo.checks import check_projects
from geo.districts import OUTSIDE, allocate, load_districts
from geo.neighbours import (
    FOREIGN_TOLERANCE_KM,
    empty,
    foreign_land,
    load_neighbours,
    read_neighbours_file,
)
from geo.pipeline import run_stages

ROOT = Path(__file__).resolve().parent.parent
NEIGHBOURS = ROOT / "data" / "raw" / "ningbo_neighbours.geojson"

# Synthetic world near Ningbo (so the metric CRS fits): city A is two counties west of
# x = 121.2; city B's land lies north of y = 30.2; the sea is to the east.
#   A1: 121.0–121.1 × 30.0–30.2, A2: 121.1–121.2 × 30.0–30.2; B: 121.0–121.4 × 30.2–30.4.
DEG_KM = 111.0  # km per degree of latitude


def _districts() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"adcode": ["1", "2"], "name": ["甲区", "乙区"], "area_km2": [1.0, 1.0]},
        geometry=[shapely.box(121.0, 30.0, 121.1, 30.2), shapely.box(121.1, 30.0, 121.2, 30.2)],
        crs="EPSG:4326")


def _neighbours() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"city": ["乙市"], "of": ["甲市"], "source": ["test"]},
                            geometry=[shapely.box(121.0, 30.2, 121.4, 30.4)], crs="EPSG:4326")


def _projects(kind: str, *geoms) -> gpd.GeoDataFrame:
    n = len(geoms)
    return gpd.GeoDataFrame({
        "project_id": [f"P{i}" for i in range(n)], "name": [f"项目{i}" for i in range(n)],
        "kind": [kind] * n, "precision": ["approximate"] * n, "status": ["planned"] * n,
        "theme": ["other"] * n}, geometry=list(geoms), crs="EPSG:4326")


def _failures(projects: gpd.GeoDataFrame, neighbours=None) -> list[tuple[str, str, str]]:
    found = check_projects(projects, _districts(), "甲市", {},
                           _neighbours() if neighbours is None else neighbours)
    return [(r.project_id, r.check, r.detail) for r in found.itertuples()]


def test_port_on_neighbours_land_fails_and_is_not_counted():
    deep = shapely.Point(121.25, 30.3)  # 11 km into city B's land
    projects = _projects("port_terminal", deep)
    failures = _failures(projects)
    assert [(p, c) for p, c, _ in failures] == [("P0", "foreign_land")]
    assert "乙市" in failures[0][2] and "not counted" in failures[0][2]
    alloc = allocate(projects, _districts(), _neighbours())
    assert list(alloc["district"]) == [OUTSIDE]
    # Without the neighbours' land the old offshore rule would have counted it.
    assert list(allocate(projects, _districts())["district"]) == ["乙区"]
    assert _failures(projects, empty()) == []


def test_port_polygon_partly_on_neighbours_land_fails():
    poly = shapely.Polygon([(121.15, 30.15), (121.19, 30.16), (121.18, 30.25), (121.16, 30.24)])
    projects = _projects("port_terminal", poly)
    assert [c for _, c, _ in _failures(projects)] == ["foreign_land"]
    assert list(allocate(projects, _districts(), _neighbours())["district"]) == [OUTSIDE]


def test_offshore_port_and_border_tolerance_still_pass():
    at_sea = shapely.Point(121.3, 30.1)  # 9.6 km east of A2, in no city's land
    just_over = shapely.Point(121.15, 30.2 + 0.5 * FOREIGN_TOLERANCE_KM / DEG_KM)
    projects = _projects("port_terminal", at_sea, just_over)
    assert _failures(projects) == []
    alloc = allocate(projects, _districts(), _neighbours())
    assert list(alloc["district"]) == ["乙区", "乙区"]


def test_sea_crossing_to_neighbour_is_allowed_but_only_its_city_part_counted():
    # From A2 (8 km on land) across the sea to B's land (10 km there).
    line = shapely.LineString([(121.12, 30.1), (121.2, 30.1), (121.3, 30.1), (121.3, 30.3)])
    projects = _projects("sea_crossing", line)
    assert _failures(projects) == []
    alloc = allocate(projects, _districts(), _neighbours())
    on_land_and_sea = allocate(projects, _districts(), empty())["length_km"].sum()
    counted = alloc["length_km"].sum()
    b_part = line.intersection(shapely.box(121.0, 30.2, 121.4, 30.4))
    b_km = gpd.GeoSeries([b_part], crs="EPSG:4326").to_crs(settings.metric_crs).length[0] / 1e3
    assert b_km > 10
    assert counted == pytest.approx(on_land_and_sea - b_km, abs=0.6)
    assert list(alloc["district"]) == ["乙区"]


def test_rail_wholly_on_neighbours_land_fails():
    line = shapely.LineString([(121.05, 30.3), (121.35, 30.3)])
    failures = _failures(_projects("rail", line))
    assert [c for _, c, _ in failures] == ["foreign_land"]
    assert "wholly" in failures[0][2]


def test_unknown_city_has_no_neighbours():
    assert load_neighbours("不存在市", _districts()).empty


# --- Ningbo: the committed neighbours file -------------------------------------------------

def test_ningbo_neighbours_file_is_what_the_script_makes():
    pytest.importorskip("cnmaps")
    from scripts.make_neighbours import main

    assert main(["--city", "宁波市", "-o", str(NEIGHBOURS), "--check"]) == 0
    names = set(read_neighbours_file(NEIGHBOURS)["city"])
    assert {"舟山市", "绍兴市", "台州市"} <= names and "宁波市" not in names


def test_ningbo_port_moved_onto_zhoushan_is_refused():
    districts = load_districts("宁波市")
    neighbours = load_neighbours("宁波市", districts)
    chuanshan = shapely.Point(121.99, 29.94)       # 穿山港区 in the gazetteer (北仑区)
    dinghai = shapely.Point(122.106, 30.016)       # on 舟山本岛
    shangyu = shapely.Point(120.87, 30.03)         # on 绍兴's land, 余姚's side
    assert foreign_land([chuanshan, dinghai, shangyu], neighbours) == [[], ["舟山市"], ["绍兴市"]]


def test_ningbo_build_with_a_port_on_zhoushan(tmp_path):
    gazetteer = tmp_path / "gazetteer.csv"
    with open(settings.city_files("宁波市")["gazetteer"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    row = next(r for r in rows if r["name"] == "梅山港区")  # a port the report names
    row["wkt"] = "POINT (122.106000 30.016000)"  # moved onto 舟山本岛
    with open(gazetteer, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    stages = run_stages(settings.default_report, city="宁波市", name="t",
                        gazetteer_path=gazetteer)
    on_island = shapely.Point(122.106, 30.016)
    moved = stages.projects[[g is not None and g.equals(on_island)
                             for g in stages.projects.geometry]]
    assert len(moved) == 1
    pid = moved["project_id"].iloc[0]
    checks = stages.checks[stages.checks["project_id"] == pid]
    assert "foreign_land" in set(checks["check"])
    assert "舟山市" in " ".join(checks["detail"])
    alloc = stages.allocation[stages.allocation["project_id"] == pid]
    assert list(alloc["district"]) == [OUTSIDE]


def test_ningbo_rail_extended_to_jintang_is_allowed_and_only_ningbo_counted():
    """甬舟铁路 as the gazetteer has it (Ningbo section), then continued over the sea
    onto 金塘岛 (舟山市): allowed (a railway crosses by nature); the part on 金塘 is not
    counted in any Ningbo county, the part at sea still goes to the nearest county."""
    districts = load_districts("宁波市")
    neighbours = load_neighbours("宁波市", districts)
    with open(settings.city_files("宁波市")["gazetteer"], encoding="utf-8", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["name"] == "甬舟铁路")
    ningbo_part = shapely.from_wkt(row["wkt"])
    extended = shapely.LineString([*ningbo_part.coords, (121.86, 30.05)])  # on 金塘岛
    assert foreign_land([shapely.Point(121.86, 30.05)], neighbours) == [["舟山市"]]
    projects = _projects("rail", extended)
    found = check_projects(projects, districts, "宁波市", {}, neighbours)
    assert "foreign_land" not in set(found["check"])
    with_land = allocate(projects, districts, neighbours)
    without = allocate(projects, districts)
    metric = gpd.GeoSeries([extended], crs="EPSG:4326").to_crs(settings.metric_crs)
    zs = neighbours[neighbours["city"] == "舟山市"].to_crs(settings.metric_crs).geometry.iloc[0]
    on_jintang_km = metric.iloc[0].intersection(zs).length / 1000.0
    assert on_jintang_km > 1.0
    assert with_land["length_km"].sum() == pytest.approx(
        without["length_km"].sum() - on_jintang_km, abs=0.6)
    assert set(with_land["district"]) <= set(districts["name"])
    # the same geometry as a port (a kind that does not cross) is refused
    port = _projects("port_terminal", extended)
    assert "foreign_land" in set(check_projects(port, districts, "宁波市", {}, neighbours)["check"])


def test_a_city_on_a_provincial_border_sees_the_other_provinces():
    """湖州 borders 江苏 and 安徽: their prefectures' land is read too (cnmaps)."""
    pytest.importorskip("cnmaps")
    from geo.neighbours import cnmaps_neighbours

    districts = load_districts("湖州市")
    names = set(cnmaps_neighbours("湖州市", tuple(districts.total_bounds))["city"])
    assert {"嘉兴市", "杭州市"} <= names           # its own province
    assert {"苏州市", "无锡市"} & names            # 江苏
    assert "宣城市" in names                        # 安徽
    assert "湖州市" not in names


def test_ningbo_neighbours_include_shanghai_across_the_bay():
    names = set(read_neighbours_file(NEIGHBOURS)["city"])
    assert "上海市" in names
