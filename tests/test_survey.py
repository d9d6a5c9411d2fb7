"""Gazetteer geometries against independent reference coordinates (geo.survey).

Unit tests use toy rows with known distances; the data tests hold the Ningbo
gazetteer to ``data/raw/ningbo_reference.csv`` and, for the airport, to the
OurAirports-derived ``airportsdata`` package, an independent survey source.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon

from geo import settings
from geo.errors import GazetteerError
from geo.gazetteer import load_gazetteer
from geo.stations import load_stations
from geo.survey import (
    COMPARISON_COLUMNS,
    REFERENCE_COLUMNS,
    TOLERANCE_M,
    class_summary,
    compare_with_reference,
    load_reference,
)

RAW = settings.root / "data" / "raw"
GAZETTEER = RAW / "ningbo_gazetteer.csv"
REFERENCE = RAW / "ningbo_reference.csv"
STATIONS = RAW / "ningbo_stations.csv"
HEADER = ",".join(REFERENCE_COLUMNS)


def toy_gazetteer() -> gpd.GeoDataFrame:
    """A point, a line and a polygon near Ningbo with different precisions."""
    return gpd.GeoDataFrame({
        "name": ["站", "线", "湖"],
        "precision": ["surveyed", "schematic", "approximate"],
        "geometry": [Point(121.5, 29.9), LineString([(121.4, 29.8), (121.6, 29.8)]),
                     Polygon([(121.6, 29.7), (121.7, 29.7), (121.7, 29.8), (121.6, 29.8)])],
    }, crs="EPSG:4326")


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "ref.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ unit

def test_distances_and_tolerances(tmp_path):
    ref = load_reference(write(
        tmp_path,
        "站,ref A,121.5,29.9005,test",        # ~55 m north of a surveyed point: within
        "站,ref B,121.5,29.902,test",         # ~220 m: outside 100 m
        "线,station,121.5,29.81,test",        # ~1.1 km off a schematic line: within 2 km
        "湖,inside,121.65,29.75,test",        # inside the polygon: 0
        "湖,far,121.65,29.9,test",            # ~11 km north: outside
    ))
    table = compare_with_reference(toy_gazetteer(), ref)
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    assert table["within"].tolist() == [True, False, True, True, False]
    assert 40 < table.loc[0, "distance_m"] < 70
    assert 200 < table.loc[1, "distance_m"] < 240
    assert 1000 < table.loc[2, "distance_m"] < 1200
    assert table.loc[3, "distance_m"] == 0
    assert table.loc[1, "tolerance_m"] == TOLERANCE_M["surveyed"]


def test_drawn_points_are_measured_leave_one_out(tmp_path):
    """A station the line was drawn through is no evidence: its vertex is left
    out and the remaining line measured; ends and points get no verdict."""
    gazetteer = gpd.GeoDataFrame({
        "name": ["线", "点"], "precision": ["schematic", "surveyed"],
        "geometry": [LineString([(121.4, 29.8), (121.5, 29.83), (121.6, 29.8)]),
                     Point(121.5, 29.9)],
    }, crs="EPSG:4326")
    ref = load_reference(write(
        tmp_path,
        "线,middle,121.5,29.83,test,drawn",   # its vertex removed: ~3.3 km off the chord
        "线,end,121.4,29.8,test,drawn",       # an end: cannot be left out
        "线,near,121.5,29.831,test,check",    # independent, ~100 m
        "点,same,121.5,29.9,test,drawn",
        header=HEADER + ",use"))
    table = compare_with_reference(gazetteer, ref)
    assert table["method"].tolist() == ["leave-one-out", "drawn", "independent", "drawn"]
    assert table.loc[0, "distance_m"] > 2500 and not table.loc[0, "within"]
    assert table.loc[1, "within"] and table.loc[3, "within"]
    summary = class_summary(table).set_index("precision")
    assert summary.loc["schematic", "checks"] == 2 and summary.loc["schematic", "within"] == 1
    assert summary.loc["surveyed", "checks"] == 0 and summary.loc["surveyed", "drawn_only"] == 1


def test_bad_use_value(tmp_path):
    with pytest.raises(GazetteerError, match="use 'maybe'"):
        load_reference(write(tmp_path, "站,x,121.5,29.9,t,maybe", header=HEADER + ",use"))


def test_unknown_row_is_an_error(tmp_path):
    ref = load_reference(write(tmp_path, "无此项,x,121.5,29.9,test"))
    with pytest.raises(GazetteerError, match=r"ref\.csv:2:.*无此项"):
        compare_with_reference(toy_gazetteer(), ref, path=tmp_path / "ref.csv")


@pytest.mark.parametrize("row, words", [
    ("站,x,abc,29.9,test", "not numbers"),
    ("站,x,121.5,95,test", "out of range"),
    ("站,x,121.5,29.9,", "empty source"),
])
def test_bad_rows_name_the_line(tmp_path, row, words):
    path = write(tmp_path, row)
    with pytest.raises(GazetteerError) as info:
        load_reference(path)
    assert f"{path}:2:" in str(info.value) and words in str(info.value)


def test_bad_header_and_missing_file(tmp_path):
    with pytest.raises(GazetteerError, match="header"):
        load_reference(write(tmp_path, "站,x,121.5,29.9,t", header="name,lon,lat"))
    with pytest.raises(GazetteerError, match="not found"):
        load_reference(tmp_path / "none.csv")


# ------------------------------------------------------------------ Ningbo data

@pytest.fixture(scope="module")
def ningbo_comparison():
    """Every reference point (drawn ones included) against the gazetteer as built."""
    gazetteer = load_gazetteer(GAZETTEER, stations=load_stations(STATIONS))
    return compare_with_reference(gazetteer, load_reference(REFERENCE), path=REFERENCE)


def test_ningbo_gazetteer_agrees_with_reference(ningbo_comparison):
    bad = ningbo_comparison[~ningbo_comparison["within"]]
    assert bad.empty, "\n" + bad.to_string()


def test_ningbo_every_class_with_reference_has_evidence(ningbo_comparison):
    """Each measured class has at least one independent or leave-one-out check
    beyond the points its geometries were drawn through."""
    summary = class_summary(ningbo_comparison)
    assert (summary["checks"] > 0).all(), summary.to_string()
    assert (summary["within"] == summary["checks"]).all(), summary.to_string()


def test_reference_covers_the_kinds_that_get_surveyed(ningbo_comparison):
    """Metro lines, railway lines and the airport have reference points, so the
    check above means something.  (No reference coordinates were found for the
    port terminals and the reservoirs; GAZETTEER.md says so.)"""
    gazetteer = load_gazetteer(GAZETTEER).set_index("name")
    kinds = set(gazetteer.loc[ningbo_comparison["name"].unique(), "kind"])
    assert {"metro", "rail", "airport"} <= kinds
    metro_refs = ningbo_comparison[ningbo_comparison["name"].str.startswith("轨道交通")]
    independent = metro_refs[metro_refs["method"] == "independent"]
    assert len(independent) >= 5 and independent["name"].nunique() >= 2, \
        "metro lines need checks not used to draw them"


def test_airport_matches_airportsdata():
    """OurAirports' aerodrome reference point, via the airportsdata package."""
    airportsdata = pytest.importorskip("airportsdata")
    ngb = airportsdata.load("IATA")["NGB"]
    gazetteer = load_gazetteer(GAZETTEER).set_index("name")
    row = gazetteer.loc["栎社国际机场"]
    point = gpd.GeoSeries([row.geometry, Point(ngb["lon"], ngb["lat"])], crs="EPSG:4326")
    metric = point.to_crs(settings.metric_crs)
    distance = metric.iloc[0].distance(metric.iloc[1])
    assert distance <= TOLERANCE_M[row["precision"]], distance
