"""Tests of the WGS84 / GCJ-02 / BD-09 conversions against published pairs."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from geo.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    transform_geometry,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# (wgs lon, wgs lat, gcj lon, gcj lat): the test pairs of googollee/eviltransform
# (Shanghai, Shenzhen, Beijing) and of wandergis/coordtransform (116.404, 39.915).
WGS_GCJ_PAIRS = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),
]

# wandergis/coordtransform: BD-09 <-> GCJ-02 of (116.404, 39.915).
BD_TO_GCJ = ((116.404, 39.915), (116.39762729119315, 39.90865673957631))
GCJ_TO_BD = ((116.404, 39.915), (116.41036949371029, 39.92133699351021))


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), WGS_GCJ_PAIRS)
def test_wgs84_to_gcj02_matches_published_pairs(wlon, wlat, glon, glat):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), WGS_GCJ_PAIRS)
def test_gcj02_to_wgs84_is_exact_inverse(wlon, wlat, glon, glat):
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert abs(lon - wlon) < 1e-6
    assert abs(lat - wlat) < 1e-6


def test_gcj02_to_wgs84_beats_one_step_approximation():
    # coordtransform's one-step inverse of (116.404, 39.915) is off by ~5e-7 deg;
    # the exact inverse must agree with it to that order but round-trip better.
    approx = (116.39775550083061, 39.91359571849836)
    lon, lat = gcj02_to_wgs84(116.404, 39.915)
    assert abs(lon - approx[0]) < 2e-6 and abs(lat - approx[1]) < 2e-6
    back = wgs84_to_gcj02(lon, lat)
    assert abs(back[0] - 116.404) < 1e-7 and abs(back[1] - 39.915) < 1e-7


def test_bd09_pairs():
    (src, expected) = BD_TO_GCJ
    assert bd09_to_gcj02(*src) == pytest.approx(expected, abs=1e-9)
    (src, expected) = GCJ_TO_BD
    assert gcj02_to_bd09(*src) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("lon", [120.9, 121.3, 121.55, 121.9, 122.2])
@pytest.mark.parametrize("lat", [28.9, 29.4, 29.85, 30.3])
def test_round_trips_around_ningbo(lon, lat):
    g = wgs84_to_gcj02(lon, lat)
    # The GCJ-02 offset around Ningbo is a few hundred metres, never zero.
    assert 0.001 < abs(g[0] - lon) < 0.01 or 0.001 < abs(g[1] - lat) < 0.01
    w = gcj02_to_wgs84(*g)
    assert w == pytest.approx((lon, lat), abs=1e-6)
    b = wgs84_to_bd09(lon, lat)
    # The closed-form BD-09 inverse is good to ~1e-6 deg (0.1 m).
    assert bd09_to_wgs84(*b) == pytest.approx((lon, lat), abs=3e-6)


def test_out_of_china_is_unchanged():
    assert out_of_china(2.35, 48.85)
    assert not out_of_china(121.55, 29.87)
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert gcj02_to_wgs84(-74.0, 40.7) == (-74.0, 40.7)


def test_transform_geometry_shifts_every_vertex():
    line = LineString([(121.5, 29.8), (121.6, 29.9)])
    shifted = transform_geometry(line, wgs84_to_gcj02)
    for (x0, y0), (x1, y1) in zip(line.coords, shifted.coords, strict=True):
        assert (x1, y1) == pytest.approx(wgs84_to_gcj02(x0, y0))
    poly = Polygon([(121.5, 29.8), (121.6, 29.8), (121.6, 29.9), (121.5, 29.8)])
    multi = MultiPolygon([poly])
    back = transform_geometry(transform_geometry(multi, wgs84_to_gcj02), gcj02_to_wgs84)
    assert back.geom_type == "MultiPolygon"
    assert back.equals_exact(multi, 1e-6)
    pt = transform_geometry(Point(121.55, 29.87), wgs84_to_gcj02)
    assert pt.x != 121.55
    assert transform_geometry(Point(), wgs84_to_gcj02).is_empty
