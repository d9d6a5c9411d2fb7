"""Settings in one place, read at call time (like ``osmnx.settings``).

Change them in code (``geo.settings.cache_folder = ...``) or through the
environment variables named beside each value.  Nothing here touches the
network; ``geo.online`` reads ``use_network`` and the rate limit.
"""

from __future__ import annotations

import os
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

#: Default build.
default_report: Path = root / "data" / "raw" / "ningbo_2024.txt"
default_city: str = "宁波市"
default_name: str = "ningbo_2024"

#: Per-city data: gazetteer, district boundaries and independent reference
#: coordinates for the gazetteer (optional), keyed by city name.
#: A city without an entry still builds (districts from cnmaps, rest unresolved).
city_data: dict[str, dict[str, Path]] = {
    "宁波市": {
        "gazetteer": root / "data" / "raw" / "ningbo_gazetteer.csv",
        "districts": root / "data" / "raw" / "ningbo_districts.geojson",
        "reference": root / "data" / "raw" / "ningbo_reference.csv",
    },
}

#: Output folders.
processed_folder: Path = root / "data" / "processed"
layers_folder: Path = root / "layers"
maps_folder: Path = root / "maps"

#: Projected CRS for lengths and areas around Ningbo (UTM 51N, metres).
metric_crs: str = "EPSG:32651"

#: Network: off unless ``geo build --online``; polite pause between requests (s).
use_network: bool = os.environ.get("GEO_ONLINE", "") == "1"
request_pause: float = 1.0
cache_folder: Path = Path(os.environ.get("GEO_CACHE", root / "data" / "cache"))

#: Fuzzy-match threshold (0..1) for gazetteer names.
fuzzy_threshold: float = 0.86

#: Coastal buffer (km) within which offshore features count as inside the city.
coastal_buffer_km: float = 25.0

#: Base map for the web map: "osm" (default), "tianditu" (needs key), "gaode".
basemap: str = os.environ.get("GEO_BASEMAP", "osm")
tianditu_key: str = os.environ.get("TIANDITU_KEY", "")
