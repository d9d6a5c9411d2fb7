"""The fixture city 临江市, built online on recorded answers, in real headless Chromium:
every project the sources located is drawn, and the map credits OSM (ODbL) and 天地图."""

from __future__ import annotations

import pytest

pytest.importorskip("osmnx")

from anycity_build import build_fixture  # noqa: E402
from test_browser import ARTIFACTS, Session, browser  # noqa: E402,F401 - fixture re-used

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def linjiang_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("linjiang_browser")
    result, _ = build_fixture(root, tmp_path_factory.mktemp("cache"))
    return result, {"map.html": result.paths["map"].read_bytes()}


def test_fixture_city_projects_on_the_map(browser, linjiang_site):  # noqa: F811
    result, site = linjiang_site
    session = Session(browser, site)
    try:
        page = session.open("map.html")
        active = result.stages.active_projects
        located = sorted(active.loc[active.geometry.notna(), "project_id"])
        drawn = page.evaluate("GEOMAP.drawnIds()")
        assert sorted(drawn) == located
        online = set(active.loc[active["match_rule"].str.contains("_auto|_accepted"),
                                "project_id"])
        assert {"P-52340fff25", "P-90bda31665", "P-8457492cd9", "P-7bd275afa5"} <= online
        assert online <= set(drawn)
        attribution = page.locator(".leaflet-control-attribution").inner_text()
        assert "ODbL" in attribution and "天地图" in attribution
        assert page.locator(".gm-unlocated").count() == len(active) - len(located)
        ARTIFACTS.mkdir(exist_ok=True)
        session.shot("anycity_linjiang.png")
        session.check_clean()
    finally:
        session.close()
