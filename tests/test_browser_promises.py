"""The promise tracker in real headless Chromium: scorecard, outcome filter, timeline popup.

The page is the Quzhou-style test series (tests/data/series) built in a temp folder.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

pytest.importorskip("playwright")
pytest.importorskip("cnmaps")
from conftest import DATA  # noqa: E402
from test_browser import ORIGIN, Session, browser  # noqa: E402,F401

SERIES = [DATA / "series" / f"quzhou_{y}.txt" for y in (2022, 2023, 2024)]


@pytest.fixture(scope="module")
def series_site(tmp_path_factory) -> dict[str, bytes]:
    from geo import settings
    from geo.series import build_series

    old = settings.basemap, settings.tianditu_key
    settings.basemap, settings.tianditu_key = "osm", ""
    try:
        root = tmp_path_factory.mktemp("series")
        result = build_series(SERIES, city="衢州市", name="qz", root=root)
    finally:
        settings.basemap, settings.tianditu_key = old
    import pandas as pd

    promises = pd.read_csv(result.paths["promises"])
    return {"qz.html": result.paths["map"].read_bytes(), "_promises": promises}


def test_scorecard_outcome_filter_and_timeline_popup(browser, series_site):  # noqa: F811
    promises = series_site["_promises"]
    site = {k: v for k, v in series_site.items() if not k.startswith("_")}
    session = Session(browser, site)
    try:
        page = session.open("qz.html")
        # scorecard: the city-wide row counts every promise by outcome
        city = page.locator(".gm-scorecard tbody tr").first
        for outcome, count in promises["outcome"].value_counts().items():
            assert city.locator(f"td[data-outcome='{outcome}']").inner_text() == str(count)
        # outcome filter: exactly the projects with a promise still in progress remain
        page.select_option("#gm-f-outcome", "in_progress")
        pids = page.eval_on_selector_all("li:not([hidden]) > button.gm-item", "b => b.map(x => x.dataset.pid)")
        expected = set(promises.loc[promises["outcome"] == "in_progress", "project_id"])
        assert len(expected) >= 2 and set(pids) == expected
        page.select_option("#gm-f-outcome", "")
        # timeline popup: 市第四人民医院 (unlocated: details open in the list)
        page.fill("#gm-q", "市第四人民医院")
        row = page.locator("li:not([hidden]) > button.gm-item").first
        timeline = row.locator(".gm-item-timeline").inner_text()
        assert timeline.startswith("2021：前期") and "2024 目标：建成" in timeline
        row.click()
        detail = page.locator(".gm-detail .gm-popup")
        detail.wait_for()
        text = detail.inner_text()
        assert "2023：主体结顶" in text and "2024 目标：建成" in text
        assert "2022 开工 → 如期兑现" in text and "待下年报告" in text
        assert "建成/投用" not in text  # a 2024 target is never shown as completed
        session.shot("series_scorecard.png")
        session.check_clean()
    finally:
        session.close()
