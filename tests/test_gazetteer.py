"""Tests of the gazetteer loader (error cases) and of the Ningbo gazetteer data."""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon

from geo import settings
from geo.errors import GazetteerError
from geo.gazetteer import COLUMNS, CSV_COLUMNS, load_gazetteer, names_index, reference_point
from geo.schema import KINDS, PRECISIONS

GAZETTEER = settings.root / "data" / "raw" / "ningbo_gazetteer.csv"
HEADER = ",".join(CSV_COLUMNS)
GOOD = ('鼓楼,鼓楼站|Gulou,culture,Drum Tower,site,"knowledge, unverified",海曙区,'
        'POINT (121.5455 29.8745)')
SECOND = '宁波站,宁波火车站,rail,Ningbo station,site,test,海曙区,POINT (121.5425 29.864)'


def write(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "g.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def square_districts() -> gpd.GeoDataFrame:
    """Two toy districts side by side around Ningbo's centre."""
    west = Polygon([(121.50, 29.80), (121.55, 29.80), (121.55, 29.90), (121.50, 29.90)])
    east = Polygon([(121.55, 29.80), (121.60, 29.80), (121.60, 29.90), (121.55, 29.90)])
    return gpd.GeoDataFrame({"name": ["海曙区", "鄞州区"]}, geometry=[west, east], crs="EPSG:4326")


def expect_error(path: Path, line: int, *words: str, **kwargs) -> GazetteerError:
    with pytest.raises(GazetteerError) as info:
        load_gazetteer(path, **kwargs)
    message = str(info.value)
    assert str(path) in message, message
    assert f":{line}:" in message, message
    for word in words:
        assert word in message, message
    return info.value


# ---------------------------------------------------------------- loader: good input

def test_loads_small_file(tmp_path):
    gdf = load_gazetteer(write(tmp_path, GOOD, SECOND))
    assert list(gdf.columns) == list(COLUMNS)
    assert gdf.crs.to_epsg() == 4326
    assert gdf["row"].tolist() == [2, 3]
    assert gdf.loc[0, "aliases"] == ("鼓楼站", "Gulou")
    assert gdf.loc[1, "aliases"] == ("宁波火车站",)
    index = names_index(gdf)
    assert index["Gulou"] == 0 and index["宁波火车站"] == 1 and index["宁波站"] == 1


def test_blank_lines_keep_line_numbers(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(f"{HEADER}\n{GOOD}\n\n{SECOND}\n", encoding="utf-8")
    assert load_gazetteer(path)["row"].tolist() == [2, 4]


def test_quoted_multiline_field_keeps_line_numbers(tmp_path):
    multi = '鼓楼,,culture,,site,"two\nlines",海曙区,POINT (121.5455 29.8745)'
    path = write(tmp_path, multi, SECOND.replace("POINT (121.5425 29.864)", "POINT (999 29)"))
    expect_error(path, 4, "out of range")


# ---------------------------------------------------------------- loader: errors

FULL = HEADER + ",published_length_km,published_area_km2,measure_note"
BOX = "POLYGON ((121.50 29.80, 121.55 29.80, 121.55 29.85, 121.50 29.85, 121.50 29.80))"
OUTLINE = "POLYGON ((121.50 29.80, 121.55 29.81, 121.54 29.85, 121.50 29.84, 121.50 29.80))"
LINE = "LINESTRING (121.50 29.80, 121.60 29.80)"     # about 9.7 km


def test_axis_aligned_box_is_refused(tmp_path):
    path = write(tmp_path, f'片区,,urban_area,,approximate,test,海曙区,"{BOX}"')
    expect_error(path, 2, "axis-aligned box", "use a point")
    gdf = load_gazetteer(write(tmp_path, f'片区,,urban_area,,approximate,test,海曙区,"{OUTLINE}"'))
    assert gdf.geometry.iloc[0].geom_type == "Polygon"


def test_address_glued_to_punctuation_is_refused(tmp_path):
    path = write(tmp_path, '站,,rail,,site,"https://a.example/x.html; page",海曙区,POINT (121.54 29.86)')
    expect_error(path, 2, "runs into punctuation", "leave a space")


def test_road_as_polygon_is_refused(tmp_path):
    path = write(tmp_path, f'连接线,,road,,district,test,海曙区,"{OUTLINE}"')
    expect_error(path, 2, "road stored as a polygon", "LINESTRING")


def test_published_length_must_agree_or_be_explained(tmp_path):
    ok = load_gazetteer(write(tmp_path, f'路,,road,,schematic,t,海曙区,"{LINE}",9.0,,', header=FULL))
    assert ok.loc[0, "published_length_km"] == 9.0
    path = write(tmp_path, f'路,,road,,schematic,t,海曙区,"{LINE}",5.0,,', header=FULL)
    expect_error(path, 2, "9.7 km", "states 5 km", "measure_note")
    noted = f'路,,road,,schematic,t,海曙区,"{LINE}",5.0,,"stated figure is phase 1 only"'
    assert load_gazetteer(write(tmp_path, noted, header=FULL)).loc[0, "measure_note"]
    bad = write(tmp_path, f'路,,road,,schematic,t,海曙区,"{LINE}",abc,,', header=FULL)
    expect_error(bad, 2, "not a number")


def test_published_area_must_agree(tmp_path):
    path = write(tmp_path, f'片区,,urban_area,,approximate,t,海曙区,"{OUTLINE}",,90,', header=FULL)
    expect_error(path, 2, "km²", "30%")

def test_missing_file(tmp_path):
    with pytest.raises(GazetteerError, match="cannot read"):
        load_gazetteer(tmp_path / "none.csv")


def test_not_utf8(tmp_path):
    path = tmp_path / "g.csv"
    path.write_bytes((HEADER + "\n" + GOOD + "\n").encode("utf-8") + "宁波站\n".encode("gbk"))
    expect_error(path, 3, "not UTF-8")


def test_missing_columns(tmp_path):
    path = write(tmp_path, GOOD, header=HEADER.replace(",source", ""))
    expect_error(path, 1, "missing columns", "source")


@pytest.mark.parametrize(("wkt", "reason"), [
    ("", "empty wkt"),
    ("POINT (121.5", "invalid WKT"),
    ("POINT EMPTY", "empty geometry"),
    ("POLYGON ((121.50 29.80, 121.60 29.90, 121.60 29.80, 121.50 29.90, 121.50 29.80))",
     "Self-intersection"),
    ("POINT (200 29.8)", "out of range"),
    ("POINT (29.87 121.55)", "swapped"),
    ("LINESTRING (121.5 29.8, 29.9 121.6)", "swapped"),
])
def test_geometry_errors(tmp_path, wkt, reason):
    row = f'坏行,,culture,,site,test,海曙区,"{wkt}"'
    expect_error(write(tmp_path, GOOD, row), 3, reason, "坏行")


def test_swapped_out_of_range_latitude(tmp_path):
    # lat 121 is out of range, and swapped it would be in China: say so.
    row = '坏行,,culture,,site,test,海曙区,POINT (29.87 121.55)'
    err = expect_error(write(tmp_path, row), 2, "swapped")
    assert "121.55 29.87" in err.fix


def test_point_outside_china_not_swapped_is_allowed(tmp_path):
    row = 'Paris,,culture,,site,test,海曙区,POINT (2.35 48.85)'
    assert len(load_gazetteer(write(tmp_path, row))) == 1


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("kind", "castle", "unknown kind"),
    ("precision", "exact", "unknown precision"),
    ("source", "", "empty source"),
    ("name", "", "empty name"),
])
def test_field_errors(tmp_path, column, value, reason):
    fields = dict(zip(CSV_COLUMNS, ["坏行", "", "culture", "", "site", "test", "海曙区",
                                    "POINT (121.55 29.87)"], strict=True))
    fields[column] = value
    row = ",".join(f'"{v}"' for v in fields.values())
    err = expect_error(write(tmp_path, GOOD, row), 3, reason)
    assert err.fix


def test_duplicate_name(tmp_path):
    expect_error(write(tmp_path, GOOD, SECOND, GOOD), 4, "duplicate", "鼓楼", "line 2")


def test_duplicate_alias_across_rows(tmp_path):
    dup = SECOND.replace("宁波火车站", "宁波火车站|Gulou")
    expect_error(write(tmp_path, GOOD, dup), 3, "duplicate", "Gulou")


def test_district_check(tmp_path):
    districts = square_districts()
    ok = '东边,,culture,,site,test,鄞州区,POINT (121.57 29.85)'
    near = '边界,,culture,,site,test,海曙区,POINT (121.56 29.85)'  # ~1 km into 鄞州区
    assert len(load_gazetteer(write(tmp_path, ok, near), districts=districts)) == 2
    far = '远处,,culture,,site,test,海曙区,POINT (121.59 29.85)'
    expect_error(write(tmp_path, ok, far), 3, "outside 海曙区", districts=districts)
    unknown = '未知,,culture,,site,test,火星区,POINT (121.57 29.85)'
    expect_error(write(tmp_path, unknown), 2, "unknown district", districts=districts)


def test_district_check_uses_line_midpoint_and_offshore_buffer(tmp_path):
    districts = square_districts()
    line = '线,,road,,schematic,test,海曙区|鄞州区,"LINESTRING (121.51 29.85, 121.59 29.85)"'
    sea = '海上,,energy,,site,test,鄞州区,POINT (121.75 29.85)'  # ~14 km offshore
    assert len(load_gazetteer(write(tmp_path, line, sea), districts=districts)) == 2
    far_sea = '远海,,energy,,site,test,鄞州区,POINT (122.0 29.85)'
    expect_error(write(tmp_path, far_sea), 2, "offshore", districts=districts)


def test_land_kinds_get_no_offshore_buffer(tmp_path):
    """A reservoir outside every county is in the next city, not at sea."""
    districts = square_districts()
    wind = '风电,,energy,,site,test,鄞州区,POINT (121.63 29.85)'      # ~3 km east: offshore, fine
    assert len(load_gazetteer(write(tmp_path, wind), districts=districts)) == 1
    dam = '水库,,reservoir,,site,test,鄞州区,POINT (121.63 29.85)'    # same point, land kind
    expect_error(write(tmp_path, dam), 2, "outside 鄞州区", "allowed 2 km", districts=districts)


def test_reference_point():
    line = shapely.LineString([(0, 0), (10, 0), (10, 10)])
    assert reference_point(line).equals(shapely.Point(10, 0))
    assert reference_point(shapely.Point(1, 2)).equals(shapely.Point(1, 2))


# ---------------------------------------------------------------- the real gazetteer

@functools.cache
def ningbo() -> gpd.GeoDataFrame:
    return load_gazetteer(GAZETTEER)


@functools.cache
def cnmaps_districts() -> gpd.GeoDataFrame:
    cnmaps = pytest.importorskip("cnmaps")
    maps = cnmaps.get_adm_maps(city="宁波市", level="区县")
    rows = [{"name": m["district"],
             "geometry": shapely.geometry.shape(m["geometry"].__geo_interface__)} for m in maps]
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def test_real_gazetteer_loads_and_is_valid():
    gdf = ningbo()
    assert len(gdf) >= 50
    assert gdf.geometry.is_valid.all()
    assert set(gdf["kind"]) <= set(KINDS)
    assert set(gdf["precision"]) <= set(PRECISIONS)
    assert (gdf["source"].str.len() > 0).all()


def test_real_gazetteer_file_format():
    data = GAZETTEER.read_bytes()
    assert b"\r" not in data
    data.decode("utf-8")
    gdf = ningbo()
    keys = list(zip(gdf["kind"], gdf["name"], strict=True))
    assert keys == sorted(keys), "rows must be sorted by kind, then name"


def test_real_gazetteer_geometry_types_match_kinds():
    gdf = ningbo()
    linear = {"rail", "metro", "intercity_rail", "expressway", "seawall"}
    for _, row in gdf[gdf["kind"].isin(linear)].iterrows():
        if row["kind"] == "rail" and ("站" in row["name"] or "枢纽" in row["name"]):
            continue  # stations and hubs are points
        assert row.geometry.geom_type in ("LineString", "MultiLineString"), row["name"]


LIMITS_KM = {"metro": 80, "intercity_rail": 120, "rail": 400, "expressway": 150, "road": 80}


def test_real_gazetteer_line_lengths_plausible():
    gdf = ningbo()
    lengths = gdf.to_crs(settings.metric_crs).length / 1000
    for (_, row), km in zip(gdf.iterrows(), lengths, strict=True):
        if row.geometry.geom_type == "LineString":
            assert 0.3 < km < LIMITS_KM.get(row["kind"], 80), (row["name"], km)


def test_real_gazetteer_no_identical_geometries():
    wkb = [g.wkb for g in ningbo().geometry]
    assert len(wkb) == len(set(wkb))


def test_real_gazetteer_features_within_listed_districts():
    gdf, districts = ningbo(), cnmaps_districts()
    # raises GazetteerError naming the row if a feature is outside its districts
    load_gazetteer(GAZETTEER, districts=districts)
    metric = districts.to_crs(settings.metric_crs)
    shapes = dict(zip(metric["name"], metric.geometry, strict=True))
    land = shapely.union_all(list(shapes.values()))
    for (_, row), geom in zip(gdf.iterrows(), gdf.to_crs(settings.metric_crs).geometry,
                              strict=True):
        listed = shapely.union_all([shapes[d] for d in row["district"].split("|")])
        for x, y in shapely.get_coordinates(geom):
            vertex = shapely.Point(x, y)
            limit = 2000 if land.contains(vertex) else settings.coastal_buffer_km * 1000
            assert listed.distance(vertex) <= limit, (row["name"], x, y)


def test_real_gazetteer_metro_lines_stay_on_land():
    gdf, districts = ningbo(), cnmaps_districts()
    land = shapely.union_all(list(districts.to_crs(settings.metric_crs).geometry)).buffer(200)
    metro = gdf[gdf["kind"] == "metro"].to_crs(settings.metric_crs)
    for name, geom in zip(metro["name"], metro.geometry, strict=True):
        assert geom.difference(land).length < 1.0, name


def test_real_gazetteer_key_places():
    """Well-known places are where independent sources put them (within ~1.5 km)."""
    gdf = ningbo()
    index = names_index(gdf)
    expected = {"栎社国际机场": (121.462, 29.827), "宁波站": (121.533, 29.865)}
    for name, (lon, lat) in expected.items():
        point = gdf.geometry[index[name]].centroid
        assert abs(point.x - lon) < 0.015 and abs(point.y - lat) < 0.015, name
