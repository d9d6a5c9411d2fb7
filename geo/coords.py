"""Conversions between WGS84, GCJ-02 (Gaode/Tencent) and BD-09 (Baidu) coordinates.

GCJ-02 is the obfuscated datum required for published maps in mainland China;
it is WGS84 shifted by a smooth, deterministic offset of a few hundred metres.
BD-09 is Baidu's further transform of GCJ-02.  Outside China (a rough
rectangle, see :func:`out_of_china`) both are identical to WGS84.

The forward transform (WGS84 -> GCJ-02) is the widely published formula.  Its
inverse has no closed form; :func:`gcj02_to_wgs84` solves it by fixed-point
iteration until the round trip matches to better than 1e-7 degrees (~1 cm).

All functions take and return ``(lon, lat)`` in that order, in degrees.
Store WGS84 only; use :func:`transform_geometry` with :func:`wgs84_to_gcj02`
to shift vectors for display over GCJ-02 tiles (Gaode).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

#: Semi-major axis and eccentricity squared of Krasovsky 1940, used by GCJ-02.
_A = 6378245.0
_EE = 0.00669342162296594323
#: Baidu's constant (pi * 3000 / 180).
_X_PI = math.pi * 3000.0 / 180.0

#: Iteration settings of the inverse transform.
_TOLERANCE = 1e-7
_MAX_ITER = 30

Coord = tuple[float, float]


def out_of_china(lon: float, lat: float) -> bool:
    """Return True if ``(lon, lat)`` lies outside the rectangle where GCJ-02 applies.

    The rectangle (72.004..137.8347 E, 0.8293..55.8271 N) is the one used by
    all public implementations; points outside it are not shifted.
    """
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _delta(lon: float, lat: float) -> Coord:
    """Offset (dlon, dlat) in degrees that GCJ-02 adds to a WGS84 point."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> Coord:
    """Convert a WGS84 point to GCJ-02 (unchanged outside China)."""
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> Coord:
    """Convert a GCJ-02 point to WGS84 exactly (iterative inverse, error < 1e-6 deg).

    Starts from the one-step approximation ``gcj - delta(gcj)`` and refines
    the WGS84 guess until its forward transform matches ``(lon, lat)``.
    """
    if out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(_MAX_ITER):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if abs(elon) < _TOLERANCE and abs(elat) < _TOLERANCE:
            break
    return wlon, wlat


def gcj02_to_bd09(lon: float, lat: float) -> Coord:
    """Convert a GCJ-02 point to Baidu BD-09."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> Coord:
    """Convert a Baidu BD-09 point to GCJ-02 (the standard closed-form inverse)."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def bd09_to_wgs84(lon: float, lat: float) -> Coord:
    """Convert a Baidu BD-09 point to WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: float, lat: float) -> Coord:
    """Convert a WGS84 point to Baidu BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def transform_geometry(geom: BaseGeometry, func: Callable[[float, float], Coord]) -> BaseGeometry:
    """Apply a point conversion such as :func:`wgs84_to_gcj02` to every vertex of ``geom``.

    Works for any shapely geometry (points, lines, polygons with holes, multi-
    and collection types); empty geometries are returned unchanged.  Z values
    are dropped.
    """
    if geom is None or geom.is_empty:
        return geom

    def _apply(coords: np.ndarray) -> np.ndarray:
        return np.array([func(float(x), float(y)) for x, y in coords], dtype=float)

    return shapely.transform(geom, _apply)
