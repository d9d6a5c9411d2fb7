"""Land of the neighbouring prefectures, so that "offshore" means sea, not someone else's land.

The county outlines of a city stop at its border; beyond it, the checks and the
allocation used to treat everything within ``settings.coastal_buffer_km`` as the
city's sea.  A port moved onto the next city's land was accepted and counted in the
nearest county.  This module supplies the other prefectures' land:

* from a committed GeoJSON (``settings.city_files(city)["neighbours"]``, written by
  ``scripts/make_neighbours.py``), so the default Ningbo build needs no cnmaps call;
* else from cnmaps' public API (``get_adm_maps(province=…, level='市', source='高德')``),
  converted from GCJ-02 to WGS84 with the exact inverse of :mod:`geo.coords`, clipped
  to the area near the city and simplified; cached per city in the process.

The prefectures of every province whose outline comes near the city are read, so a
city on a provincial border sees the other province's land too (湖州 sees 江苏 and
安徽; 宁波 sees 上海 across the bay).

:func:`foreign_land` tells, per geometry, which neighbour's land it reaches more than
:data:`FOREIGN_TOLERANCE_KM` into.  Kinds that cross borders by nature
(:data:`CROSSING_KINDS`: railways, roads, bridges, sea crossings …) may do so; their
part on foreign land is simply not allocated to a county (:func:`geo.districts.allocate`).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from . import settings
from .coords import gcj02_to_wgs84, transform_geometry
from .errors import DistrictError
from .gazetteer import LINEAR_KINDS

#: How far (km) a geometry may reach into another city's land before it counts as
#: lying there: both outlines are generalised (~50 m) and shared borders differ a little.
FOREIGN_TOLERANCE_KM = 0.5

#: Kinds that cross city borders by nature; their part beyond the city is not allocated.
CROSSING_KINDS: tuple[str, ...] = LINEAR_KINDS

#: Neighbours are kept within this distance (degrees, ~45 km) of the city's bounding box.
MARGIN_DEG = 0.4
#: Simplification of the neighbours' outlines (degrees, ~50 m) and coordinate decimals.
SIMPLIFY_DEG = 0.0005
DECIMALS = 5
#: Islands smaller than this (km²) are dropped from the stored outlines.
MIN_PART_KM2 = 0.05

COLUMNS = ["city", "of", "source", "geometry"]


def empty() -> gpd.GeoDataFrame:
    """A neighbours frame with no rows (the checks then know only the city's counties)."""
    return gpd.GeoDataFrame({c: [] for c in COLUMNS[:-1]}, geometry=[], crs="EPSG:4326")


def load_neighbours(city: str, districts: gpd.GeoDataFrame,
                    path: Path | None = None) -> gpd.GeoDataFrame:
    """Land of the prefectures next to ``city`` (EPSG:4326), one row per prefecture.

    Reads ``path`` (default: the city's ``neighbours`` file) if it exists, else
    derives them from cnmaps (cached per city).  Without cnmaps, returns an empty
    frame: the other cities' land is then unknown, as before.
    """
    if path is None:
        path = settings.city_files(city).get("neighbours")
    if path is not None and Path(path).exists():
        return read_neighbours_file(Path(path))
    try:
        import cnmaps  # noqa: F401
    except ImportError:
        return empty()
    try:
        return _cached(city, tuple(round(float(v), 4) for v in districts.total_bounds))
    except DistrictError:
        return empty()  # a city cnmaps does not know (a fixture): its neighbours are unknown


def read_neighbours_file(path: Path) -> gpd.GeoDataFrame:
    """Read a GeoJSON written by ``scripts/make_neighbours.py``."""
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types
        raise DistrictError(f"cannot read neighbouring cities' land ({exc})", path=path,
                            fix="rebuild it with scripts/make_neighbours.py") from exc
    if "city" not in frame.columns:
        raise DistrictError("neighbours file lacks the property 'city'", path=path,
                            fix="rebuild it with scripts/make_neighbours.py")
    frame = frame.set_crs("EPSG:4326") if frame.crs is None else frame.to_crs("EPSG:4326")
    for column in COLUMNS[:-1]:
        if column not in frame.columns:
            frame[column] = ""
    return frame[COLUMNS].sort_values("city", kind="stable").reset_index(drop=True)


@lru_cache(maxsize=8)
def _cached(city: str, bounds: tuple[float, ...]) -> gpd.GeoDataFrame:
    return cnmaps_neighbours(city, bounds)


def province_of(city: str) -> str:
    """The province of ``city`` by cnmaps' public API (直辖市: the city itself)."""
    import cnmaps

    for name in dict.fromkeys((city, city if city.endswith("市") else city + "市")):
        try:
            frame = cnmaps.get_adm_maps(city=name, level="市", source="高德",
                                        engine="geopandas", wgs84=False)
        except Exception:  # cnmaps raises its MapNotFoundError (and others) for unknown names
            continue
        provinces = sorted({str(p) for p in frame["province"] if p})
        if provinces:
            return provinces[0]
    raise DistrictError(f"city {city!r} not found in cnmaps",
                        fix="give the prefecture's full name as in cnmaps, e.g. 宁波市")


def provinces_near(city: str, box: BaseGeometry) -> list[str]:
    """``city``'s province and every other province whose outline meets ``box``
    (GCJ-02, cnmaps' public API), sorted by name."""
    import cnmaps

    frame = cnmaps.get_adm_maps(level="省", source="高德", engine="geopandas", wgs84=False)
    near = {str(p) for p, g in zip(frame["province"], frame.geometry, strict=True)
            if p and g is not None and shapely.make_valid(g).intersects(box)}
    return sorted(near | {province_of(city)})


def cnmaps_neighbours(city: str, bounds: tuple[float, ...]) -> gpd.GeoDataFrame:
    """The other prefectures near ``bounds`` (WGS84, simplified), of ``city``'s own
    province and of any other province that comes that near (:func:`provinces_near`).

    Each outline is clipped (in GCJ-02) to ``bounds`` widened by :data:`MARGIN_DEG`,
    simplified by :data:`SIMPLIFY_DEG`, then converted with the exact inverse of
    :mod:`geo.coords`; islands under :data:`MIN_PART_KM2` are dropped.  Deterministic.
    """
    import cnmaps
    import pandas as pd

    from .districts import cnmaps_source

    x0, y0, x1, y1 = bounds
    box = shapely.box(x0 - MARGIN_DEG, y0 - MARGIN_DEG, x1 + MARGIN_DEG, y1 + MARGIN_DEG)
    frame = pd.concat([cnmaps.get_adm_maps(province=province, level="市", source="高德",
                                           engine="geopandas", wgs84=False)
                       for province in provinces_near(city, box)], ignore_index=True)
    records = []
    for name, gcj in sorted(zip(frame["city"], frame.geometry, strict=True),
                            key=lambda r: str(r[0])):
        if not name or name in (city, city + "市") or gcj is None:
            continue
        near = shapely.make_valid(gcj).intersection(box)
        if near.is_empty:
            continue
        near = shapely.simplify(near, SIMPLIFY_DEG, preserve_topology=True)
        land = _polygons(transform_geometry(near, gcj02_to_wgs84))
        land = _drop_small(shapely.set_precision(land, 10.0 ** -DECIMALS))
        if not land.is_empty:
            records.append({"city": str(name), "of": city,
                            "source": cnmaps_source(), "geometry": land})
    if not records:
        return empty()
    return gpd.GeoDataFrame(records, geometry="geometry", crs="EPSG:4326")[COLUMNS]


def _polygons(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal parts of ``geom`` as one MultiPolygon (valid)."""
    geom = geom if geom.is_valid else shapely.make_valid(geom)
    polys = [q for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")
             for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polys)


def _drop_small(geom: BaseGeometry) -> BaseGeometry:
    """Drop polygon parts under :data:`MIN_PART_KM2` (measured in ``settings.metric_crs``)."""
    parts = [p for p in shapely.get_parts(_polygons(geom)) if not p.is_empty]
    if not parts:
        return shapely.MultiPolygon()
    areas = gpd.GeoSeries(parts, crs="EPSG:4326").to_crs(settings.metric_crs).area / 1e6
    return shapely.MultiPolygon([p for p, a in zip(parts, areas, strict=True)
                                 if a >= MIN_PART_KM2])


class ForeignLand:
    """The neighbours' land in the metric CRS, eroded by the tolerance, for repeated tests.

    Build it with :meth:`of`: the same land (same outlines, same CRS) is prepared once
    per process, as every report of a city, and the allocation and the checks of one
    build, test against the same neighbours."""

    _built: dict[tuple, ForeignLand] = {}

    @classmethod
    def of(cls, neighbours: gpd.GeoDataFrame | None) -> ForeignLand:
        """The (shared, read-only) prepared land of ``neighbours``."""
        frame = neighbours if neighbours is not None else empty()
        key = (settings.metric_crs, tuple(str(n) for n in frame["city"]),
               tuple(hashlib.sha1(g.wkb).hexdigest() for g in frame.geometry))
        if key not in cls._built:
            if len(cls._built) > 16:
                cls._built.clear()
            cls._built[key] = cls(frame)
        return cls._built[key]

    def __init__(self, neighbours: gpd.GeoDataFrame | None) -> None:
        frame = neighbours if neighbours is not None else empty()
        metric = frame.to_crs(settings.metric_crs) if len(frame) else frame
        self.names = [str(n) for n in frame["city"]]
        self.land = [g if g.is_valid else shapely.make_valid(g) for g in metric.geometry]
        self.union = shapely.union_all(self.land) if self.land else shapely.MultiPolygon()
        tol = FOREIGN_TOLERANCE_KM * 1000.0
        self.inner = [g.buffer(-tol) for g in self.land]
        self.inner_union = (shapely.union_all(self.inner) if self.inner
                            else shapely.MultiPolygon())
        for g in [self.union, self.inner_union, *self.inner]:
            shapely.prepare(g)

    def __bool__(self) -> bool:
        return bool(self.names)

    def reached(self, metric_geom: BaseGeometry) -> list[str]:
        """Neighbours whose land ``metric_geom`` reaches beyond the tolerance, sorted."""
        if metric_geom is None or metric_geom.is_empty:
            return []
        return sorted(n for n, g in zip(self.names, self.inner, strict=True)
                      if not g.is_empty and g.intersects(metric_geom))


def foreign_land(geoms: list[BaseGeometry | None], neighbours: gpd.GeoDataFrame | None
                 ) -> list[list[str]]:
    """For each geometry (EPSG:4326), the neighbouring cities whose land it lies on
    (more than :data:`FOREIGN_TOLERANCE_KM` inside)."""
    land = ForeignLand.of(neighbours)
    if not land:
        return [[] for _ in geoms]
    metric = gpd.GeoSeries(list(geoms), crs="EPSG:4326").to_crs(settings.metric_crs)
    return [land.reached(g) for g in metric]
