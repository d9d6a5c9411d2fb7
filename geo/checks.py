"""Checks every located project must pass (run in the build and in tests).

* the geometry is valid and inside the city (offshore within the coastal buffer;
  kinds that never lie at sea, :data:`geo.schema.LAND_KINDS`, within
  :data:`LAND_TOLERANCE_KM` of the city's land);
* offshore means sea: a geometry reaching more than
  :data:`geo.neighbours.FOREIGN_TOLERANCE_KM` into another city's land fails
  ``foreign_land`` unless its kind crosses borders by nature
  (:data:`geo.neighbours.CROSSING_KINDS`), and even then it must touch the city;
* a project whose name, or failing that its own sentence, names one county lies
  (at least partly) in that county;
* lines have a plausible length for their kind (a metro line is not 200 km);
* no two different projects share an identical geometry by accident;
* no axis-aligned box polygons, no linear work (road, railway, …) as a polygon, and a
  published length (area) matched within 25 % (30 %) unless ``measure_note`` says why.

:func:`check_projects` returns one row per failure (project_id, name, check,
detail); the build writes them to ``checks.csv`` and warns.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from . import settings
from .districts import city_outline, distance_to_city_km, district_names_in_text
from .gazetteer import (
    AREA_TOLERANCE,
    LENGTH_TOLERANCE,
    LINEAR_KINDS,
    is_axis_aligned_box,
    measure,
)
from .neighbours import CROSSING_KINDS, foreign_land
from .schema import LAND_KINDS

CHECK_COLUMNS = ["project_id", "name", "check", "detail"]

#: How far (km) a land-only kind may reach beyond the county outlines (their
#: boundaries are generalised; a reservoir 3 km outside is in the next city).
LAND_TOLERANCE_KM = 1.0

#: Longest plausible line (km) per kind; kinds not listed are not checked.
MAX_LENGTH_KM = {
    "metro": 80, "intercity_rail": 150, "rail": 450, "expressway": 350, "road": 90,
    "bridge": 40, "sea_crossing": 80, "tunnel_or_channel": 40, "seawall": 150,
    "utility_tunnel": 30, "flood_control": 60, "water_works": 120,
}


def check_projects(projects: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
                   city: str | None = None,
                   sentences: dict[str, list[str]] | None = None,
                   neighbours: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Return the failures of the checks above (empty when all pass).

    ``sentences``: each project's sentences with other projects' names blanked
    (:func:`geo.geocode.own_sentences`); a county named there (and only one) is
    checked like a county in the name.  ``neighbours``: the other cities' land
    (:func:`geo.neighbours.load_neighbours`); without it ``foreign_land`` is not checked.
    """
    rows: list[dict] = []
    located = projects[projects.geometry.notna()]
    if located.empty:
        return pd.DataFrame(rows, columns=CHECK_COLUMNS)
    lengths = located.geometry.to_crs(settings.metric_crs).length / 1000.0
    land = city_outline(districts)  # once: a union per project cost seconds
    outside_km = distance_to_city_km(list(located.geometry), districts)
    land_only = located["kind"].isin(LAND_KINDS).tolist()
    by_name = dict(zip(districts["name"], districts.geometry, strict=True))
    reached = foreign_land(list(located.geometry), neighbours)
    for (_, p), length_km, away_km, on_land, others in zip(
            located.iterrows(), lengths, outside_km, land_only, reached, strict=True):
        geom = p.geometry
        def fail(check: str, detail: str, p=p) -> None:
            rows.append({"project_id": p["project_id"], "name": p["name"], "check": check,
                         "detail": detail})
        if not geom.is_valid:
            fail("valid", "invalid geometry")
            continue
        if away_km is None or away_km > settings.coastal_buffer_km:
            fail("inside_city", "outside the city and its coastal buffer")
        elif on_land and away_km > LAND_TOLERANCE_KM:
            fail("inside_city", f"a {p['kind']} outside the city's land (more than"
                                f" {LAND_TOLERANCE_KM:g} km beyond its counties)")
        if others and p["precision"] not in ("district", "city"):
            _check_foreign(p, away_km, others, fail)
        named = district_names_in_text(p["name"], districts, city) or _sentence_county(
            (sentences or {}).get(p["project_id"], []), districts, city)
        if named and p["precision"] not in ("district", "city"):
            near = _near_km(geom, [by_name[n] for n in named if n in by_name], districts)
            if near > _allowed_km(geom, land):
                fail("named_county", f"name names {'、'.join(named)} but the geometry is elsewhere")
        _check_shape_and_published(p, geom, fail)
        limit = MAX_LENGTH_KM.get(p["kind"])
        if limit and geom.geom_type in ("LineString", "MultiLineString") and length_km > limit:
            fail("length", f"{length_km:.1f} km is implausible for a {p['kind']} (max {limit})")
    wkb = located.geometry.to_wkb()
    dupes = located[wkb.duplicated(keep=False) & (located["precision"] != "district")]
    for _, group in dupes.groupby(wkb[dupes.index]):
        names = "、".join(sorted(group["name"]))
        for _, p in group.iterrows():
            rows.append({"project_id": p["project_id"], "name": p["name"],
                         "check": "duplicate_geometry", "detail": f"same geometry as {names}"})
    return pd.DataFrame(rows, columns=CHECK_COLUMNS).sort_values(
        ["project_id", "check"], kind="stable").reset_index(drop=True)


def _check_foreign(p: pd.Series, away_km: float | None, others: list[str], fail) -> None:
    """A geometry on another city's land: wrong, unless its kind crosses borders and it
    also touches the city (then only its part in the city is allocated)."""
    where = "、".join(others)
    if p["kind"] not in CROSSING_KINDS:
        fail("foreign_land", f"a {p['kind']} on {where}'s land, not offshore: not counted in"
                             " any county (fix its geometry in the gazetteer)")
    elif away_km is None or away_km > LAND_TOLERANCE_KM:
        fail("foreign_land", f"a {p['kind']} wholly on {where}'s land (it never reaches the"
                             " city): not counted in any county")


def _check_shape_and_published(p: pd.Series, geom, fail) -> None:
    """No invented boxes, no linear work as a polygon, and a published length
    (area) matched within 25 % (30 %) unless ``measure_note`` explains it.
    County-level geometries (the county itself) are exempt from the shape rules."""
    if p.get("precision") in ("district", "city"):
        return
    if is_axis_aligned_box(geom):
        fail("box", "an axis-aligned rectangle, not an outline")
    if p["kind"] in LINEAR_KINDS and geom.geom_type in ("Polygon", "MultiPolygon"):
        fail("linear_as_polygon", f"a {p['kind']} drawn as a polygon")
    figures = {c: pd.to_numeric(p.get(c), errors="coerce")
               for c in ("published_length_km", "published_area_km2")}
    if str(p.get("measure_note") or "") or all(pd.isna(f) for f in figures.values()):
        return
    length_km, area_km2 = measure(geom)
    for column, value, tolerance, types in (
            ("published_length_km", length_km, LENGTH_TOLERANCE,
             ("LineString", "MultiLineString")),
            ("published_area_km2", area_km2, AREA_TOLERANCE, ("Polygon", "MultiPolygon"))):
        figure = figures[column]
        off = pd.notna(figure) and abs(value - figure) > tolerance * figure
        if off and geom.geom_type in types:
            fail("published_measure", f"measures {value:.1f}, the source states {figure:g}"
                                      f" ({column})")


def _near_km(geom, shapes, districts: gpd.GeoDataFrame) -> float:
    """Distance (km) from ``geom`` to the nearest of ``shapes``, in the metric CRS."""
    if not shapes:
        return 0.0
    series = gpd.GeoSeries([geom, *shapes], crs=districts.crs or "EPSG:4326")
    metric = series.to_crs(settings.metric_crs)
    return min(metric.iloc[0].distance(s) for s in metric.iloc[1:]) / 1000.0


def _allowed_km(geom, land) -> float:
    """1 km on land (``land``: the city outline); the coastal buffer for features at sea."""
    return 1.0 if geom.intersects(land) else settings.coastal_buffer_km



def _sentence_county(quotes: list[str], districts: gpd.GeoDataFrame,
                     city: str | None) -> list[str]:
    """The one county the project's own sentences name, if exactly one."""
    named = {n for q in quotes for n in district_names_in_text(q, districts, city)}
    return sorted(named) if len(named) == 1 else []
