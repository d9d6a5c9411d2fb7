"""Settings in one place, read at call time (like ``osmnx.settings``).

Change them in code (``geo.settings.cache_folder = ...``) or through the
environment variables named beside each value.  Nothing here touches the
network; ``geo.online`` and ``geo.sources`` read the online settings below.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _default_root() -> Path:
    """Where data and outputs live: ``GEO_ROOT`` if set; else the checkout this
    package runs from (an editable install); else the current directory (an
    installed package keeps nothing of the user's next to its code)."""
    if os.environ.get("GEO_ROOT"):
        return Path(os.environ["GEO_ROOT"])
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "data" / "raw").is_dir():
        return checkout
    return Path.cwd()


#: Root of the data and outputs (data/raw, data/processed, layers, maps).
root: Path = _default_root()



def _seed_folder() -> Path:
    """The seed data of the package (``data/raw`` of the checkout, shipped as ``geo.seed``)."""
    checkout = Path(__file__).resolve().parent.parent / "data" / "raw"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "seed"  # installed: beside this module


def _data_file(name: str) -> Path:
    """``root/data/raw/name`` if the user has it, else the packaged seed copy."""
    own = root / "data" / "raw" / name
    return own if own.exists() or not (_seed_folder() / name).exists() else _seed_folder() / name


#: Default build.
default_report: Path = _data_file("ningbo_2024.txt")
default_city: str = "宁波市"
default_name: str = "ningbo_2024"

#: Per-city data: gazetteer, district boundaries and independent reference
#: coordinates for the gazetteer (optional), keyed by city name.
#: A city without an entry still builds (districts from cnmaps, rest unresolved).
city_data: dict[str, dict[str, Path]] = {
    "宁波市": {
        "gazetteer": _data_file("ningbo_gazetteer.csv"),
        "districts": _data_file("ningbo_districts.geojson"),
        "reference": _data_file("ningbo_reference.csv"),
        "stations": _data_file("ningbo_stations.csv"),
        "neighbours": _data_file("ningbo_neighbours.geojson"),
    },
}

#: Output folders.
processed_folder: Path = root / "data" / "processed"
layers_folder: Path = root / "layers"
maps_folder: Path = root / "maps"

#: Projected CRS (metres) for lengths and areas: each build uses the UTM zone of
#: its city's boundaries (:func:`geo.districts.metric_crs_of`; Ningbo: UTM 51N) and
#: puts this value back when it ends.  ``GEO_METRIC_CRS`` fixes one for every city.
metric_crs: str = "EPSG:32651"
metric_crs_override: str = os.environ.get("GEO_METRIC_CRS", "")


@contextmanager
def restoring_metric_crs() -> Iterator[None]:
    """Put :data:`metric_crs` back as it was when the block ends (a build sets it for
    its city; the next build, or a caller in the same process, gets its own)."""
    global metric_crs
    saved = metric_crs
    try:
        yield
    finally:
        metric_crs = saved

#: Network: off unless ``geo build --online`` (or GEO_ONLINE=1).  osmnx paces OSM
#: requests itself (Overpass slots, 1 s before each uncached Nominatim request).
use_network: bool = os.environ.get("GEO_ONLINE", "") == "1"
cache_folder: Path = Path(os.environ.get("GEO_CACHE", root / "data" / "cache"))

#: Fuzzy-match threshold (0..1) for gazetteer names.
fuzzy_threshold: float = 0.86

#: Coastal buffer (km) within which offshore features count as inside the city.
coastal_buffer_km: float = 25.0

#: Default base map of the web map: "" (天地图 when TIANDITU_KEY is set, else OSM),
#: "tianditu" (needs the key) or "osm"; the page's layer switcher offers the others.
basemap: str = os.environ.get("GEO_BASEMAP", "")
tianditu_key: str = os.environ.get("TIANDITU_KEY", "")

#: Online sources (``geo build --online``): which to ask, in order after the gazetteer;
#: a TCP check of each source's hosts first, failing after this many seconds.
online_sources: tuple[str, ...] = tuple(
    s for s in os.environ.get("GEO_SOURCES", "osm,tianditu").split(",") if s)
reachability_timeout: float = 2.0
requests_timeout: float = 30.0
user_agent: str = "geo-report-map (maps the projects of Chinese government work reports)"
tianditu_pause: float = 0.5
tianditu_geocoder: bool = True

#: Gating: a candidate goes on the map automatically only when its score is at
#: least ``accept_score``, its category fits the project's kind, it lies in the
#: county the text names (if any) and no other candidate scores within ``tie_margin``.
accept_score: float = 0.9
tie_margin: float = 0.05

#: Folders searched for a city's data files named after the city
#: (``<城市名>_gazetteer.csv``, ``_districts.geojson``, ``_reference.csv``,
#: ``_decisions.csv``), after the entries of ``city_data``.
data_folders: list[Path] = list(dict.fromkeys([root / "data" / "raw", _seed_folder()]))


def city_files(city: str) -> dict[str, Path]:
    """The data files of ``city``: its ``city_data`` entry, else files named after it.

    A file ``<城市名>_<kind>.<ext>`` (or without 市: ``临江_gazetteer.csv``) in one of
    ``data_folders`` is found without any code change; kinds are ``gazetteer``
    (.csv), ``districts`` (.geojson), ``reference`` (.csv), ``stations`` (.csv, station
    coordinates lines are drawn through), ``decisions`` (.csv) and
    ``neighbours`` (.geojson, the other cities' land, scripts/make_neighbours.py).
    """
    found = dict(city_data.get(city, {}))
    short = city[:-1] if city.endswith("市") and len(city) > 2 else city
    for kind, ext in (("gazetteer", "csv"), ("districts", "geojson"), ("reference", "csv"),
                      ("stations", "csv"), ("decisions", "csv"), ("neighbours", "geojson")):
        if kind in found:
            continue
        for folder in data_folders:
            hits = [Path(folder) / f"{stem}_{kind}.{ext}" for stem in dict.fromkeys((city, short))]
            hit = next((h for h in hits if h.is_file()), None)
            if hit is not None:
                found[kind] = hit
                break
    if "decisions" not in found and "gazetteer" in found:  # beside the gazetteer
        found["decisions"] = Path(found["gazetteer"]).with_name(
            Path(found["gazetteer"]).name.replace("_gazetteer.csv", "_decisions.csv"))
    return found


def canonical_city(city: str) -> str:
    """The name the data uses for ``city``: 宁波 and 宁波市 both give 宁波市 when the
    data (``city_data`` or files in ``data_folders``) knows it under the full name; an
    administrative code (330200) gives the prefecture's name (cnmaps)."""
    if len(city) == 6 and city.isascii() and city.isdigit():
        from .districts import city_of_adcode

        city = city_of_adcode(city)
    forms = [city] if city.endswith("市") else [city, city + "市"]
    for form in forms:
        if form in city_data or any(
                (Path(folder) / f"{form}_{kind}").is_file() for folder in data_folders
                for kind in ("gazetteer.csv", "districts.geojson")):
            return form
    return city

