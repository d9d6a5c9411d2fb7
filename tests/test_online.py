"""Tests of the OSM source (geo.sources.osm): name matching, boundary filtering, osmnx set-up.

All tests are offline (an OSM XML file through ``ox.features_from_xml``); the
online path runs on recorded answers in tests/test_anycity.py.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import requests
from shapely.geometry import box

from geo import names
from geo.errors import DependencyError, GeoError
from geo.sources import COLUMNS, Area, Query
from geo.sources import osm as online

DATA = Path(__file__).parent / "data"
OSM_XML = DATA / "osm_sample.osm"
BOUNDARY = box(121.0, 29.5, 122.0, 30.3)  # around Ningbo; Shanghai (31.23 N) is outside

NAMES = [
    ("P-line6", "轨道交通6号线"),
    ("P-line6-phase1", "宁波市轨道交通6号线一期工程"),
    ("P-park", "镇海西大河公园"),
    ("P-hospital", "宁波市第一医院"),
    ("P-outside", "宁波大学附属第一医院"),
    ("P-phase2", "杭甬高速复线宁波段二期"),
    ("P-phase1", "杭甬高速复线宁波段一期工程"),
    ("P-shop", "宁波来福士广场"),
    ("P-school", "实验学校"),
    ("P-park-short", "西大河公园"),  # district prefix 镇海 omitted
]

ox = pytest.importorskip("osmnx")

OX_SETTINGS = ("use_cache", "cache_folder", "requests_timeout", "overpass_rate_limit",
               "http_user_agent", "http_referer", "http_accept_language", "log_console")


class Blocked(requests.exceptions.ConnectionError):
    """Raised by every attempt to reach the network in these tests."""


@pytest.fixture(autouse=True)
def restore_osmnx_settings(monkeypatch):
    """Undo configure_osmnx's changes to osmnx's global settings after each test."""
    for name in OX_SETTINGS:
        monkeypatch.setattr(ox.settings, name, getattr(ox.settings, name))


@pytest.fixture
def no_network(monkeypatch):
    """Make any HTTP request or socket connection raise, and record pauses."""
    def refuse(*args, **kwargs):
        raise Blocked("network blocked in tests")

    monkeypatch.setattr(requests.Session, "send", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    pauses: list[float] = []
    monkeypatch.setattr(sys.modules["osmnx._nominatim"].time, "sleep", pauses.append)
    return pauses


def rows_by_project(frame):
    return {pid: part for pid, part in frame.groupby("project_id")}


# --------------------------------------------------------------------------- names

@pytest.mark.parametrize(("name", "key"), [
    ("宁波市地铁六号线一期工程", "轨道交通6号线1期"),
    ("宁波轨道交通6号线", "轨道交通6号线"),
    ("ＸＸ路 （二期） 项目", "xx路2期"),
    ("宁波市第一医院", "第一医院"),
    ("宁波", "宁波"),  # a bare prefix is kept, never emptied
])
def test_normalize_name(name, key):
    assert names.normalize_name(name, names.city_prefixes("宁波市")) == key


def test_match_score_rules():
    assert names.match_score("轨道交通6号线", "轨道交通6号线") == 1.0
    assert names.match_score("轨道交通6号线", "轨道交通16号线") is None  # numbers differ
    assert names.match_score("轨道交通6号线1期", "轨道交通6号线2期") is None  # phases differ
    one_sided = names.match_score("轨道交通6号线1期", "轨道交通6号线")
    assert one_sided is not None and 0.86 <= one_sided < 1.0
    assert names.match_score("镇海西大河公园", "北仑体育中心") is None
    assert 0 < names.match_score("西大河公园", "镇海西大河公园") < 1  # short district prefix
    assert names.match_score("第一医院", "大学附属第一医院") is None  # not a district prefix
    assert names.match_score("公园", "镇海公园") is None  # too short to contain


# --------------------------------------------------------------------------- offline XML

def search(names_, boundary=BOUNDARY):
    queries = [Query(pid, name, "other") for pid, name in names_]
    area = Area("宁波市", boundary, None)
    return online.OsmSource(xml_path=OSM_XML, use_nominatim=False).search(queries, area)


def by_project(rows):
    found = {}
    for row in rows:
        found.setdefault(row["project_id"], []).append(row)
    return found


def test_xml_matches_and_excludes(no_network):
    rows = search(NAMES)
    assert all(set(COLUMNS) <= set(r) for r in rows)
    found = by_project(rows)
    line6 = found["P-line6"][0]
    assert (line6["candidate"], line6["score"], line6["source"]) == ("宁波轨道交通6号线", 1.0, "osm")
    assert line6["category"] == "railway=construction"
    assert line6["candidate_id"] == "way/1001;way/1002"  # two ways, one candidate, one line
    assert line6["element"] == "OSM way 1001 + 1 more" and line6["precision"] == "surveyed"
    assert "ODbL" in line6["licence"]
    assert line6["geometry"].geom_type == "LineString" and len(line6["geometry"].coords) == 3
    assert len(found["P-line6"]) == 1  # line 1 never matches line 6
    assert found["P-line6-phase1"][0]["score"] < 1
    park = found["P-park"][0]
    assert (park["candidate_id"], park["category"], park["geometry"].geom_type) == (
        "way/2001", "leisure=park", "Polygon")
    assert found["P-park-short"][0]["score"] < 1
    hospital = found["P-hospital"]
    assert [h["candidate_id"] for h in hospital] == ["node/301"]
    assert hospital[0]["precision"] == "site"  # a POI node
    for absent in ("P-outside", "P-phase2", "P-shop"):
        assert absent not in found, absent
    assert [s["candidate_id"] for s in found["P-school"]] == ["node/801", "node/802"]
    assert no_network == []


def test_outside_element_exists_in_xml_but_is_excluded():
    everything = online.fetch_features(box(120, 29, 123, 32), xml_path=OSM_XML)
    inside = online.fetch_features(BOUNDARY, xml_path=OSM_XML)
    assert "node/501" in set(everything.osm_id)
    assert "node/501" not in set(inside.osm_id)
    assert "node/601" not in set(everything.osm_id)  # shop: not a queried tag


def test_no_feature_inside_boundary_gives_no_rows():
    assert search(NAMES, box(100.0, 20.0, 100.1, 20.1)) == []


def test_boundary_must_be_polygon():
    with pytest.raises(GeoError, match="Polygon"):
        search(NAMES, BOUNDARY.exterior)


def test_deterministic_whatever_the_order():
    key = lambda r: (r["project_id"], r["candidate_id"])  # noqa: E731
    first = sorted(search(NAMES), key=key)
    again = sorted(search(list(reversed(NAMES))), key=key)
    assert [(r["candidate_id"], r["score"], r["geometry"].wkt) for r in first] == [
        (r["candidate_id"], r["score"], r["geometry"].wkt) for r in again]


def test_missing_osmnx_gives_dependency_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "osmnx", None)  # makes `import osmnx` fail
    with pytest.raises(DependencyError) as info:
        search(NAMES)
    message = str(info.value)
    assert "\n" not in message and "pip install osmnx" in message and "--online" in message


def test_configure_osmnx_uses_public_settings(tmp_path):
    online.configure_osmnx(tmp_path)
    assert ox.settings.use_cache and ox.settings.overpass_rate_limit
    assert Path(ox.settings.cache_folder) == tmp_path
    assert "geo-report-map" in ox.settings.http_user_agent
    assert ox.settings.http_accept_language.startswith("zh")


def test_no_private_osmnx_names_in_code():
    """Issue 17: only osmnx's public API (no ox._errors, no copy of its cache key)."""
    root = Path(__file__).parent.parent / "geo"
    for path in root.rglob("*.py"):
        text = path.read_text("utf-8")
        assert "ox._" not in text and "osmnx._" not in text, path
    for path in [root / "online.py", *root.joinpath("sources").glob("*.py")]:
        assert "sha1" not in path.read_text("utf-8"), path  # osmnx's cache key is osmnx's


def test_nominatim_line_is_surveyed_area_is_approximate():
    import geopandas as gpd
    from shapely.geometry import LineString

    line = gpd.GeoSeries([LineString([(121.5, 29.8), (121.6, 29.9)])]).iloc[0]
    import pandas as pd

    result = pd.Series({"name": "宁波老外滩", "class": "highway", "type": "primary",
                        "osm_type": "way", "osm_id": 1, "geometry": line})
    row = online._nominatim_candidate("P-x", "宁波老外滩", result, ("宁波市", "宁波"))
    assert row["precision"] == "surveyed" and row["element"] == "OSM way 1 (Nominatim)"
    result["geometry"] = BOUNDARY
    row = online._nominatim_candidate("P-x", "宁波老外滩", result, ("宁波市", "宁波"))
    assert row["precision"] == "approximate" and row["geometry"].geom_type == "Point"
