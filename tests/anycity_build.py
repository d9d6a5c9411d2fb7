"""Build the fixture city 临江市 (tests/data/anycity) online, on recorded answers only."""

from __future__ import annotations

from pathlib import Path

import pytest
import recorded

from geo import settings

DATA = Path(__file__).parent / "data" / "anycity"
REPORT = DATA / "linjiang_2025.txt"
CITY = "临江市"


def settings_for_fixture(mp: pytest.MonkeyPatch, cache: Path) -> None:
    """Point the data folders at the fixture, the caches at ``cache``, give a 天地图 key."""
    mp.setattr(settings, "data_folders", [DATA])
    mp.setattr(settings, "cache_folder", cache)
    mp.setattr(settings, "tianditu_key", "fixturekey0")
    mp.setattr(settings, "tianditu_pause", 0.0)
    mp.setattr(settings, "online_sources", ("osm", "tianditu"))
    mp.setattr(settings, "basemap", "osm")
    try:
        import osmnx as ox
    except ImportError:  # pragma: no cover - the online extra is a test dependency
        return
    for name in ("use_cache", "cache_folder", "requests_timeout", "overpass_rate_limit",
                 "http_user_agent", "http_referer", "http_accept_language", "log_console"):
        mp.setattr(ox.settings, name, getattr(ox.settings, name))


def build_fixture(root: Path, cache: Path, lines: list[str] | None = None):
    """Build 临江市 online from the recordings; return (BuildResult, URLs served)."""
    from geo.pipeline import build

    with pytest.MonkeyPatch.context() as mp:
        settings_for_fixture(mp, cache)
        served = recorded.install(mp)
        result = build(REPORT, city=CITY, name="linjiang_2025", root=root, online=True,
                       progress=(lines.append if lines is not None else (lambda s: None)))
    return result, served
