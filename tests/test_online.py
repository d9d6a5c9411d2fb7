"""Tests of geo.online: OSM name matching, boundary filtering, osmnx cache, network guard.

All tests are offline: the network is blocked wherever osmnx could reach it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import sys
from collections import OrderedDict
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from shapely.geometry import box

from geo import names, online, settings
from geo.errors import DependencyError, GeoError
from geo.schema import CANDIDATES

DATA = Path(__file__).parent / "data"
OSM_XML = DATA / "osm_sample.osm"
NOMINATIM_ANSWER = DATA / "osm_cache" / "nominatim_laowaitan.json"
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
    monkeypatch.setattr(online.time, "sleep", pauses.append)
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

def test_search_osm_xml_matches_and_excludes(no_network):
    frame = online.search_osm(NAMES, BOUNDARY, xml_path=OSM_XML)
    assert list(frame.columns[: len(CANDIDATES)]) == CANDIDATES
    assert frame.crs.to_epsg() == 4326
    found = rows_by_project(frame)

    line6 = found["P-line6"].iloc[0]
    assert (line6.candidate, line6.rule, line6.score, line6.chosen) == (
        "宁波轨道交通6号线", "osm_name_exact", 1.0, True)
    assert (line6.railway, line6.construction) == ("construction", "subway")
    assert line6.osm_ids == "way/1001;way/1002"  # two ways, one candidate, one line
    assert line6.geometry.geom_type == "LineString" and len(line6.geometry.coords) == 3
    assert len(found["P-line6"]) == 1  # line 1 never matches line 6

    phase = found["P-line6-phase1"].iloc[0]
    assert phase.rule == "osm_name_fuzzy" and phase.score < 1 and not phase.chosen

    park = found["P-park"].iloc[0]
    assert (park.gazetteer_row, park.leisure, park.geometry.geom_type) == (
        "way/2001", "park", "Polygon")
    short = found["P-park-short"].iloc[0]
    assert (short.gazetteer_row, short.rule, short.chosen) == ("way/2001", "osm_name_fuzzy", False)
    hospital = found["P-hospital"]  # 宁波大学附属第一医院 (outside) is no candidate either way
    assert list(hospital.gazetteer_row) == ["node/301"] and hospital.iloc[0].amenity == "hospital"
    assert found["P-phase1"].iloc[0].gazetteer_row == "way/4001"

    for absent in ("P-outside", "P-phase2", "P-shop"):
        assert absent not in found, absent
    schools = found["P-school"]
    assert list(schools.gazetteer_row) == ["node/801", "node/802"]
    assert not schools.chosen.any()  # two exact matches: for the reviewer to pick
    assert no_network == []


def test_outside_element_exists_in_xml_but_is_excluded():
    everything = online.fetch_features(box(120, 29, 123, 32), xml_path=OSM_XML)
    inside = online.fetch_features(BOUNDARY, xml_path=OSM_XML)
    assert "node/501" in set(everything.osm_id)
    assert "node/501" not in set(inside.osm_id)
    assert "node/601" not in set(everything.osm_id)  # shop: not a queried tag


def test_no_feature_inside_boundary_gives_empty_frame():
    frame = online.search_osm(NAMES, box(100.0, 20.0, 100.1, 20.1), xml_path=OSM_XML)
    assert frame.empty and list(frame.columns) == [*online.COLUMNS, "geometry"]


def test_boundary_must_be_polygon():
    with pytest.raises(GeoError, match="Polygon"):
        online.search_osm(NAMES, BOUNDARY.exterior, xml_path=OSM_XML)


def test_write_candidates_deterministic(tmp_path):
    frame = online.search_osm(list(reversed(NAMES)), BOUNDARY, xml_path=OSM_XML)
    first = online.write_candidates(tmp_path / "a" / "osm_candidates.csv", frame)
    again = online.search_osm(NAMES, BOUNDARY, xml_path=OSM_XML)
    second = online.write_candidates(tmp_path / "b" / "osm_candidates.csv", again)
    assert first.read_bytes() == second.read_bytes()
    geojson_a = first.with_suffix(".geojson").read_bytes()
    assert geojson_a == second.with_suffix(".geojson").read_bytes()
    collection = json.loads(geojson_a)
    assert "OpenStreetMap" in collection["attribution"]
    assert len(collection["features"]) == len(frame)
    header = first.read_text("utf-8").splitlines()[0].split(",")
    assert header == online.COLUMNS
    assert sorted(tmp_path.joinpath("a").iterdir()) == [first, first.with_suffix(".geojson")]


def test_empty_result_writes_headers(tmp_path):
    frame = online.search_osm([("P-x", "不存在的项目")], BOUNDARY, xml_path=OSM_XML)
    assert frame.empty
    path = online.write_candidates(tmp_path / "osm_candidates.csv", frame)
    assert path.read_text("utf-8") == ",".join(online.COLUMNS) + "\n"


# --------------------------------------------------------------------------- network guard

def test_default_path_refuses_network(monkeypatch, no_network):
    monkeypatch.setattr(settings, "use_network", False)
    with pytest.raises(GeoError, match="network is disabled") as info:
        online.search_osm(NAMES, BOUNDARY)
    assert "geo build --online" in str(info.value)
    assert no_network == []


def test_missing_osmnx_gives_dependency_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "osmnx", None)  # makes `import osmnx` fail
    with pytest.raises(DependencyError) as info:
        online.search_osm(NAMES, BOUNDARY, xml_path=OSM_XML)
    message = str(info.value)
    assert "\n" not in message and "pip install osmnx" in message and "--online" in message


def test_configure_osmnx(tmp_path):
    online.configure_osmnx(tmp_path)
    assert ox.settings.use_cache and ox.settings.overpass_rate_limit
    assert Path(ox.settings.cache_folder) == tmp_path
    assert "geo-report-map" in ox.settings.http_user_agent
    assert ox.settings.http_accept_language.startswith("zh")


# --------------------------------------------------------------------------- osmnx cache

def prefill_nominatim(cache: Path, query: dict[str, str]) -> Path:
    """Copy the canned answer to where osmnx 2.1 looks for ``query``; check the file name."""
    params = [("format", "json"), ("polygon_geojson", "1"), ("dedupe", "0"), ("limit", "1")]
    params += sorted(query.items())
    url = "https://nominatim.openstreetmap.org/search?" + urlencode(params)
    name = hashlib.sha1(url.encode("utf-8")).hexdigest() + ".json"
    target = online.nominatim_cache_file(query)
    assert target == cache / name
    shutil.copyfile(NOMINATIM_ANSWER, target)
    return target


def test_geocode_to_gdf_answers_from_cache(tmp_path, no_network):
    online.configure_osmnx(tmp_path)
    query = online.nominatim_query("宁波老外滩", "宁波市", BOUNDARY)
    with pytest.raises(Blocked):  # proves the network really is blocked
        ox.geocode_to_gdf(query, which_result=1)
    prefill_nominatim(tmp_path, query)
    gdf = ox.geocode_to_gdf(query, which_result=1)
    assert gdf.loc[0, "name"] == "老外滩"
    assert gdf.loc[0, "osm_id"] == 9001 and gdf.geometry[0].geom_type == "Polygon"


def prefill_overpass(cache: Path) -> None:
    """Cache an Overpass answer (the sample XML as JSON) for the features query of BOUNDARY."""
    overpass = sys.modules["osmnx._overpass"]
    osm_xml = sys.modules["osmnx._osm_xml"]
    for coords in overpass._make_overpass_polygon_coord_strs(BOUNDARY):
        query = overpass._create_overpass_features_query(coords, online.QUERY_TAGS)
        url = requests.Request("GET", ox.settings.overpass_url.rstrip("/") + "/interpreter",
                               params=OrderedDict(data=query)).prepare().url
        answer = osm_xml._overpass_json_from_xml(OSM_XML, "utf-8")
        digest = hashlib.sha1(url.encode("utf-8")).hexdigest()
        cache.joinpath(f"{digest}.json").write_text(json.dumps(answer), "utf-8")


def test_search_osm_online_from_cache(monkeypatch, tmp_path, no_network):
    """The online path (Overpass, then Nominatim for the rest) runs from the cache alone."""
    monkeypatch.setattr(settings, "use_network", True)
    monkeypatch.setattr(settings, "cache_folder", tmp_path)
    online.configure_osmnx()
    prefill_overpass(tmp_path)
    prefill_nominatim(tmp_path, online.nominatim_query("宁波老外滩", "宁波市", BOUNDARY))
    names = [("P-line6", "轨道交通6号线"), ("P-outside", "宁波大学附属第一医院"),
             ("P-bund", "宁波老外滩")]
    # P-outside is not in the feature set, so it goes to Nominatim, uncached -> blocked.
    with pytest.raises(GeoError, match="OpenStreetMap request failed"):
        online.search_osm(names, BOUNDARY)
    assert settings.request_pause in no_network  # paused politely before the miss
    no_network.clear()
    frame = online.search_osm(names[::2], BOUNDARY)
    found = rows_by_project(frame)
    assert found["P-line6"].iloc[0].rule == "osm_name_exact"
    bund = found["P-bund"].iloc[0]  # not in the Overpass features: found by Nominatim
    assert (bund.rule, bund.gazetteer_row, bund.candidate) == ("nominatim", "way/9001", "老外滩")
    assert bund.score == 1.0 and bund.chosen
    assert no_network == []  # everything came from the cache: no pause, no request
