"""Tests of the web map renderer (pure Python: HTML content, safety, determinism, size).

The browser behaviour is tested in tests/test_browser.py with real Chromium.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from geo import resources, schema, settings, webmap, webmap_assets

XSS_NAME = '<script>window.__pwned=1</script>轨道交通'
XSS_EN = '"><img src=x onerror="window.__pwned=2">'
XSS_SOURCE = "javascript:window.__pwned=3"
XSS_QUOTE = ("推进<img src=x onerror=window.__pwned=4>轨道交通建设\u2028"
             "</script><script>window.__pwned=5</script>加快建设。")


def _square(x: float, y: float, size: float = 0.1) -> Polygon:
    return Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


def make_districts() -> gpd.GeoDataFrame:
    """Two square districts near Ningbo."""
    return gpd.GeoDataFrame(
        {"adcode": ["330201", "330202"], "name": ["甲区", "乙区"], "area_km2": [111.5, 98.25]},
        geometry=[_square(121.4, 29.8), _square(121.5, 29.8)], crs="EPSG:4326")


def _project(pid: str, name: str, kind: str, status: str, geom, **extra) -> dict:
    info = resources.status_info(status)
    row = {c: "" for c in schema.PROJECTS}
    row.update({"project_id": pid, "name": name, "name_en": "", "kind": kind,
                "theme": resources.theme_of_kind()[kind], "status": status,
                "status_label_zh": info["zh"], "status_label_en": info["en"],
                "status_year": 2024, "status_phrase": "加快建设", "part": "tasks",
                "section": "三", "section_title": "（三）建设现代化基础设施",
                "geometry_type": "" if geom is None else geom.geom_type,
                "precision": "approximate" if geom is not None else "",
                "source": "gazetteer", "match_rule": "exact", "districts": "甲区",
                "n_mentions": 1, "length_km": None, "area_km2": None, "geometry": geom})
    row.update(extra)
    return row


def make_projects() -> gpd.GeoDataFrame:
    """Five located projects (line, points, polygon, XSS line) and one unlocated."""
    rows = [
        _project("P-0000000001", "宁波至象山市域铁路", "intercity_rail", "under_construction",
                 LineString([(121.41, 29.81), (121.58, 29.87)]), name_en="Ningbo-Xiangshan rail",
                 districts="甲区;乙区", length_km=17.2, source="https://www.openstreetmap.org/way/1"),
        _project("P-0000000002", "市第一医院新院区", "hospital", "completed",
                 Point(121.45, 29.85), part="review", status_year=2023, status_phrase="建成投用"),
        _project("P-0000000003", "三江口公园", "park", "planning",
                 _square(121.52, 29.83, 0.02), districts="乙区", area_km2=3.9,
                 status_phrase="谋划"),
        _project("P-0000000004", "梅山港区码头", "port_terminal", "started", Point(121.55, 29.88),
                 districts="乙区", status_phrase="开工"),
        _project("P-0000000005", "环城南路快速路", "road", "planning", None, districts="",
                 status_phrase="前期"),
        _project("P-0000000006", XSS_NAME, "metro", "under_construction",
                 LineString([(121.42, 29.84), (121.47, 29.89)]), name_en=XSS_EN,
                 source=XSS_SOURCE),
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")[
        schema.PROJECTS + ["geometry"]]


def make_mentions(projects: gpd.GeoDataFrame) -> pd.DataFrame:
    """One mention per project (two for the first), with status offsets into the text."""
    rows, offset = [], 0
    for _, p in projects.iterrows():
        names = [p["name"]] * (2 if p["project_id"] == "P-0000000001" else 1)
        for name in names:
            if p["project_id"] == "P-0000000006":
                quote = XSS_QUOTE
            else:
                quote = f"推进{name}{p['status_phrase']}，确保按期完成。"
            phrase = p["status_phrase"] if p["project_id"] != "P-0000000006" else "加快建设"
            qpos = quote.index(phrase)
            rows.append({
                "mention_id": f"M{len(rows) + 1:04d}", "project_id": p["project_id"],
                "name": name, "kind": p["kind"], "status": p["status"],
                "status_phrase": phrase, "part": p["part"], "section": p["section"],
                "section_title": p["section_title"], "lead": "", "quote": quote,
                "start": offset + 2, "end": offset + 2 + len(name), "year": p["status_year"],
                "section_id": "2.3", "quote_start": offset, "status_start": offset + qpos,
                "status_end": offset + qpos + len(phrase)})
            offset += len(quote) + 1
    return pd.DataFrame(rows)


def make_summary(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """District summary rows plus 全市 and 未定位 (no geometry)."""
    rows = [
        {"district": "甲区", "adcode": "330201", "area_km2": 111.5, "n_projects": 3,
         "n_completed": 1, "n_under_construction": 2, "n_transit": 2, "rail_km_total": 8.6,
         "per_100km2": 2.6906, "projects": "宁波至象山市域铁路;市第一医院新院区"},
        {"district": "乙区", "adcode": "330202", "area_km2": 98.25, "n_projects": 3,
         "n_completed": 0, "n_under_construction": 1, "n_transit": 1, "rail_km_total": 8.6,
         "per_100km2": 3.0534, "projects": "三江口公园;梅山港区码头"},
        {"district": "全市", "adcode": "330200", "area_km2": 209.75, "n_projects": 6,
         "n_completed": 1, "n_under_construction": 2, "n_transit": 2, "rail_km_total": 17.2,
         "per_100km2": 2.8605, "projects": ""},
        {"district": "未定位", "adcode": "", "area_km2": None, "n_projects": 1,
         "n_completed": 0, "n_under_construction": 0, "n_transit": 0, "rail_km_total": 0.0,
         "per_100km2": None, "projects": "环城南路快速路"},
    ]
    geoms = list(districts.geometry) + [None, None]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def fixture_inputs() -> dict:
    """Keyword arguments of render_map for the synthetic fixture."""
    districts = make_districts()
    projects = make_projects()
    return {"projects": projects, "mentions": make_mentions(projects),
            "summary": make_summary(districts), "districts": districts,
            "meta": {"name": "testcity_2024", "city": "测试市", "report_year": 2024,
                     "title": "测试市2024年政府工作报告项目地图 <b>&</b>",
                     "report_path": "data/raw/test.txt"},
            "downloads": {"GeoJSON": "testcity_2024.geojson", "CSV": "projects.csv",
                          "数据字典 Data dictionary": "../data/dictionary.md",
                          "GeoPackage": "https://example.org/layers/testcity_2024.gpkg",
                          "bad": "javascript:alert(1)"}}


@pytest.fixture()
def osm(monkeypatch):
    monkeypatch.setattr(settings, "basemap", "osm")
    monkeypatch.setattr(settings, "tianditu_key", "")


def _render(tmp_path: Path, **overrides) -> str:
    kwargs = fixture_inputs()
    kwargs.update(overrides)
    path = webmap.render_map(tmp_path / "map.html", **kwargs)
    return path.read_text("utf-8")


def _data_document(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="geomap-data">(.*?)</script>', page,
                      re.DOTALL)
    assert match, "data document missing"
    return json.loads(match.group(1))


# ------------------------------------------------------------------ tests


def test_no_cdn_and_only_tile_hosts(tmp_path, osm):
    page = _render(tmp_path)
    urls = set(re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page))
    external = {u for u in urls if re.match(r"^(https?:)?//", u)}
    # only the attribution/copyright links of the tile provider remain as hrefs
    allowed = {"https://www.openstreetmap.org/copyright", "https://leafletjs.com"}
    assert external <= allowed, external
    for host in ("jsdelivr", "jquery", "bootstrapcdn", "cdnjs", "unpkg", "fontawesome"):
        assert host not in page
    assert "<link" not in page
    assert "L.AwesomeMarkers" not in page and "$(document)" not in page


def test_vendored_leaflet_is_verified_and_inlined(tmp_path, osm):
    page = _render(tmp_path)
    info = webmap_assets.package_info("leaflet")
    assert info["version"] == "1.9.4"
    lock = json.loads(Path("package-lock.json").read_text())
    assert lock["packages"]["node_modules/leaflet"]["version"] == info["version"]
    for name, digest in info["files"].items():
        data = Path("geo/resources/vendor/leaflet", name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
    assert "Leaflet 1.9.4" in page
    assert "sourceMappingURL" not in page
    assert "url(images/" not in page and "url(data:image/png;base64," in page


def test_tampered_vendor_file_is_refused(monkeypatch):
    webmap_assets.vendor_bytes.cache_clear()
    monkeypatch.setattr(webmap_assets, "_resource_bytes", lambda *parts: b"tampered")
    with pytest.raises(webmap_assets.AssetError, match="sha256"):
        webmap_assets.vendor_bytes("leaflet", "leaflet.js")
    webmap_assets.vendor_bytes.cache_clear()


def test_deterministic_output(tmp_path, osm):
    first = _render(tmp_path)
    second = webmap.build_map(**fixture_inputs())
    assert first == second
    assert not re.search(r"[0-9a-f]{32}", first), "random uuid-style ids remain"


def test_xss_strings_never_raw(tmp_path, osm):
    page = _render(tmp_path)
    # the dangerous strings appear only escaped, inside the JSON data document
    assert "<script>window.__pwned" not in page
    assert "<img src=x" not in page
    assert "\u2028" not in page and "\u2029" not in page
    assert "javascript:" not in page.replace("javascript:window.__pwned=3", "")\
        .replace("javascript:alert(1)", "")
    doc = _data_document(page)
    names = [p["name"] for p in doc["projects"]]
    assert XSS_NAME in names
    # the title is escaped in <title> and the bad download is not a URL
    assert "<title>测试市2024年政府工作报告项目地图 &lt;b&gt;&amp;&lt;/b&gt;</title>" in page
    bad = [d for d in doc["downloads"] if d["label"] == "bad"][0]
    assert bad["url"] == ""
    dictionary = [d for d in doc["downloads"] if d["label"].startswith("数据字典")][0]
    assert dictionary["url"] == "../data/dictionary.md"
    for bad_url in ("javascript:alert(1)", "//evil.example/x", "data:text/html,x",
                    "JAVASCRIPT:x", " javascript:x", "vbscript:x", "https://a b"):
        assert webmap._safe_url(bad_url) is None, bad_url


def test_json_for_html_escapes():
    text = webmap.json_for_html({"a": "</script><!--&\u2028\u2029"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><!--&\u2028\u2029"}


def test_csp_hashes_every_inline_script(tmp_path, osm):
    page = _render(tmp_path)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp
    policy = csp.group(1).replace("&#x27;", "'")
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "img-src data: https://tile.openstreetmap.org;" in policy
    scripts = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) >= 4
    import base64
    for body in scripts:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy


def test_layers_per_theme_and_planning(tmp_path, osm):
    page = _render(tmp_path)
    doc = _data_document(page)
    assert webmap.located_count(fixture_inputs()["projects"]) == 5
    keys = list(webmap.iter_layer_keys(fixture_inputs()["projects"]))
    assert keys == ["planning", "port", "public", "transit"]
    theme = {t["id"]: t for t in resources.themes()}
    planning = resources.status_info("planning")
    names = [f"{theme[k]['zh']} {theme[k]['en']}" for k in ("transit", "port", "public")]
    names += [f"{planning['zh']}（各类） {planning['en']} (all themes)"]
    control = page[page.index("overlays :"):page.index("L.control.layers(")]
    found = re.findall(r'"((?:[^"\\]|\\.)*)" : geo_json_\d+', control)
    decoded = [json.loads(f'"{n}"').replace("&amp;", "&") for n in found]
    assert decoded == ["区县边界 District boundaries"] + names
    # the styles the JS applies are the packaged ones
    assert doc["style"]["statuses"] == [
        {k: (float(s[k]) if k == "opacity" else [float(d) for d in s[k]] if k == "dash"
             else s[k]) for k in ("code", "zh", "en", "color", "dash", "opacity")}
        for s in resources.statuses()]
    assert sum(p["located"] for p in doc["projects"]) == 5
    unlocated = [p for p in doc["projects"] if not p["located"]]
    assert [p["name"] for p in unlocated] == ["环城南路快速路"]


def test_features_are_in_the_page_once(tmp_path, osm):
    """Every feature is parsed once, from the data document (JSON.parse), and
    added by GEOMAP.start in short steps: folium's script holds no geometry, so
    the page does not carry (or parse) any feature twice; the map script itself
    runs after the first frame."""
    page = _render(tmp_path)
    doc = _data_document(page)
    layers = doc["geometry"]["layers"]
    assert sorted(layers) == sorted(webmap.iter_layer_keys(fixture_inputs()["projects"]))
    indices = [f["properties"]["i"] for features in layers.values() for f in features]
    assert len(indices) == len(set(indices)) == 5
    assert all(doc["projects"][i]["located"] for i in indices)
    assert doc["geometry"]["districts"], "district outlines missing"
    main = page[page.rindex("<script>"):]
    assert '"coordinates"' not in main
    assert main.count("GEOMAP.afterPaint(function () {") == 1
    script = main[len("<script>"):main.index("</script>")].strip()
    assert script.startswith("GEOMAP.afterPaint(function () {") and script.endswith("}, 0);\n});")


def test_coordinates_rounded(tmp_path, osm):
    inputs = fixture_inputs()
    inputs["projects"].loc[1, "geometry"] = Point(121.456789123, 29.851234567)
    page = _render(tmp_path, projects=inputs["projects"])
    assert "121.45679" in page and "121.456789" not in page


def test_mentions_highlight_offsets(tmp_path, osm):
    doc = _data_document(_render(tmp_path))
    first = [p for p in doc["projects"] if p["id"] == "P-0000000001"][0]
    assert len(first["mentions"]) == 2
    for m in first["mentions"]:
        start, end = m["hl"]
        assert m["quote"][start:end] == "加快建设"
    xss = [p for p in doc["projects"] if p["id"] == "P-0000000006"][0]
    start, end = xss["mentions"][0]["hl"]
    assert xss["mentions"][0]["quote"][start:end] == "加快建设"


def test_summary_cells_match_csv(tmp_path, osm):
    inputs = fixture_inputs()
    summary = inputs["summary"]
    from geo.io import write_csv
    csv_path = write_csv(tmp_path / "district_summary.csv",
                         pd.DataFrame(summary.drop(columns="geometry")))
    expected = list(csv.DictReader(io.StringIO(csv_path.read_text("utf-8"))))
    doc = _data_document(_render(tmp_path))
    columns = doc["summary"]["columns"]
    got = [dict(zip(columns, r["cells"], strict=True)) for r in doc["summary"]["rows"]]
    assert got == expected
    assert got[0]["per_100km2"] == "2.691"


def test_embed_variant(tmp_path, osm):
    page = _render(tmp_path, embed=True)
    assert '<body class="geomap-embed">' in page
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    full = _render(tmp_path)
    assert '<body class="geomap-full">' in full
    # the two variants differ only by the body's class (one rendering serves both)
    assert full.replace("geomap-full", "geomap-embed", 1) == page


def test_render_maps_writes_both_variants_from_one_rendering(tmp_path, osm):
    full, embed = webmap.render_maps(tmp_path / "a.html", tmp_path / "a_embed.html",
                                     **fixture_inputs())
    assert '<body class="geomap-full">' in full.read_text("utf-8")
    assert '<body class="geomap-embed">' in embed.read_text("utf-8")


def test_basemaps(monkeypatch):
    assert [m["id"] for m in webmap.basemaps("", "")] == ["osm"]
    assert [m["id"] for m in webmap.basemaps("", "abc123")] == ["tianditu", "osm"]
    assert [m["id"] for m in webmap.basemaps("osm", "abc123")] == ["osm", "tianditu"]
    assert [m["id"] for m in webmap.basemaps("tianditu", "abc123")] == ["tianditu", "osm"]
    with pytest.raises(webmap.BasemapError, match="unofficial"):
        webmap.basemaps("gaode", "")
    with pytest.raises(webmap.BasemapError, match="TIANDITU_KEY"):
        webmap.basemaps("tianditu", "")
    with pytest.raises(webmap.BasemapError, match="unknown"):
        webmap.basemaps("google", "")
    with pytest.raises(webmap.BasemapError):
        webmap.basemaps("osm", 'x"><script>')


def test_osm_comes_from_xyzservices_and_says_it_has_no_review_number():
    import xyzservices.providers as providers
    osm = webmap.basemaps("", "")[0]
    assert osm["urls"] == [providers.OpenStreetMap.Mapnik.url]
    assert "无审图号" in osm["attr"] and "OpenStreetMap" in osm["attr"]


def test_tianditu_layers(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "basemap", "")
    monkeypatch.setattr(settings, "tianditu_key", "abc123")
    page = _render(tmp_path)
    assert "tianditu.gov.cn/vec_w/wmts" in page and "tianditu.gov.cn/cva_w/wmts" in page
    assert "tk=abc123" in page and "审图号" not in webmap.tianditu("abc123")["name"]
    assert "GS(" in webmap.tianditu("abc123")["attr"]
    assert "img-src data: https://*.tianditu.gov.cn https://tile.openstreetmap.org;" in page
    assert "autonavi" not in page


GAZETTEER = Path(__file__).resolve().parent.parent / "data" / "raw" / "ningbo_gazetteer.csv"
DISTRICTS = Path(__file__).resolve().parent.parent / "data" / "raw" / "ningbo_districts.geojson"


def ningbo_like_inputs() -> dict:
    """Every Ningbo gazetteer row as a project, over the real district boundaries.

    Until the pipeline exists this is the closest to the real map: real
    geometries (lines, multi-lines, polygons, points) and boundaries.
    Statuses cycle through the lifecycle; every fifth project is unlocated.
    """
    from shapely import wkt

    table = pd.read_csv(GAZETTEER, dtype=str).fillna("")
    districts = gpd.read_file(DISTRICTS)
    statuses = list(schema.STATUSES)
    rows = []
    for index, rec in table.iterrows():
        geom = None if index % 5 == 4 else wkt.loads(rec["wkt"])
        rows.append(_project(f"P-{index:010d}", rec["name"], rec["kind"],
                             statuses[index % len(statuses)], geom, name_en=rec["name_en"],
                             districts=rec["district"], precision=rec["precision"],
                             source=rec["source"]))
    projects = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    counts = projects.groupby("districts").size()
    summary_rows = [{"district": d["name"], "adcode": d["adcode"],
                     "n_projects": int(counts.get(d["name"], 0))} for _, d in districts.iterrows()]
    summary = gpd.GeoDataFrame(summary_rows, geometry=list(districts.geometry), crs="EPSG:4326")
    return {"projects": projects, "mentions": make_mentions(projects), "summary": summary,
            "districts": districts,
            "meta": {"name": "ningbo_2024", "city": "宁波市", "report_year": 2024,
                     "title": "宁波市2024年政府工作报告项目地图", "report_path": str(GAZETTEER)}}


def test_ningbo_like_map_size(tmp_path, osm):
    if not GAZETTEER.exists() or not DISTRICTS.exists():
        pytest.skip("Ningbo gazetteer or districts not present")
    inputs = ningbo_like_inputs()
    path = webmap.render_map(tmp_path / "ningbo.html", **inputs)
    assert path.stat().st_size <= 1_500_000
    assert webmap.located_count(inputs["projects"]) > 30


def _qml_ranges(qml: str) -> tuple[list[float], list[str]]:
    """Class edges and fill colours of a graduated QML renderer."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(qml.split("\n", 1)[1] if qml.startswith("<!DOCTYPE") else qml)
    ranges = root.findall(".//renderer-v2/ranges/range")
    edges = [float(ranges[0].get("lower"))] + [float(r.get("upper")) for r in ranges]
    colours = []
    for r in ranges:
        symbol = root.find(f".//renderer-v2/symbols/symbol[@name='{r.get('symbol')}']")
        layer = symbol.find("layer")
        option = layer.find(".//Option[@name='color']")
        value = option.get("value") if option is not None else \
            layer.find("prop[@k='color']").get("v")
        r_, g_, b_ = (int(x) for x in value.split(",")[:3])
        colours.append(f"#{r_:02x}{g_:02x}{b_:02x}")
    return edges, colours


def test_choropleth_breaks_exclude_the_city_row(tmp_path, osm):
    from geo import choropleth
    inputs = fixture_inputs()
    summary = inputs["summary"].copy()
    summary.loc[summary["district"] == "全市", "n_projects"] = 82  # far above any district
    doc = _data_document(_render(tmp_path, summary=summary))
    breaks = doc["classes"]["n_projects"]["breaks"]
    assert max(breaks) == 3 and 82 not in breaks
    assert choropleth.district_values(summary, "n_projects") == [3.0, 3.0]
    # ten districts, five classes: two districts in each
    edges = choropleth.class_breaks([3, 4, 5, 6, 8, 9, 12, 15, 20, 22])
    counts = [0] * (len(edges) - 1)
    for v in (3, 4, 5, 6, 8, 9, 12, 15, 20, 22):
        counts[choropleth.class_index(v, edges)] += 1
    assert counts == [2, 2, 2, 2, 2]


def test_web_map_and_qgis_style_share_breaks_and_colours():
    """The committed Ningbo map and GeoPackage: one classification, one palette."""
    import sqlite3
    root = Path(__file__).resolve().parent.parent
    page = (root / "maps" / "ningbo_2024.html").read_text("utf-8")
    web = _data_document(page)["classes"]["per_100km2"]
    with sqlite3.connect(root / "layers" / "ningbo_2024.gpkg") as db:
        qml, sld = db.execute("SELECT styleQML, styleSLD FROM layer_styles "
                              "WHERE f_table_name = 'district_summary'").fetchone()
    edges, colours = _qml_ranges(qml)
    assert edges == pytest.approx(web["breaks"]) and colours == web["colours"]
    assert all(c.lower() in sld.lower() for c in web["colours"])
    summary = pd.read_csv(root / "data" / "processed" / "ningbo_2024" / "district_summary.csv")
    districts = summary[~summary["district"].str.startswith(("全市", "未定位"))]
    assert web["breaks"][-1] == pytest.approx(districts["per_100km2"].max())
    assert web["breaks"][0] == pytest.approx(districts["per_100km2"].min())


# --------------------------------------------------------------------------- status colours

def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _over(colour: str, land: str, alpha: float) -> tuple[float, float, float]:
    """``colour`` drawn at ``alpha`` over ``land``, in linear RGB."""
    return tuple(alpha * _linear(c) + (1 - alpha) * _linear(b)
                 for c, b in zip(_rgb(colour), _rgb(land), strict=True))  # type: ignore


def _luminance(rgb: tuple[float, float, float]) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)))
    return (lb + 0.05) / (la + 0.05)


#: Machado, Oliveira & Fernandes (2009), severity 1.0, linear RGB
DEUTERANOPIA = ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
                (-0.011820, 0.042940, 0.968881))
PROTANOPIA = ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
              (-0.003882, -0.048116, 1.051998))


def _simulate(rgb, matrix):
    return tuple(min(1.0, max(0.0, sum(m * v for m, v in zip(row, rgb, strict=True))))
                 for row in matrix)


def _lab(rgb) -> tuple[float, float, float]:
    r, g, b = rgb
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_status_colours_contrast_with_every_base_map():
    lands = {b["id"]: b["land"] for b in resources.load("basemaps")["basemaps"]}
    assert set(lands) >= {"osm", "tianditu"}
    for status in resources.statuses():
        for name, land in lands.items():
            drawn = _over(status["color"], land, status["opacity"])
            ratio = _contrast(drawn, _over(land, land, 1.0))
            assert ratio >= 3.0, (status["code"], name, round(ratio, 2))


def test_status_colours_stay_apart_for_colour_blind_readers():
    import itertools
    import math
    land = resources.load("basemaps")["basemaps"][0]["land"]
    drawn = {s["code"]: _over(s["color"], land, s["opacity"]) for s in resources.statuses()}
    for matrix in (DEUTERANOPIA, PROTANOPIA):
        for (a, ca), (b, cb) in itertools.combinations(drawn.items(), 2):
            delta = math.dist(_lab(_simulate(ca, matrix)), _lab(_simulate(cb, matrix)))
            assert delta >= 20, (a, b, round(delta, 1))
    # the redundant cue: no two statuses share a dash pattern
    dashes = [tuple(s["dash"]) for s in resources.statuses()]
    assert len(set(dashes)) == len(dashes)
    # railways and parks (and every theme) have their own marker shape
    markers = [t["marker"] for t in resources.themes()]
    assert len(set(markers)) == len(markers)
