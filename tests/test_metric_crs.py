"""Lengths and areas are measured in the UTM zone of the city being built."""

from __future__ import annotations

import json
import sqlite3

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, box

from geo import settings
from geo.districts import load_districts, metric_crs_of
from geo.gazetteer import measure

#: A square "district" near Ürümqi (87.6°E), six UTM zones west of Ningbo's.
WEST = gpd.GeoDataFrame({"name": ["西区"]}, geometry=[box(87.4, 43.7, 87.8, 44.0)],
                        crs="EPSG:4326")


@pytest.mark.parametrize("lon, lat", [(121.5, 29.9), (87.6, 43.8), (75.9, 39.5),
                                      (126.6, 45.8), (110.3, 20.0), (114.1, 22.5),
                                      (-70.6, -33.4), (120.0, 30.0), (144.9, -37.8)])
def test_the_zone_is_what_geopandas_estimates(lon, lat):
    from geo.districts import _utm_of_bounds

    point = gpd.GeoSeries([box(lon - 0.2, lat - 0.2, lon + 0.2, lat + 0.2)], crs="EPSG:4326")
    assert _utm_of_bounds(tuple(point.total_bounds)) == f"EPSG:{point.estimate_utm_crs().to_epsg()}"


def test_each_city_gets_its_own_zone():
    ningbo = load_districts("宁波市", settings.city_files("宁波市")["districts"])
    assert metric_crs_of(ningbo) == "EPSG:32651"
    assert metric_crs_of(WEST) == "EPSG:32645"


def test_the_zone_measures_like_the_ellipsoid_and_a_far_zone_does_not():
    line = LineString([(87.45, 43.75), (87.75, 43.95)])
    geodesic_km = Geod(ellps="WGS84").geometry_length(line) / 1000.0
    with settings.restoring_metric_crs():
        settings.metric_crs = metric_crs_of(WEST)
        own_km, _ = measure(line)
        settings.metric_crs = "EPSG:32651"
        far_km, _ = measure(line)
    assert abs(own_km - geodesic_km) / geodesic_km < 0.001
    assert abs(far_km - geodesic_km) / geodesic_km > 0.05  # why one zone cannot serve China
    geodesic_km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(WEST.geometry[0])[0]) / 1e6
    own = WEST.to_crs(metric_crs_of(WEST)).area.iloc[0] / 1e6
    assert abs(own - geodesic_km2) / geodesic_km2 < 0.002


def test_build_records_its_crs_and_puts_the_setting_back(tmp_path, monkeypatch):
    from geo.pipeline import build

    before = settings.metric_crs
    monkeypatch.setattr(settings, "metric_crs_override", "EPSG:4549")  # CGCS2000 / 3-degree GK
    result = build(root=tmp_path)
    assert result.stages.metric_crs == "EPSG:4549"
    assert settings.metric_crs == before
    con = sqlite3.connect(result.paths["gpkg"])
    try:
        meta = json.loads(con.execute("SELECT metadata FROM gpkg_metadata").fetchone()[0])
    finally:
        con.close()
    assert "EPSG:4549" in meta["crs"]


@pytest.mark.parametrize("value", ["", "EPSG:32650"])
def test_override_wins_when_set(monkeypatch, value):
    monkeypatch.setattr(settings, "metric_crs_override", value)
    assert metric_crs_of(WEST) == (value or "EPSG:32645")
