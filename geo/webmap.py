"""Render the self-contained web map (Folium + vendored Leaflet, no CDN).

``render_map`` writes one HTML file that planners can open from disk and the
public can embed in an iframe.  Everything the page needs is inlined:

* Leaflet JS/CSS from ``geo/resources/vendor`` (npm-pinned, sha256-verified,
  see :mod:`geo.webmap_assets`); folium's default CDN links are removed.
* Our list/legend/filter/language code from ``geo/resources/web``.
* The data: project geometries in folium ``GeoJson`` layers (one per theme,
  plus a separate *planning* overlay), district boundaries beneath, and one
  JSON document with project details, mentions and the district summary.

The only requests a browser makes are base-map tiles; a Content-Security-
Policy listing the tile hosts and the sha256 of every inline script enforces
that (and blocks any injected inline handler as a second line of defence).
Report and gazetteer strings reach the page only as JSON inside
``<script type="application/json">`` (with ``<``, ``>``, ``&``, U+2028/2029
escaped) and are put into the DOM with ``textContent`` by our JS.

Element ids are numbered from a counter, so the same inputs give a
byte-identical file.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from folium.utilities import JsCode
from shapely.geometry import mapping

from . import choropleth, resources, settings
from . import webmap_assets as assets
from .claims import timeline_items
from .errors import BasemapError, GeoError
from .io import write_text

#: Decimal places kept in coordinates (5 decimals ≈ 1 m).
COORD_DECIMALS = 5
#: Tolerance (degrees, ≈ 50 m) for simplifying district polygons.
DISTRICT_TOLERANCE = 0.0005
#: Rows of the summary that are not districts.
CITY_ROW, UNLOCATED_ROW = "全市", "未定位"
#: Leaflet pane for district polygons (below the default overlay pane, 400).
DISTRICT_PANE = "geomap-districts"

_HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")



# ----------------------------------------------------------------------------
# Base maps
# ----------------------------------------------------------------------------

def _specs() -> dict[str, dict]:
    return {b["id"]: b for b in resources.load("basemaps")["basemaps"]}


def _host_pattern(url: str) -> str:
    """The CSP source of a tile URL template (``{s}`` subdomains become ``*``)."""
    host = re.match(r"^https://([^/]+)/", url)
    if not host:
        raise GeoError(f"tile URL {url!r} is not https", path="geo/resources/basemaps.json",
                       fix="use an https tile URL")
    return "https://" + re.sub(r"^[^.]*\{s\}[^.]*\.", "*.", host.group(1))


def _attribution(spec: dict, html_attr: str) -> str:
    """Attribution with the 审图号, or an honest note where the map has none."""
    review = spec.get("review_number") or ""
    note = review if review else html.escape(spec.get("china_note", ""))
    return f"{html_attr} {note}".strip()


def _xyz(spec: dict) -> dict:
    """A base map whose URL and attribution come from xyzservices."""
    import xyzservices.providers as providers
    provider = providers.query_name(spec["provider"])
    url = provider.url
    return {"id": spec["id"], "name": f"{spec['zh']} {spec['en']}" if spec["zh"] != spec["en"]
            else spec["zh"], "urls": [url], "subdomains": provider.get("subdomains", "abc"),
            "hosts": [_host_pattern(url)], "max_zoom": int(provider.get("max_zoom", 18)),
            "attr": _attribution(spec, provider.html_attribution), "land": spec["land"]}


def tianditu(key: str) -> dict:
    """Tianditu (天地图) vector base map plus its label layer, for a browser ``key``."""
    if not re.fullmatch(r"[0-9A-Za-z]+", key):
        raise BasemapError("the Tianditu key must be letters and digits only",
                           fix="copy the browser key from console.tianditu.gov.cn into "
                               "TIANDITU_KEY")
    spec = _specs()["tianditu"]
    urls = [spec["wmts"].replace("{layer}", layer).replace("{key}", key)
            for layer in spec["layers"]]
    return {"id": "tianditu", "name": f"{spec['zh']} {spec['en']}", "urls": urls,
            "subdomains": spec["subdomains"], "hosts": [_host_pattern(urls[0])],
            "max_zoom": spec["max_zoom"], "attr": _attribution(spec, spec["attr_html"]),
            "land": spec["land"]}


def basemaps(choice: str | None = None, key: str | None = None) -> list[dict]:
    """Return the base maps to offer in the page's layer switcher, default first.

    With a Tianditu key (``settings.tianditu_key``) both 天地图 and
    OpenStreetMap are offered and 天地图 is the default (``choice`` "osm"
    puts OSM first); without one only OSM, labelled as having no 审图号.
    Switching happens in the page, without a rebuild.
    """
    choice = (choice if choice is not None else settings.basemap).lower()
    key = key if key is not None else settings.tianditu_key
    if choice == "gaode":
        raise BasemapError("the keyless Gaode tile endpoint is unofficial and no longer offered",
                           fix="set TIANDITU_KEY for 天地图, or GEO_BASEMAP=osm")
    if choice not in ("", "osm", "tianditu"):
        raise BasemapError(f"unknown base map {choice!r}",
                           fix="set GEO_BASEMAP to tianditu or osm (or leave it unset)")
    if choice == "tianditu" and not key:
        raise BasemapError("the Tianditu base map needs a key",
                           fix="set TIANDITU_KEY (free at console.tianditu.gov.cn) or "
                               "GEO_BASEMAP=osm")
    osm = _xyz(_specs()["osm"])
    if not key:
        return [osm]
    return [osm, tianditu(key)] if choice == "osm" else [tianditu(key), osm]


def _with_data_attribution(spec: dict, lines: list[str]) -> dict:
    """The base map with the attribution of the online sources whose geometries are drawn
    (ODbL for OSM, 天地图's terms) appended, so it shows in the map's corner."""
    if not lines:
        return spec
    return {**spec, "attr": spec["attr"] + " | 数据 data: "
            + "; ".join(html.escape(line) for line in lines)}


def _add_basemaps(fmap: folium.Map, maps: list[dict]) -> list[Element]:
    """Add one base-layer group per base map (its tile layers inside); return them all."""
    added: list[Element] = []
    for index, spec in enumerate(maps):
        group = folium.FeatureGroup(name=spec["name"], overlay=False, show=index == 0)
        added.append(group.add_to(fmap))
        for url in spec["urls"]:
            added.append(folium.TileLayer(tiles=url, attr=spec["attr"],
                                          max_zoom=spec["max_zoom"],
                                          subdomains=spec["subdomains"],
                                          control=False).add_to(group))
    return added


# ----------------------------------------------------------------------------
# Geometry helpers
# ----------------------------------------------------------------------------

def _round_coords(value: Any, ndigits: int = COORD_DECIMALS) -> Any:
    if isinstance(value, float):
        return round(value, ndigits) + 0.0  # +0.0 turns -0.0 into 0.0
    if isinstance(value, (list, tuple)):
        return [_round_coords(v, ndigits) for v in value]
    return value


def _geojson_geometry(geom: Any) -> dict:
    return {k: _round_coords(v) for k, v in mapping(geom).items()}


def _is_located(geom: Any) -> bool:
    return geom is not None and not (isinstance(geom, float) and math.isnan(geom)) \
        and not geom.is_empty


# ----------------------------------------------------------------------------
# Data documents
# ----------------------------------------------------------------------------

def _clean(value: Any) -> Any:
    """Turn pandas/numpy scalars into JSON values (NaN/None -> None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    if isinstance(value, float):
        return round(value, 3)
    return value


def _text(value: Any) -> str:
    value = _clean(value)
    return "" if value is None else str(value)


def _split_districts(value: Any) -> list[str]:
    return [part.strip() for part in re.split(r"[;,、，/|；]", _text(value)) if part.strip()]


def _mention_record(row: pd.Series) -> dict:
    quote = _text(row.get("quote"))
    qs, ss, se = (int(_clean(row.get(c)) if _clean(row.get(c)) is not None else -1)
                  for c in ("quote_start", "status_start", "status_end"))
    start = end = -1
    if min(qs, ss, se) >= 0 and 0 <= ss - qs <= se - qs <= len(quote):
        start, end = ss - qs, se - qs
    return {"part": _text(row.get("part")), "section": _text(row.get("section")),
            "section_title": _text(row.get("section_title")),
            "year": _clean(row.get("year")), "quote": quote,
            "phrase": _text(row.get("status_phrase")), "hl": [start, end],
            "id": _text(row.get("mention_id"))}


def _mentions_by_project(mentions: pd.DataFrame) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    order = mentions.sort_values(["start", "mention_id"], kind="stable") \
        if {"start", "mention_id"} <= set(mentions.columns) else mentions
    for _, row in order.iterrows():
        out.setdefault(_text(row["project_id"]), []).append(_mention_record(row))
    return out


_PROJECT_FIELDS = ("name", "name_en", "kind", "theme", "status", "status_label_zh",
                   "status_label_en", "status_phrase", "part", "section", "section_title",
                   "geometry_type", "precision", "source", "match_rule", "cited_vertices")


def _project_record(row: pd.Series, located: bool, mentions: list[dict]) -> dict:
    record: dict[str, Any] = {"id": _text(row["project_id"])}
    record.update({field: _text(row.get(field)) for field in _PROJECT_FIELDS})
    # Public popups show the short source label and its link, never the research notes.
    record["source"] = " ".join(filter(None, (record["source"], _text(row.get("source_url")))))
    # the timeline's years and targets, so English mode labels them in English
    record["timeline"] = [[year, target, phrase] for year, target, phrase
                          in timeline_items(record["status_phrase"])]
    record.update({"year": _clean(row.get("status_year")),
                   "districts": _split_districts(row.get("districts")),
                   "n_mentions": _clean(row.get("n_mentions")),
                   "length_km": _clean(row.get("length_km")),
                   "area_km2": _clean(row.get("area_km2")),
                   "located": located, "mentions": mentions,
                   # promises and outcomes (geo.tracker), when the build passes them
                   "promises": list(row.get("promises")) if isinstance(
                       row.get("promises"), list) else []})
    return record


def _sorted_projects(projects: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Stable order: lifecycle status, then theme order, then name, then id."""
    status_rank = {s["code"]: i for i, s in enumerate(resources.statuses())}
    theme_rank = {t["id"]: i for i, t in enumerate(resources.themes())}
    keyed = projects.assign(
        _s=projects["status"].map(status_rank).fillna(99),
        _t=projects["theme"].map(theme_rank).fillna(99))
    keyed = keyed.sort_values(["_s", "_t", "name", "project_id"], kind="stable")
    return keyed.drop(columns=["_s", "_t"]).reset_index(drop=True)


def summary_cells(summary: pd.DataFrame) -> list[dict[str, str]]:
    """The summary table's cells exactly as ``geo.io.write_csv`` writes them.

    The map shows the same strings as district_summary.csv: the frame is
    serialised with the same float format and read back as text.
    """
    table = pd.DataFrame(summary.drop(columns="geometry", errors="ignore"))
    text = table.to_csv(index=False, lineterminator="\n", float_format="%.3f")
    return list(csv.DictReader(io.StringIO(text)))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _summary_document(summary: pd.DataFrame) -> dict:
    cells = summary_cells(summary)
    columns = [c for c in summary.columns if c != "geometry"]
    rows = [{"cells": [row[c] for c in columns], "name": row.get("district", ""),
             "role": _row_role(row.get("district", "")),
             "n_projects": _number(row.get("n_projects", "")),
             "per_100km2": _number(row.get("per_100km2", ""))} for row in cells]
    return {"columns": columns, "rows": rows}


def _row_role(name: str) -> str:
    """"city" for the 全市 row, "unlocated" for 未定位 (…), else "district"."""
    if name.startswith(CITY_ROW):
        return "city"
    if name.startswith(UNLOCATED_ROW):
        return "unlocated"
    return "district"


def _safe_url(url: str) -> str | None:
    """Return ``url`` if it is http(s) or a relative path without a scheme, else None.

    Relative paths may climb (``../layers/x.gpkg``) but cannot name a scheme
    (no ``:``) or another host (no leading ``//``).
    """
    url = url.strip()
    if re.match(r"^https?://[^\s<>\"']+$", url, re.IGNORECASE):
        return url
    if re.match(r"^[A-Za-z0-9_.][A-Za-z0-9_./%-]*$", url) and not url.startswith("//"):
        return url
    return None


def _downloads(downloads: dict[str, str] | None) -> list[dict]:
    return [{"label": str(label), "url": _safe_url(str(url)) or "", "raw": str(url)}
            for label, url in (downloads or {}).items()]


def _style_config() -> dict:
    statuses = [{k: s[k] for k in ("code", "zh", "en", "color", "dash", "opacity")}
                for s in resources.statuses()]
    themes = [{k: t[k] for k in ("id", "zh", "en", "color", "marker")}
              for t in resources.themes()]
    for item in statuses + themes:
        if not _HEX_COLOUR.match(item["color"]):
            raise GeoError(f"colour {item['color']!r} is not #RRGGBB",
                           path="geo/resources/statuses.json or themes.json",
                           fix="write colours as #RRGGBB")
    for item in statuses:
        item["dash"] = [float(d) for d in item["dash"]]
        item["opacity"] = float(item["opacity"])
    return {"statuses": statuses, "themes": themes, "kinds": resources.kind_labels()}


# ----------------------------------------------------------------------------
# Safe embedding
# ----------------------------------------------------------------------------

def _json_scalar(value: Any) -> Any:
    """JSON value of a pandas/numpy scalar that ``json`` does not know (``pd.NA`` → null)."""
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_for_html(value: Any) -> str:
    """Serialise ``value`` as JSON that is safe inside any HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c`` etc. (so ``</script>`` or
    ``<!--`` cannot appear) and U+2028/U+2029 are escaped (they end a line
    in older JS engines).  Keys are sorted for determinism.
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False, default=_json_scalar)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


class _Raw(Element):
    """An element that renders a fixed, already safe string."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _Script(MacroElement):
    """A script emitted after all folium layers (children render in order)."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code


class _OfflineMap(folium.Map):
    """A folium Map without folium's CDN JS/CSS (we inline Leaflet ourselves)."""

    default_js: list = []
    default_css: list = []


# ----------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------

def _feature_collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _project_features(projects: gpd.GeoDataFrame) -> dict[str, list[dict]]:
    """Located features grouped by layer key (theme id, or "planning")."""
    groups: dict[str, list[dict]] = {}
    for index, row in projects.iterrows():
        if not _is_located(row.geometry):
            continue
        key = "planning" if row["status"] == "planning" else _text(row["theme"]) or "other"
        geometry = _geojson_geometry(row.geometry)
        groups.setdefault(key, []).append(
            {"type": "Feature", "properties": {"i": int(index)}, "geometry": geometry})
    return groups


def _district_features(summary: gpd.GeoDataFrame,
                       districts: gpd.GeoDataFrame) -> list[dict]:
    """District polygons (simplified, rounded) with the index of their summary row."""
    rows = summary.reset_index(drop=True)
    geoms = rows.geometry if "geometry" in rows else gpd.GeoSeries([None] * len(rows))
    features = []
    for index, geom in enumerate(geoms):
        if not _is_located(geom):
            geom = _district_geometry(districts, rows.iloc[index])
        if not _is_located(geom):
            continue
        geom = shapely.simplify(geom, DISTRICT_TOLERANCE, preserve_topology=True)
        geometry = _geojson_geometry(geom)
        features.append({"type": "Feature", "properties": {"d": index}, "geometry": geometry})
    return features


def _district_geometry(districts: gpd.GeoDataFrame, row: pd.Series) -> Any:
    """Fallback: the boundary of the summary row's district from ``districts``."""
    if districts is None or districts.empty or "name" not in districts:
        return None
    match = districts[districts["name"] == row.get("district")]
    return None if match.empty else match.geometry.iloc[0]


def _layer_name(zh: str, en: str) -> str:
    return html.escape(f"{zh} {en}")


def _add_districts(fmap: folium.Map, features: list[dict]) -> folium.GeoJson | None:
    """An empty boundary layer: its features are in the page's data document
    (``geometry.districts``) and are added by ``GEOMAP.start`` in a task of their own."""
    if not features:
        return None
    layer = folium.GeoJson(
        _feature_collection([]), name=_layer_name("区县边界", "District boundaries"),
        on_each_feature=JsCode("GEOMAP.onDistrict"), style=JsCode("GEOMAP.boundaryStyle"),
        pane=DISTRICT_PANE, interactive=False)
    layer.add_to(fmap)
    return layer


def _add_project_layers(fmap: folium.Map, groups: dict[str, list[dict]]) -> dict[str, Any]:
    """One empty folium layer per theme (and planning), in the layer switcher.

    The features are not in folium's script: they are in the data document
    (``geometry.layers``, parsed once by ``JSON.parse``) and ``GEOMAP.start`` adds
    them layer by layer, each in its own task, so no single task blocks the page.
    """
    order = [(t["id"], t["zh"], t["en"]) for t in resources.themes()]
    planning = resources.status_info("planning")
    order.append(("planning", f"{planning['zh']}（各类）", f"{planning['en']} (all themes)"))
    layers = {}
    for key, zh, en in order:
        if key not in groups:
            continue
        layer = folium.GeoJson(
            _feature_collection([]), name=_layer_name(zh, en),
            on_each_feature=JsCode("GEOMAP.onFeature"), style=JsCode("GEOMAP.featureStyle"),
            point_to_layer=JsCode("GEOMAP.pointToLayer"))
        layers[key] = layer.add_to(fmap)
    return layers


def _bounds(projects: gpd.GeoDataFrame, districts: list[dict]) -> list[list[float]] | None:
    geoms = [shapely.geometry.shape(f["geometry"]) for f in districts]
    if not geoms:
        geoms = [g for g in projects.geometry if _is_located(g)]
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.GeometryCollection(geoms).bounds
    return [[round(miny, 5), round(minx, 5)], [round(maxy, 5), round(maxx, 5)]]


# ----------------------------------------------------------------------------
# Page assembly
# ----------------------------------------------------------------------------

def _stable_names(page: str, elements: list[Element]) -> str:
    """Replace folium's random element names in ``page`` by numbered ones.

    folium names every element ``<kind>_<random hex>`` (``get_name()``); the
    page must be byte-identical from run to run, so each element we created
    is renamed ``<kind>_<NNNN>`` in creation order.
    """
    for index, element in enumerate(elements):
        name = element.get_name()
        page = page.replace(name, f"{name.rsplit('_', 1)[0]}_{index:04d}")
    return page


def _title(meta: dict) -> str:
    return _text(meta.get("title")) or f"{_text(meta.get('city'))}政府工作报告项目地图"


def _document(projects: gpd.GeoDataFrame, mentions: pd.DataFrame, summary: pd.DataFrame,
              meta: dict, downloads: dict[str, str] | None, maps: list[dict],
              geometry: dict | None = None) -> dict:
    by_project = _mentions_by_project(mentions)
    records = [_project_record(row, _is_located(row.geometry),
                               by_project.get(_text(row["project_id"]), []))
               for _, row in projects.iterrows()]
    name = _text(meta.get("name"))
    return {"meta": {"title": _title(meta), "city": _text(meta.get("city")),
                     "report_year": _clean(meta.get("report_year")), "name": name,
                     "full_page": f"{name}.html" if _SAFE_NAME.match(name) else ""},
            "style": _style_config(), "projects": records,
            # promises by outcome, city-wide and per district (geo.tracker.scorecard)
            "scorecard": [{k: _clean(v) for k, v in r.items()}
                          for r in meta.get("scorecard") or []],
            "summary": _summary_document(summary), "downloads": _downloads(downloads),
            "classes": {m: choropleth.classification(summary, m) for m in choropleth.METRICS},
            "basemap": maps[0]["id"],
            "district_en": _district_names_en(_text(meta.get("city"))),
            # features of the map's layers, once: {"layers": {key: [...]}, "districts": [...]}
            "geometry": geometry or {"layers": {}, "districts": []}}


def _district_names_en(city: str) -> dict[str, str]:
    """English names of the city's districts (resource data; empty for other cities)."""
    table = resources.load("district_names_en").get(city, {})
    return {zh: en for zh, en in sorted(table.items()) if isinstance(en, str)}


def _head_elements(doc: dict) -> list[str]:
    title = html.escape(doc["meta"]["title"])
    return [
        f"<title>{title}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="strict-origin-when-cross-origin">',
        f"<style>{assets.script_safe(assets.leaflet_css())}</style>",
        f"<style>{assets.script_safe(assets.web_text('app.css'))}</style>",
        f"<script>{assets.script_safe(assets.leaflet_js())}</script>",
        f'<script type="application/json" id="geomap-data">{json_for_html(doc)}</script>',
        f"<script>{assets.script_safe(assets.web_text('i18n.js'))}</script>",
        f"<script>{assets.script_safe(assets.web_text('app.js'))}</script>",
    ]


def _start_code(fmap: folium.Map, control: folium.LayerControl,
                boundaries: folium.GeoJson | None, layers: dict[str, Any]) -> str:
    groups = ", ".join(f"{json.dumps(k)}: {v.get_name()}" for k, v in layers.items())
    bound = boundaries.get_name() if boundaries is not None else "null"
    # a task of its own: the map's construction ends before the layers' features,
    # the list, legend and filters are added (GEOMAP.start runs them in short steps);
    # the closing "});" ends the function opened by _DEFER_OPEN
    return (f"window.setTimeout(function () {{ GEOMAP.start({{map: {fmap.get_name()}, "
            f"control: {control.get_name()}, boundaries: {bound}, groups: {{{groups}}}}}); }}, 0);"
            "\n});")


# folium's whole map script runs after the page's first frame (GEOMAP.afterPaint):
# the first layout then happens in the browser's own rendering task, not forced
# inside the script that creates the map (Leaflet measures the container).
_DEFER_OPEN = "GEOMAP.afterPaint(function () {"


def build_map(*, projects: gpd.GeoDataFrame, mentions: pd.DataFrame,
              summary: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, meta: dict,
              embed: bool = False, downloads: dict[str, str] | None = None) -> str:
    """Return the map page's HTML (see :func:`render_map`)."""
    return _set_variant(_page(projects=projects, mentions=mentions, summary=summary,
                              districts=districts, meta=meta, downloads=downloads), embed)


def _page(*, projects: gpd.GeoDataFrame, mentions: pd.DataFrame, summary: gpd.GeoDataFrame,
          districts: gpd.GeoDataFrame, meta: dict, downloads: dict[str, str] | None) -> str:
    """The page without its variant mark (full or embed); see :func:`_set_variant`."""
    maps = [_with_data_attribution(m, meta.get("data_attribution", [])) for m in basemaps()]
    projects = _sorted_projects(projects)
    district_features = _district_features(summary, districts)
    project_features = _project_features(projects)
    doc = _document(projects, mentions, summary, meta, downloads, maps,
                    {"layers": project_features, "districts": district_features})
    fmap = _OfflineMap(location=[0, 0], zoom_start=9, tiles=None, control_scale=True,
                       zoom_control=True)
    pane = json.dumps(DISTRICT_PANE)
    fmap.add_child(_Script(f"{fmap.get_name()}.createPane({pane}).style.zIndex = 350;"))
    # The view is set before any layer is added: every tile and path is then
    # created and projected once, at the start view (not first at 0°, 0°).
    bounds = _bounds(projects, district_features)
    if bounds:
        fmap.fit_bounds(bounds)
    created: list[Element] = [fmap, *_add_basemaps(fmap, maps)]
    boundaries = _add_districts(fmap, district_features)
    layers = _add_project_layers(fmap, project_features)
    created += ([boundaries] if boundaries is not None else []) + list(layers.values())
    control = folium.LayerControl(collapsed=True, position="topright")
    control.add_to(fmap)
    created.append(control)
    fmap.add_child(_Script(_start_code(fmap, control, boundaries, layers)))
    figure = cast(Figure, fmap.get_root())
    figure.script.add_child(_Raw(_DEFER_OPEN), name="geomap_defer", index=0)
    head = _head_elements(doc)
    figure.header.add_child(_CspMeta(figure, head, [fmap], maps, created), name="geomap_csp",
                            index=0)
    for index, text in enumerate(head):
        figure.header.add_child(_Raw(text), name=f"geomap_head_{index}")
    figure.html.add_child(_Raw(assets.web_text("chrome.html")), name="geomap_chrome", index=0)
    return _stable_names(figure.render(), created)


def _set_variant(page: str, embed: bool) -> str:
    """Mark the page full or embed: the only difference between the two variants."""
    body_class = "geomap-embed" if embed else "geomap-full"
    head_end = page.index("</head>")  # the body tag, not a "<body>" inside a script
    return page[:head_end] + page[head_end:].replace("<body>", f'<body class="{body_class}">', 1)


class _CspMeta(Element):
    """The Content-Security-Policy meta tag, first in the page's header.

    The policy allows only the page's inline scripts (by sha256) and the tile
    hosts: ours in the header (``head``), the header part of folium's
    ``extra`` elements (the map's global switches script), and folium's main
    script, which the figure fills while rendering its children, before it
    renders its header.  Header parts are the ``header`` macro of the
    element's template (branca's extension point for elements).
    This element renders that script as the figure's template will (renamed as
    :func:`_stable_names` renames it) and hashes it.  The CSP test checks that
    no other inline script exists.
    """

    def __init__(self, figure: Figure, head: list[str], extra: list[Element],
                 maps: list[dict], elements: list[Element]) -> None:
        super().__init__()
        self.figure, self.head, self.extra = figure, head, extra
        self.maps, self.elements = maps, elements

    def render(self, **kwargs: Any) -> str:
        main = f"<script>\n    {self.figure.script.render(**kwargs)}\n</script>"
        # branca renders an element's header macro this way itself (Figure.render);
        # the name is private, pinned by tests/test_public_surfaces.py's list
        parts = [cast(Any, e._template.module).header(e, kwargs) for e in self.extra]
        texts = [*self.head, *parts, main]
        return _csp_meta(_stable_names("".join(texts), self.elements), self.maps)


def _csp_meta(scripts: str, maps: list[dict]) -> str:
    """A CSP meta tag allowing the inline ``<script>`` elements in ``scripts`` and the tiles."""
    hashes = []
    for match in re.finditer(r"<script(?: type=\"application/json\"[^>]*)?>(.*?)</script>",
                             scripts, re.DOTALL):
        if match.group(0).startswith('<script type="application/json"'):
            continue
        digest = hashlib.sha256(match.group(1).encode("utf-8")).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    hosts = " ".join(sorted({h for spec in maps for h in spec["hosts"]}))
    policy = ("default-src 'none'; "
              f"script-src {' '.join(sorted(set(hashes)))}; "
              "style-src 'unsafe-inline'; "
              f"img-src data: {hosts}; "
              "base-uri 'none'; form-action 'none'")
    return f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">'


def render_map(path: Path, *, projects: gpd.GeoDataFrame, mentions: pd.DataFrame,
               summary: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, meta: dict,
               embed: bool = False, downloads: dict[str, str] | None = None) -> Path:
    """Write the self-contained web map to ``path`` (atomically) and return ``path``.

    Parameters
    ----------
    projects : GeoDataFrame
        ``geo.schema.PROJECTS`` columns + geometry (EPSG:4326; None when unlocated).
    mentions : DataFrame
        ``geo.schema.MENTIONS`` columns + year, quote_start, status_start, status_end.
    summary : GeoDataFrame
        District summary incl. the 全市 and 未定位 rows (no geometry).
    districts : GeoDataFrame
        District boundaries, used when a summary row has no geometry.
    meta : dict
        name, city, title, report_year, report_path.
    embed : bool
        Write the minimal-chrome variant for iframes.
    downloads : dict
        Link label -> relative (or http(s)) URL of the open-data files.
    """
    text = build_map(projects=projects, mentions=mentions, summary=summary,
                     districts=districts, meta=meta, embed=embed, downloads=downloads)
    return write_text(Path(path), text)


def render_maps(full_path: Path, embed_path: Path, *, projects: gpd.GeoDataFrame,
                mentions: pd.DataFrame, summary: gpd.GeoDataFrame,
                districts: gpd.GeoDataFrame, meta: dict,
                downloads: dict[str, str] | None = None) -> tuple[Path, Path]:
    """Write the full page and the embed variant from one rendering (see :func:`render_map`)."""
    full, embed = build_pages(projects=projects, mentions=mentions, summary=summary,
                              districts=districts, meta=meta, downloads=downloads)
    return write_text(Path(full_path), full), write_text(Path(embed_path), embed)


def build_pages(*, projects: gpd.GeoDataFrame, mentions: pd.DataFrame,
                summary: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, meta: dict,
                downloads: dict[str, str] | None = None) -> tuple[str, str]:
    """The full page and the embed variant (HTML text) from one rendering."""
    page = _page(projects=projects, mentions=mentions, summary=summary, districts=districts,
                 meta=meta, downloads=downloads)
    return _set_variant(page, embed=False), _set_variant(page, embed=True)


def located_count(projects: gpd.GeoDataFrame) -> int:
    """Number of projects with a geometry (what the map draws)."""
    return sum(1 for g in projects.geometry if _is_located(g))


def iter_layer_keys(projects: gpd.GeoDataFrame) -> Iterable[str]:
    """Layer keys the map will create for ``projects`` (theme ids and "planning")."""
    return sorted(_project_features(projects))
