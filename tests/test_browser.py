"""The web map in real headless Chromium (tests of record for the page's behaviour).

Every request is routed: the page itself is served from memory at
http://geomap.test/, tile requests get a tiny PNG, and anything else is
recorded and aborted - the tests assert that nothing else was asked for.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import base64
import csv
import importlib
import importlib.util
import io
import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

from geo import resources, settings, webmap
from geo.io import write_csv

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TILE_HOSTS = ("tile.openstreetmap.org", ".tianditu.gov.cn", ".is.autonavi.com")
ORIGIN = "http://geomap.test/"
#: a 1x1 light-grey PNG served for every tile
TILE_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGN48eIxAAVvArQo67LyAAAAAElFTkSuQmCC")
ARTIFACTS = Path(__file__).parent / "artifacts"

if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
if importlib.util.find_spec("playwright") is None:
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402
from test_webmap import XSS_NAME, fixture_inputs, ningbo_like_inputs  # noqa: E402

HOST_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<style>html,body{margin:0;padding:0}iframe{border:0;display:block}</style></head>
<body><iframe id="frame" src="embed.html" width="400" height="300" title="map"></iframe>
</body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, bytes]:
    """The pages served at http://geomap.test/: full map, embed, iframe host."""
    old = settings.basemap, settings.tianditu_key
    settings.basemap, settings.tianditu_key = "osm", ""
    try:
        folder = tmp_path_factory.mktemp("site")
        webmap.render_map(folder / "map.html", **fixture_inputs())
        webmap.render_map(folder / "embed.html", embed=True, **fixture_inputs())
        webmap.render_map(folder / "ningbo.html", **ningbo_like_inputs())
    finally:
        settings.basemap, settings.tianditu_key = old
    pages = {p.name: p.read_bytes() for p in folder.glob("*.html")}
    pages["host.html"] = HOST_PAGE.encode()
    return pages


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Session:
    """A page whose every request is routed and whose console and dialogs are recorded."""

    def __init__(self, browser, site: dict[str, bytes], viewport=(1200, 800),
                 **options) -> None:
        self.context = browser.new_context(viewport={"width": viewport[0],
                                                     "height": viewport[1]}, **options)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.stray: list[str] = []
        self.tiles = 0
        self.dialogs: list[str] = []
        self.site = site
        self.context.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("dialog", self._dialog)

    def _route(self, route) -> None:
        url = route.request.url
        host = urlparse(url).hostname
        if url.startswith(ORIGIN) and url[len(ORIGIN):] in self.site:
            route.fulfill(body=self.site[url[len(ORIGIN):]],
                          content_type="text/html; charset=utf-8")
        elif host and any(host == h or (h.startswith(".") and host.endswith(h))
                          for h in TILE_HOSTS):
            self.tiles += 1
            route.fulfill(body=TILE_PNG, content_type="image/png")
        else:
            self.stray.append(url)
            route.abort()

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, name: str):
        self.page.goto(ORIGIN + name)
        self.page.wait_for_function("() => window.__geoList === true")
        return self.page

    def check_clean(self) -> None:
        assert self.errors == []
        assert self.stray == [], f"requests to hosts other than the tile server: {self.stray}"
        assert self.dialogs == []
        assert self.page.evaluate("typeof window.__pwned") == "undefined"

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name))

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def session(browser, site):
    s = Session(browser, site)
    yield s
    s.close()


def _located(inputs: dict) -> list[str]:
    return sorted(p for p, g in zip(inputs["projects"]["project_id"],
                                    inputs["projects"].geometry, strict=True) if g is not None)


def test_full_page_draws_every_located_project(session):
    page = session.open("map.html")
    inputs = fixture_inputs()
    drawn = page.evaluate("GEOMAP.drawnIds()")
    assert sorted(drawn) == _located(inputs)
    # the DOM agrees: one SVG path or marker icon per (single-part) feature
    assert page.locator(".geomap-feature").count() == len(_located(inputs))
    # district boundaries are drawn beneath, in their own pane
    assert page.locator(".leaflet-geomap-districts-pane path").count() == 2
    # unlocated projects are listed and marked
    unlocated = page.locator(".gm-unlocated")
    assert unlocated.count() == 1
    assert "未上图" in unlocated.inner_text()
    assert session.tiles > 0
    session.shot("map_full.png")
    session.check_clean()


def test_list_row_flies_to_feature_and_opens_its_popup(session):
    page = session.open("map.html")
    page.locator("button.gm-item[data-pid='P-0000000001']").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator(".gm-popup-title").inner_text() == "宁波至象山市域铁路"
    assert popup.locator(".gm-popup-en").inner_text() == "Ningbo-Xiangshan rail"
    assert popup.locator("mark").first.inner_text() == "加快建设"
    assert popup.locator(".gm-mentions li").count() == 2
    assert "Under construction" in popup.inner_text() and "在建" in popup.inner_text()
    # the report sentence comes before the provenance, which is folded
    order = popup.evaluate("n => [...n.querySelectorAll('.gm-quote, .gm-prov')]"
                           ".map(e => e.className)")
    assert order[0] == "gm-quote" and order[-1] == "gm-prov"
    assert popup.locator(".gm-prov").get_attribute("open") is None
    link = popup.locator("a[href='https://www.openstreetmap.org/way/1']")
    assert link.count() == 1 and link.get_attribute("rel") == "noopener noreferrer"
    # keyboard: the point project's row is a button reachable with Enter
    page.locator("button.gm-item[data-pid='P-0000000004']").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => { const t = document.querySelector('.gm-popup-title');"
                           " return t && t.textContent === '梅山港区码头'; }")
    session.shot("map_popup.png")
    session.check_clean()


def test_xss_fixture_renders_as_text_and_runs_nothing(session):
    page = session.open("map.html")
    row = page.locator("button.gm-item[data-pid='P-0000000006']")
    assert row.locator(".gm-item-name").inner_text() == XSS_NAME
    row.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator(".gm-popup-title").inner_text() == XSS_NAME
    assert popup.locator("img").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    popup.locator(".gm-prov summary").click()  # provenance is folded behind 来源
    assert "javascript:window.__pwned=3" in popup.inner_text()  # shown as text, not a link
    quote = popup.locator(".gm-quote").inner_text()
    assert "<img src=x onerror=window.__pwned=4>" in quote
    assert page.title().endswith("<b>&</b>")
    # tooltips show the name as text too
    page.evaluate("GEOMAP.context().map.closePopup()")
    page.evaluate("""() => { const ctx = GEOMAP.context();
        ctx.groups.transit.eachLayer(l => { if (l.feature.properties.i !== undefined)
            l.openTooltip(); }); }""")
    assert XSS_NAME in page.locator(".leaflet-tooltip").first.inner_text() or \
        XSS_NAME in page.locator(".leaflet-tooltip").last.inner_text()
    assert page.locator(".leaflet-tooltip img").count() == 0
    session.check_clean()


def test_legend_layer_control_search_and_language(session):
    page = session.open("map.html")
    # legend: one line sample per status with the packaged colour and dashes
    items = page.locator(".gm-legend-status li")
    statuses = resources.statuses()
    assert items.count() == len(statuses)
    for index, status in enumerate(statuses):
        line = items.nth(index).locator("line")
        assert line.get_attribute("stroke") == status["color"]
        dash = line.get_attribute("stroke-dasharray")
        assert (dash is None) == (not status["dash"])
        assert status["zh"] in items.nth(index).inner_text()
        assert status["en"] in items.nth(index).inner_text()
    page.locator(".gm-legend-toggle").click()
    assert page.locator("#gm-legend-body").is_hidden()
    page.locator(".gm-legend-toggle").click()
    assert page.locator("#gm-legend-body").is_visible()
    # layer control: switching the planning overlay off hides planning projects only
    page.locator(".leaflet-control-layers").hover()
    labels = page.locator(".leaflet-control-layers-overlays label")
    names = [labels.nth(i).inner_text().strip() for i in range(labels.count())]
    assert any("Planning (all themes)" in n for n in names)
    assert any("District summary" in n for n in names)
    session.shot("map_layers.png")
    planning = labels.filter(has_text="Planning (all themes)").locator("input")
    planning.uncheck()
    drawn = page.evaluate("GEOMAP.drawnIds()")
    assert "P-0000000003" not in drawn and len(drawn) == 4
    planning.check()
    page.mouse.move(600, 700)
    # search filters the list and the map
    page.locator("#gm-q").fill("公园")
    assert page.locator("#gm-list .gm-row:not([hidden])").count() == 1
    assert page.evaluate("GEOMAP.drawnIds()") == ["P-0000000003"]
    page.locator("#gm-reset").click()
    page.locator("#gm-f-status").select_option("under_construction")
    assert page.locator("#gm-list .gm-row:not([hidden])").count() == 2
    page.locator("#gm-reset").click()
    assert len(page.evaluate("GEOMAP.drawnIds()")) == 5
    # language switch
    page.locator("#gm-lang").click()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("#gm-lang").inner_text() == "中文"
    assert page.locator("#gm-count").inner_text().startswith("Showing 6 of 6 projects")
    assert "Not on the map" in page.locator(".gm-unlocated").inner_text()
    overlays = page.locator(".leaflet-control-layers-overlays label")
    english = [overlays.nth(i).inner_text().strip() for i in range(overlays.count())]
    assert "Planning (all themes)" in english and not any("前期" in n for n in english)
    session.shot("map_english.png")
    page.locator("#gm-lang").click()
    assert page.locator("#gm-count").inner_text().startswith("显示")
    again = [overlays.nth(i).inner_text().strip() for i in range(overlays.count())]
    assert again == names
    session.check_clean()


def test_district_choropleth_popup_matches_summary_csv(session, tmp_path):
    inputs = fixture_inputs()
    csv_path = write_csv(tmp_path / "district_summary.csv",
                         pd.DataFrame(inputs["summary"].drop(columns="geometry")))
    expected = list(csv.DictReader(io.StringIO(csv_path.read_text("utf-8"))))
    page = session.open("map.html")
    page.locator(".leaflet-control-layers").hover()
    page.locator(".leaflet-control-layers-overlays label").filter(
        has_text="District summary").locator("input").check()
    page.mouse.move(600, 700)
    assert page.locator(".geomap-choro").count() == 2
    assert page.locator("#gm-metric").count() == 1
    for index in range(2):
        page.evaluate("GEOMAP.context().map.closePopup()")
        page.locator(".gm-district-popup").wait_for(state="detached")
        page.evaluate("i => { const layers = GEOMAP.choropleth().getLayers();"
                      " layers[i].openPopup(); }", index)
        rows = page.locator(".gm-district-popup tr")
        cells = {rows.nth(i).get_attribute("data-col"): rows.nth(i).locator("td").inner_text()
                 for i in range(rows.count())}
        want = {k: v.strip() for k, v in expected[index].items()}
        # every shown cell equals the CSV; only zero or empty rows are left out
        assert {k: v.strip() for k, v in cells.items()} == \
            {k: v for k, v in want.items() if k in cells}
        left_out = [k for k in want if k not in cells]
        assert all(want[k] in ("", "0", "0.000") for k in left_out), left_out
        assert "district" in cells and "n_projects" in cells
    page.locator("#gm-metric").select_option("per_100km2")
    fills = page.evaluate("GEOMAP.choropleth().getLayers().map(l => l.options.fillColor)")
    assert fills[0] != fills[1]
    session.shot("map_choropleth.png")
    session.check_clean()


def test_embed_fits_a_400x300_iframe(browser, site):
    s = Session(browser, site, viewport=(400, 300))
    try:
        page = s.page
        page.goto(ORIGIN + "host.html")
        frame = page.frame_locator("#frame")
        frame.locator(".leaflet-container").wait_for()
        inner = page.frames[1]
        inner.wait_for_function("() => window.__geoList === true")
        fit = inner.evaluate("""() => { const d = document.documentElement;
            return {sw: d.scrollWidth, cw: d.clientWidth, sh: d.scrollHeight, ch: d.clientHeight,
                    w: innerWidth, h: innerHeight,
                    map: document.querySelector('.folium-map').getBoundingClientRect().toJSON(),
                    panel: getComputedStyle(document.getElementById('gm-panel')).display}; }""")
        assert (fit["w"], fit["h"]) == (400, 300)
        assert fit["sw"] <= fit["cw"] and fit["sh"] <= fit["ch"], fit
        assert fit["map"]["bottom"] <= 300 and fit["map"]["right"] <= 400
        assert fit["map"]["height"] >= 200, "the map keeps most of the frame"
        assert fit["panel"] == "none", "the list starts collapsed in the embed"
        outer = page.evaluate("""() => { const d = document.documentElement;
            return [d.scrollWidth <= d.clientWidth, d.scrollHeight <= d.clientHeight]; }""")
        assert outer == [True, True]
        assert sorted(inner.evaluate("GEOMAP.drawnIds()")) == _located(fixture_inputs())
        s.shot("embed_400x300.png")
        frame.locator("#gm-panel-toggle").click()
        assert frame.locator("#gm-panel").is_visible()
        frame.locator("button.gm-item[data-pid='P-0000000002']").click()
        frame.locator(".leaflet-popup-content").wait_for()
        assert frame.locator("#gm-panel").is_hidden(), "choosing a row reveals the map"
        s.shot("embed_popup.png")
        s.check_clean()
    finally:
        s.close()


def test_phone_layout_has_collapsible_list(browser, site):
    s = Session(browser, site, viewport=(375, 667))
    try:
        page = s.open("map.html")
        toggle = page.locator("#gm-panel-toggle")
        assert page.locator("#gm-panel").is_hidden()
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()
        assert page.locator("#gm-panel").is_visible()
        assert toggle.get_attribute("aria-expanded") == "true"
        s.shot("phone_list.png")
        s.check_clean()
    finally:
        s.close()


def test_ningbo_like_map(session, site):
    """Real Ningbo boundaries and gazetteer geometries (multi-part lines, polygons)."""
    # the gazetteer may change while tests run: compare with the page's own data
    located = sorted(p["id"] for p in _data(site["ningbo.html"])["projects"] if p["located"])
    assert len(located) > 30
    page = session.open("ningbo.html")
    assert session.errors == []
    assert sorted(page.evaluate("GEOMAP.drawnIds()")) == located
    assert page.locator(".leaflet-geomap-districts-pane path").count() == 10
    assert len(site["ningbo.html"]) <= 1_500_000
    session.shot("ningbo_like_full.png")
    page.locator("#gm-f-theme").select_option("transit")
    page.locator("#gm-list .gm-row:not(.gm-unlocated):not([hidden]) button").first.click()
    page.locator(".leaflet-popup-content").wait_for()
    session.shot("ningbo_like_popup.png")
    session.check_clean()


def test_base_map_switches_in_the_page(browser, tmp_path, monkeypatch):
    """With a key: 天地图 by default, OpenStreetMap one click away (no rebuild)."""
    monkeypatch.setattr(settings, "basemap", "")
    monkeypatch.setattr(settings, "tianditu_key", "abc123")
    page_bytes = webmap.render_map(tmp_path / "m.html", **fixture_inputs()).read_bytes()
    s = Session(browser, {"map.html": page_bytes})
    try:
        page = s.open("map.html")
        page.wait_for_timeout(300)
        hosts = page.evaluate("""() => performance.getEntriesByType('resource')
            .map(e => new URL(e.name).hostname)""")
        assert hosts and all(h.endswith("tianditu.gov.cn") for h in hosts), hosts
        assert "GS(" in page.locator(".leaflet-control-attribution").inner_text()
        page.locator(".leaflet-control-layers").hover()
        page.locator(".leaflet-control-layers-base label").filter(
            has_text="OpenStreetMap").locator("input").check()
        page.wait_for_timeout(300)
        hosts = page.evaluate("""() => performance.getEntriesByType('resource')
            .map(e => new URL(e.name).hostname)""")
        assert any(h == "tile.openstreetmap.org" for h in hosts)
        assert "无审图号" in page.locator(".leaflet-control-attribution").inner_text()
        assert len(page.evaluate("GEOMAP.drawnIds()")) == 5
        s.check_clean()
    finally:
        s.close()


def _data(page: bytes) -> dict:
    """The data document embedded in a rendered page."""
    text = page.decode("utf-8")
    return json.loads(text.split('<script type="application/json" id="geomap-data">', 1)[1]
                      .split("</script>", 1)[0])


def _pipeline_build():
    if importlib.util.find_spec("geo.pipeline") is None:
        return None
    return getattr(importlib.import_module("geo.pipeline"), "build", None)


def test_real_ningbo_map(browser, tmp_path):
    """The map the pipeline builds for the Ningbo report: drawn count, requests, size,
    and district popups equal to district_summary.csv."""
    build = _pipeline_build()
    if build is None:
        pytest.skip("geo.pipeline.build does not exist yet")
    result = build(root=tmp_path)
    html_path, embed_path = Path(result.paths["map"]), Path(result.paths["embed"])
    data = _data(html_path.read_bytes())
    located = sorted(p["id"] for p in data["projects"] if p["located"])
    assert html_path.stat().st_size <= 1_500_000
    expected = {row["district"]: row for row in csv.DictReader(
        io.StringIO(Path(result.paths["summary"]).read_text("utf-8")))}
    s = Session(browser, {"map.html": html_path.read_bytes(),
                          "embed.html": embed_path.read_bytes(), "host.html": HOST_PAGE.encode()})
    try:
        page = s.open("map.html")
        assert sorted(page.evaluate("GEOMAP.drawnIds()")) == located
        s.shot("ningbo_full.png")
        popups = page.evaluate("""() => GEOMAP.choropleth().getLayers().map(l => {
            const node = l.getPopup()._content(l);
            return Array.from(node.querySelectorAll('tr')).map(
                tr => [tr.dataset.col, tr.querySelector('td').textContent]); })""")
        assert len(popups) == len([k for k in expected if not k.startswith(("全市", "未定位"))])
        for cells in popups:
            got = dict(cells)
            want = expected[got["district"]]
            assert got == {k: v for k, v in want.items() if k in got}
            assert all(want[k] in ("", "0", "0.000") for k in want if k not in got)
            assert len(got) < len(want)  # the zero rows are left out
        # a line drawn through partly cited stations says so in its popup
        partly = result.stages.projects[
            result.stages.projects["cited_vertices"].str.match(r"^\d+/\d+$")
            & (result.stages.projects["cited_vertices"].str.split("/").str[0]
               != result.stages.projects["cited_vertices"].str.split("/").str[1])]
        assert len(partly), "some metro line of the report is only partly cited"
        pid, cited = partly.iloc[0]["project_id"], partly.iloc[0]["cited_vertices"]
        page.locator(f"button.gm-item[data-pid='{pid}']").click()
        popup = page.locator(".leaflet-popup-content")
        popup.locator(".gm-prov summary").click()
        assert f"{cited} 个站点坐标有出处" in popup.inner_text()
        s.check_clean()
        page.goto(ORIGIN + "host.html")
        inner = page.frames[1]
        inner.wait_for_function("() => window.__geoList === true")
        assert sorted(inner.evaluate("GEOMAP.drawnIds()")) == located
        s.shot("ningbo_embed_400x300.png")
        s.check_clean()
    finally:
        s.close()


# --------------------------------------------------------------------------
# Phones and news pages: popups that fit, gestures that leave the page alone
# --------------------------------------------------------------------------

#: host pages with the embed in an iframe of the given CSS width and height
FRAMES = {"400x300": ("400", "300"), "640x480": ("640", "480"), "100%x480": ("100%", "480")}


def _host(src: str, width: str, height: str, article: bool = False) -> bytes:
    """A news-article-like host page with the map in an iframe."""
    filler = "<p>" + "新闻正文。" * 400 + "</p>" if article else ""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>html,body{{margin:0}}'
            f'iframe{{border:0;display:block}}</style></head><body>'
            f'<iframe id="frame" src="{src}" width="{width}" height="{height}" title="map">'
            f'</iframe>{filler}{filler}</body></html>').encode()


POPUP_CHECK = """() => {
  const ctx = GEOMAP.context(), map = ctx.map, bad = [];
  const box = map.getContainer().getBoundingClientRect();
  const ids = Object.keys(GEOMAP.featureIds());
  for (const id of ids) {
    map.closePopup();
    GEOMAP.showPopup(id);
    const all = document.querySelectorAll('.leaflet-popup');  // the last one is new;
    const pop = all[all.length - 1];                          // others are fading out
    const wrap = pop.querySelector('.leaflet-popup-content-wrapper');
    const close = pop.querySelector('.leaflet-popup-close-button');
    const content = pop.querySelector('.leaflet-popup-content');
    const title = content.querySelector('.gm-popup-title');
    const quote = content.querySelector('.gm-quote');
    const r = wrap.getBoundingClientRect(), c = close.getBoundingClientRect();
    const cr = content.getBoundingClientRect();
    const inside = (a) => a.left >= box.left - 0.5 && a.top >= box.top - 0.5 &&
                          a.right <= box.right + 0.5 && a.bottom <= box.bottom + 0.5;
    const hit = (x, y, node) => { const e = document.elementFromPoint(x, y);
                                  return !!e && (e === node || node.contains(e)); };
    const problems = [];
    if (!inside(r)) { problems.push('popup outside the map ' + JSON.stringify(r)); }
    if (!inside(c) || !hit(c.left + c.width / 2, c.top + c.height / 2, close)) {
      problems.push('close control hidden'); }
    const tr = title.getBoundingClientRect();
    if (!hit(tr.left + 3, tr.top + tr.height / 2, title)) { problems.push('title covered'); }
    if (quote) {
      const q = quote.getBoundingClientRect();
      if (content.scrollTop !== 0 || q.top < cr.top || q.top + 16 > Math.min(cr.bottom, box.bottom)) {
        problems.push('sentence below the fold ' + (q.top - cr.top)); }
    }
    if (problems.length) { bad.push([id, problems]); }
  }
  map.closePopup();
  return {n: ids.length, bad: bad};
}"""


def _check_popups(frame) -> None:
    result = frame.evaluate(POPUP_CHECK)
    assert result["n"] > 0
    assert result["bad"] == [], result["bad"][:5]


@pytest.mark.parametrize("page_name", ["map.html", "ningbo.html"])
def test_every_popup_fits_a_phone(browser, site, page_name):
    s = Session(browser, site, viewport=(390, 844), has_touch=True, is_mobile=True,
                reduced_motion="reduce")
    try:
        page = s.open(page_name)
        _check_popups(page)
        page.evaluate("GEOMAP.showPopup(Object.keys(GEOMAP.featureIds())[0])")
        s.shot(f"phone_popup_{page_name.split('.')[0]}.png")
        s.check_clean()
    finally:
        s.close()


@pytest.mark.parametrize("size", list(FRAMES))
def test_every_popup_fits_an_iframe(browser, site, size):
    pages = dict(site)
    pages["host.html"] = _host("ningbo_embed.html", *FRAMES[size])
    pages["ningbo_embed.html"] = site["ningbo.html"].replace(
        b"<body>", b'<body class="geomap-embed">', 1) if b'<body class="geomap-full">' \
        not in site["ningbo.html"] else site["ningbo.html"].replace(
        b'<body class="geomap-full">', b'<body class="geomap-embed">', 1)
    s = Session(browser, pages, viewport=(1000, 700), reduced_motion="reduce")
    try:
        s.page.goto(ORIGIN + "host.html")
        inner = s.page.frames[1]
        inner.wait_for_function("() => window.__geoList === true")
        _check_popups(inner)
        s.check_clean()
    finally:
        s.close()


def _embed_session(browser, site, **options) -> tuple[Session, object]:
    pages = dict(site)
    pages["host.html"] = _host("embed.html", "640", "480", article=True)
    s = Session(browser, pages, viewport=(800, 600), **options)
    s.page.goto(ORIGIN + "host.html")
    inner = s.page.frames[1]
    inner.wait_for_function("() => window.__geoList === true")
    return s, inner


def test_wheel_over_the_embed_scrolls_the_host_page(browser, site):
    s, inner = _embed_session(browser, site)
    try:
        page = s.page
        zoom = inner.evaluate("GEOMAP.context().map.getZoom()")
        page.mouse.move(320, 240)
        for _ in range(5):
            page.mouse.wheel(0, 120)
            page.wait_for_timeout(60)
        page.wait_for_timeout(300)
        assert page.evaluate("window.scrollY") > 0, "the article scrolls"
        assert inner.evaluate("GEOMAP.context().map.getZoom()") == zoom, "the map does not zoom"
        assert inner.locator(".gm-hint.gm-on").count() == 1
        assert "Ctrl" in inner.locator(".gm-hint").inner_text()
        s.shot("embed_wheel_hint.png")
        # Ctrl + wheel zooms the map, and so does the wheel once the map was clicked
        page.evaluate("window.scrollTo(0, 0)")
        page.mouse.move(320, 240)
        page.keyboard.down("Control")
        page.mouse.wheel(0, -120)
        page.keyboard.up("Control")
        inner.wait_for_function(f"() => GEOMAP.context().map.getZoom() === {zoom + 1}")
        s.check_clean()
    finally:
        s.close()


def _touch(cdp, kind: str, points: list[tuple[float, float]]) -> None:
    cdp.send("Input.dispatchTouchEvent", {
        "type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in
                                      enumerate(points)]})


def test_one_finger_scrolls_the_page_two_fingers_pan(browser, site):
    s, inner = _embed_session(browser, site, has_touch=True, is_mobile=True)
    try:
        page = s.page
        centre = inner.evaluate("JSON.stringify(GEOMAP.context().map.getCenter())")
        cdp = s.context.new_cdp_session(page)
        _touch(cdp, "touchStart", [(320, 300)])
        for step in range(1, 11):
            _touch(cdp, "touchMove", [(320, 300 - 20 * step)])
            page.wait_for_timeout(16)
        _touch(cdp, "touchEnd", [])
        page.wait_for_timeout(300)
        assert page.evaluate("window.scrollY") > 100, "one finger scrolls the article"
        assert inner.evaluate("JSON.stringify(GEOMAP.context().map.getCenter())") == centre
        assert "双指" in inner.locator(".gm-hint").inner_text()
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(100)
        _touch(cdp, "touchStart", [(250, 200), (350, 260)])
        for step in range(1, 9):
            _touch(cdp, "touchMove", [(250 - 12 * step, 200 - 6 * step),
                                      (350 - 12 * step, 260 - 6 * step)])
            page.wait_for_timeout(16)
        _touch(cdp, "touchEnd", [])
        page.wait_for_timeout(300)
        assert inner.evaluate("JSON.stringify(GEOMAP.context().map.getCenter())") != centre, \
            "two fingers pan the map"
        s.check_clean()
    finally:
        s.close()


OVERLAP = """() => {
  const boxes = [...document.querySelectorAll('.geomap-pt svg')].map(n => n.getBoundingClientRect())
    .filter(r => r.width > 0);
  let n = 0;
  boxes.forEach((a, i) => { if (boxes.some((b, j) => j !== i && a.left < b.right &&
      b.left < a.right && a.top < b.bottom && b.top < a.bottom)) { n += 1; } });
  return [n, boxes.length, GEOMAP.context().map.getZoom()];
}"""


def test_markers_overlap_little_at_the_start_zoom(browser, site):
    s = Session(browser, site, viewport=(390, 844), has_touch=True, is_mobile=True)
    try:
        page = s.open("ningbo.html")
        overlapping, total, zoom = page.evaluate(OVERLAP)
        page.evaluate("GEOMAP.context().map.getContainer().classList.remove('gm-small-markers')")
        before, _, _ = page.evaluate(OVERLAP)  # full-size markers at the same zoom
        print(f"overlapping markers at zoom {zoom}: {overlapping}/{total} (full size {before})")
        assert total > 10
        assert overlapping <= before * 0.7, (overlapping, before, total, zoom)
        page.evaluate("GEOMAP.context().map.setZoom(13, {animate: false})")
        assert page.evaluate("document.querySelector('.gm-small-markers')") is None
        s.check_clean()
    finally:
        s.close()


# Types a search the moment the map says it is ready (the list's first screenful
# built, the rest still to come in later tasks).
TYPE_AT_READY = """(() => {
  let ready;
  Object.defineProperty(window, '__geoReady', {configurable: true, get() { return ready; },
    set(v) {
      ready = v;
      if (v !== true) { return; }
      window.__rowsAtReady = document.querySelectorAll('#gm-list .gm-row').length;
      const q = document.getElementById('gm-q');
      q.value = '桥'; q.dispatchEvent(new Event('input'));
    }});
})();"""


def test_rows_built_after_ready_obey_a_search_typed_meanwhile(browser):
    """The list is built lazily (first screenful before ready, the rest after):
    rows added after a search was typed are filtered like the others."""
    page_bytes = (Path(__file__).resolve().parents[1] / "maps" / "ningbo_2024.html").read_bytes()
    projects = _data(page_bytes)["projects"]
    s = Session(browser, {"map.html": page_bytes})
    try:
        s.context.add_init_script(TYPE_AT_READY)
        page = s.open("map.html")
        assert 0 < page.evaluate("window.__rowsAtReady") < len(projects)
        rows = page.evaluate("[...document.querySelectorAll('#gm-list .gm-row')].map("
                             "li => [li.hidden, li.querySelector('.gm-item').dataset.pid])")
        assert len(rows) == len(projects)
        want = {p["id"] for p in projects
                if "桥" in f"{p['name']} {p['name_en']} {' '.join(p['districts'])}"}
        assert want and {pid for hidden, pid in rows if not hidden} == want
        count = page.locator("#gm-count").inner_text()
        assert str(len(want)) in count
        s.check_clean()
    finally:
        s.close()


def test_english_mode_names_districts_in_english(browser):
    """English mode shows the districts' English names from the build's table
    (list rows, the district filter, district popups); search finds them too."""
    page_bytes = (Path(__file__).resolve().parents[1] / "maps" / "ningbo_2024.html").read_bytes()
    data = _data(page_bytes)
    names_en = data["district_en"]
    assert names_en.get("海曙区") == "Haishu District"
    s = Session(browser, {"map.html": page_bytes})
    try:
        page = s.open("map.html")
        page.evaluate("GEOMAP.setLang('en')")
        labels = page.locator("#gm-f-district option").all_inner_texts()
        assert "Haishu District" in labels and "海曙区" not in labels
        with_district = next(p for p in data["projects"] if p["districts"])
        meta = page.locator(f'.gm-item[data-pid="{with_district["id"]}"] .gm-item-meta').first
        assert names_en[with_district["districts"][0]] in meta.inner_text()
        title = page.evaluate("""() => { const l = GEOMAP.choropleth().getLayers()[0];
            return l.getPopup()._content(l).querySelector('.gm-popup-title').textContent; }""")
        assert title in names_en.values()
        page.locator("#gm-q").fill("haishu")
        shown = page.evaluate("[...document.querySelectorAll('#gm-list .gm-row')]"
                              ".filter(li => !li.hidden).length")
        assert shown == sum("海曙区" in p["districts"] or "haishu" in (p["name_en"] or "").lower()
                            for p in data["projects"]) > 0
        # timelines label years and targets in English; the phrases stay the report's
        target = next(p for p in data["projects"] if " 目标：" in (p["status_phrase"] or ""))
        row = page.locator(f'.gm-item[data-pid="{target["id"]}"] .gm-item-timeline').first
        assert " target: " in row.inner_text() and "目标" not in row.inner_text()
        # the title and subtitle name the city in English (the city under its own key)
        assert page.locator("#gm-title").inner_text().startswith("Ningbo 2024 ")
        assert page.locator("#gm-subtitle").inner_text() == "Ningbo · 2024"
        page.evaluate("GEOMAP.setLang('zh')")
        assert "海曙区" in page.locator("#gm-f-district option").all_inner_texts()
        assert page.locator("#gm-title").inner_text() == data["meta"]["title"]
        s.check_clean()
    finally:
        s.close()
