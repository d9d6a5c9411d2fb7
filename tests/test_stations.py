"""Tests of the station table and of lines drawn through it (geo.stations)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from geo import coords, settings
from geo.errors import GazetteerError
from geo.gazetteer import CSV_COLUMNS, load_gazetteer
from geo.pipeline import _refuse_failed_references
from geo.stations import (
    STATION_COLUMNS,
    line_through,
    load_stations,
    station_layer,
)
from geo.survey import empty_comparison

RAW = settings.root / "data" / "raw"
HEADER = ",".join(STATION_COLUMNS)
CITED = "https://zh.wikipedia.org/wiki/X (Wikipedia station coordinate, WGS84)"
ROWS = [
    f"甲,,cited,WGS84,121.50,29.90,{CITED}",
    "乙,,cited,GCJ-02,121.524,29.898,dataset: https://example.org/stations.js",
    '丙,测试线,knowledge,WGS84,121.55,29.90,"knowledge, unverified"',
]
GAZ_HEADER = ",".join([*CSV_COLUMNS, "stations"])


def write(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def gazetteer_row(wkt: str, precision: str = "schematic", names: str = "甲|乙|丙") -> str:
    return f'测试线,,metro,Test line,{precision},"knowledge, unverified",海曙区,"{wkt}",{names}'


def drawn_wkt(stations: pd.DataFrame, names: str = "甲|乙|丙") -> str:
    line, _ = line_through(stations, names.split("|"), "测试线")
    return line.wkt


# ------------------------------------------------------------------ the table

def test_loads_and_converts_each_datum_once(tmp_path):
    stations = load_stations(write(tmp_path, *ROWS))
    assert list(stations["name"]) == ["甲", "乙", "丙"]
    wgs = stations.set_index("name")
    assert (wgs.loc["甲", "lon"], wgs.loc["甲", "lat"]) == (121.5, 29.9)
    # GCJ-02 is converted to WGS84: a few hundred metres west/north of the stated value
    lon, lat = coords.gcj02_to_wgs84(121.524, 29.898)
    assert (wgs.loc["乙", "lon"], wgs.loc["乙", "lat"]) == (round(lon, 6), round(lat, 6))
    assert wgs.loc["乙", "source_lon"] == 121.524
    assert list(stations["counts_as_cited"]) == [True, True, False]


@pytest.mark.parametrize("row, words", [
    ("甲,,cited,WGS84,121.5,29.9,knowledge", "needs its address"),
    ("甲,,maybe,WGS84,121.5,29.9,https://a.org/", "basis"),
    ("甲,,cited,UTM,121.5,29.9,https://a.org/", "datum"),
    ("甲,,cited,WGS84,29.9,121.5,https://a.org/", "swapped"),
    ("甲,,cited,WGS84,abc,29.9,https://a.org/", "not numbers"),
    ("甲,,knowledge,WGS84,121.5,29.9,placed by me", "must say so"),
    ("甲,,cited,WGS84,121.5,29.9,", "empty source"),
    ("甲,,cited,WGS84,121.5,29.9,see https://a.org/x；", "runs into punctuation"),
])
def test_bad_rows_name_the_line_and_the_fix(tmp_path, row, words):
    path = write(tmp_path, ROWS[0], row.replace("甲", "丁"))
    with pytest.raises(GazetteerError) as info:
        load_stations(path)
    message = str(info.value)
    assert f"{path}:3:" in message and words in message and "fix:" in message, message


def test_duplicates_and_header(tmp_path):
    with pytest.raises(GazetteerError, match="listed twice"):
        load_stations(write(tmp_path, ROWS[0], ROWS[0]))
    # one platform per line may repeat a shared name
    assert len(load_stations(write(tmp_path, ROWS[0], ROWS[0].replace("甲,,", "甲,测试线,")))) == 2
    with pytest.raises(GazetteerError, match="header"):
        load_stations(write(tmp_path, ROWS[0], header="name,lon,lat"))


def test_a_flagged_copy_does_not_count_as_cited(tmp_path):
    flagged = "甲,,cited,WGS84,121.5,29.9,https://www.zhetiaohe.com/ss/abc.html"
    stations = load_stations(write(tmp_path, flagged))
    assert not stations.loc[0, "counts_as_cited"]


def test_a_line_platform_wins_over_the_shared_row(tmp_path):
    stations = load_stations(write(tmp_path, *ROWS,
                                   f"甲,测试线,cited,WGS84,121.501,29.901,{CITED}"))
    line, _ = line_through(stations, ["甲", "乙"], "测试线")
    assert line.coords[0] == (121.501, 29.901)
    other, _ = line_through(stations, ["甲", "乙"], "别的线")
    assert other.coords[0] == (121.5, 29.9)


# ------------------------------------------------------------------ the gazetteer

def test_gazetteer_counts_cited_vertices(tmp_path):
    path = write(tmp_path, *ROWS)
    stations = load_stations(path)
    gaz = write(tmp_path, gazetteer_row(drawn_wkt(stations)), header=GAZ_HEADER, name="g.csv")
    row = load_gazetteer(gaz, stations=stations).iloc[0]
    assert row["cited_vertices"] == "2/3" and row["stations"] == "甲|乙|丙"
    # without the table the geometry still loads, but nothing is claimed
    assert load_gazetteer(gaz).iloc[0]["cited_vertices"] == ""


def test_gazetteer_refuses_a_line_that_left_its_stations(tmp_path):
    stations = load_stations(write(tmp_path, *ROWS))
    moved = "LINESTRING (121.5 29.9, 121.52 29.9, 121.55 29.9)"
    gaz = write(tmp_path, gazetteer_row(moved), header=GAZ_HEADER, name="g.csv")
    with pytest.raises(GazetteerError, match="draw_station_lines"):
        load_gazetteer(gaz, stations=stations)


def test_surveyed_needs_every_station_cited(tmp_path):
    stations = load_stations(write(tmp_path, *ROWS))
    gaz = write(tmp_path, gazetteer_row(drawn_wkt(stations), "surveyed"), header=GAZ_HEADER,
                name="g.csv")
    with pytest.raises(GazetteerError, match="only 2 of 3"):
        load_gazetteer(gaz, stations=stations)
    two = write(tmp_path, gazetteer_row(drawn_wkt(stations, "甲|乙"), "surveyed", "甲|乙"),
                header=GAZ_HEADER, name="g2.csv")
    assert load_gazetteer(two, stations=stations).iloc[0]["cited_vertices"] == "2/2"


def test_a_line_of_one_station_is_an_error(tmp_path):
    stations = load_stations(write(tmp_path, *ROWS))
    gaz = write(tmp_path, gazetteer_row("LINESTRING (121.5 29.9, 121.6 29.9)", names="甲"),
                header=GAZ_HEADER, name="g.csv")
    with pytest.raises(GazetteerError, match="at least two stations"):
        load_gazetteer(gaz, stations=stations)


def test_unknown_station_is_an_error(tmp_path):
    stations = load_stations(write(tmp_path, *ROWS))
    gaz = write(tmp_path, gazetteer_row(drawn_wkt(stations), names="甲|乙|戊"),
                header=GAZ_HEADER, name="g.csv")
    with pytest.raises(GazetteerError, match="'戊' is not in the station table"):
        load_gazetteer(gaz, stations=stations)


# ------------------------------------------------------------------ checks and layer

def test_the_built_reference_check_lists_evidence_only(ningbo_build):
    """Points a geometry was drawn through are not listed (no verdict, no evidence);
    every listed point says how it is measured and holds its class's tolerance."""
    reference = ningbo_build.stages.reference
    assert len(reference) >= 8
    assert set(reference["method"]) <= {"independent", "leave-one-out"}
    assert reference["within"].all()
    built = pd.read_csv(ningbo_build.paths["reference"])
    assert len(built) == len(reference) and "drawn" not in set(built["method"])


def test_station_layer_lists_used_stations_with_their_lines(tmp_path):
    stations = load_stations(write(tmp_path, *ROWS, f"己,,cited,WGS84,121.6,29.9,{CITED}"))
    gaz = load_gazetteer(write(tmp_path, gazetteer_row(drawn_wkt(stations)),
                               header=GAZ_HEADER, name="g.csv"), stations=stations)
    layer = station_layer(stations, gaz)
    assert list(layer["name"]) == ["甲", "乙", "丙"]  # 己 draws no line
    assert set(layer["lines"]) == {"测试线"} and layer.crs.to_epsg() == 4326
    assert layer.geometry.iloc[0].equals(Point(121.5, 29.9))


def test_a_class_failing_its_tolerance_stops_the_build():
    ok = empty_comparison()
    _refuse_failed_references(ok, None)
    failed = pd.DataFrame([{"name": "某线", "feature": "某站", "precision": "surveyed",
                            "distance_m": 180.0, "tolerance_m": 100.0, "within": False,
                            "method": "independent", "source": "x"}])
    with pytest.raises(GazetteerError, match="180 m from 某站.*promises 100 m"):
        _refuse_failed_references(failed, Path("g.csv"))


# ------------------------------------------------------------------ Ningbo data

def test_ningbo_lines_are_up_to_date_with_the_station_table():
    """The gazetteer's metro lines are the lines through their stations (the loader
    checks each row; the script finds nothing to redraw)."""
    result = subprocess.run([sys.executable, "scripts/draw_station_lines.py", "--check"],
                            cwd=settings.root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ningbo_metro_rows_say_how_many_vertices_are_cited():
    stations = load_stations(RAW / "ningbo_stations.csv")
    gaz = load_gazetteer(RAW / "ningbo_gazetteer.csv", stations=stations).set_index("name")
    metro = gaz[gaz["kind"] == "metro"]
    assert (metro["stations"] != "").all()
    assert metro.loc["轨道交通1号线", "cited_vertices"] == "29/29"
    assert metro.loc["轨道交通1号线", "precision"] == "surveyed"
    for name, row in metro.iterrows():
        cited, total = (int(v) for v in row["cited_vertices"].split("/"))
        assert row["precision"] != "surveyed" or cited == total, name


def test_ningbo_geopackage_has_the_station_layer(ningbo_build):
    built_gpkg = ningbo_build.paths["gpkg"]
    con = sqlite3.connect(built_gpkg)
    try:
        bases = dict(con.execute("SELECT basis, count(*) FROM stations GROUP BY basis"))
        used = {r[0] for r in con.execute("SELECT lines FROM stations")}
        cited = dict(con.execute("SELECT name, cited_vertices FROM projects "
                                 "WHERE kind = 'metro'"))
    finally:
        con.close()
    assert bases["cited"] >= 15 and set(bases) <= {"cited", "knowledge"}
    # only the lines this report's projects are drawn as (line 1 is no project of 2024)
    assert any("轨道交通7号线" in u for u in used)
    assert not any("轨道交通1号线" in u for u in used)
    gaz = load_gazetteer(RAW / "ningbo_gazetteer.csv",
                         stations=load_stations(RAW / "ningbo_stations.csv"))
    drawn = dict(zip(gaz["name"], gaz["cited_vertices"], strict=True))
    assert cited and all(drawn[name] == value for name, value in cited.items()
                         if name in drawn), cited
    assert cited["轨道交通6号线"] == drawn["轨道交通6号线"] != ""
    frame = gpd.read_file(built_gpkg, layer="stations")
    assert frame.crs.to_epsg() == 4326 and len(frame) == sum(bases.values())
