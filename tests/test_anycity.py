"""Any city: the fixture city 临江市 built online on recorded answers (no network).

The fixture (tests/data/anycity, README there) is a fictional city with two
counties, a one-row gazetteer, a decisions file and recorded Overpass,
Nominatim and 天地图 answers in the services' documented formats.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time

import geopandas as gpd
import pandas as pd
import pytest
from anycity_build import CITY, DATA, REPORT, build_fixture, settings_for_fixture
from shapely.geometry import Point, box

from geo import gating, settings
from geo.cli import main
from geo.sources import NetworkUnavailable, check_reachable
from geo.sources import tianditu as td

pytest.importorskip("osmnx")

#: What the fixture can answer, and how: project id -> (precision, source word, match rule).
EXPECTED = {
    "P-0762d11298": ("site", "fixture: fictional city", ""),          # gazetteer wins
    "P-52340fff25": ("surveyed", "OSM way 5001 + 1 more", "osm_auto"),  # metro line, 2 ways
    "P-90bda31665": ("surveyed", "OSM way 5101", "osm_auto"),          # park polygon
    "P-8457492cd9": ("site", "天地图 POI FIXTURE0001", "tianditu_auto"),  # hospital POI
    "P-7bd275afa5": ("surveyed", "OSM way 7001 (Nominatim)", "nominatim_accepted"),  # review
}


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("linjiang")
    cache = tmp_path_factory.mktemp("cache")
    lines: list[str] = []
    result, served = build_fixture(root, cache, lines)
    return result, served, lines, root, cache


def table(result, name):
    folder = result.paths["candidates"].parent
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def test_fixture_locates_every_answerable_project(fixture_build):
    result, served, _, _, _ = fixture_build
    projects = table(result, "projects.csv").set_index("project_id")
    for pid, (precision, source, _) in EXPECTED.items():
        assert projects.loc[pid, "precision"] == precision, pid
        assert projects.loc[pid, "source"].startswith(source), (pid, projects.loc[pid, "source"])
    rules = result.stages.projects.set_index("project_id")["match_rule"]
    assert rules["P-0762d11298"] == "exact" or rules["P-0762d11298"] in ("alias", "normalised")
    for pid, (_, _, rule) in EXPECTED.items():
        if rule:
            assert rules[pid] == rule, pid
    # source and score, with the licence, for every online answer on the map
    for pid in ("P-52340fff25", "P-90bda31665", "P-7bd275afa5"):
        assert "score" in projects.loc[pid, "source"] and "ODbL" in projects.loc[pid, "source"]
    assert "天地图" in projects.loc["P-8457492cd9", "source"]
    # the real geometries: a 2-way metro line is one line across both counties
    geoms = result.stages.projects.set_index("project_id").geometry
    assert geoms["P-52340fff25"].geom_type == "LineString"
    assert projects.loc["P-52340fff25", "districts"] == "西城区;东城区"
    assert geoms["P-90bda31665"].geom_type == "Polygon"
    # unanswerable in the fixture: county from the name only
    assert projects.loc["P-420846f092", "precision"] == "district"
    assert any("overpass" in u for u in served) and any("tianditu" in u for u in served)


def test_gazetteer_wins_and_is_never_asked_online(fixture_build):
    result, served, _, _, _ = fixture_build
    candidates = table(result, "online_candidates.csv")
    assert "P-0762d11298" not in set(candidates["project_id"])  # 临江站 node never considered
    assert not any("临江站综合交通枢纽" in u or "%E4%B8%B4%E6%B1%9F%E7%AB%99%E7%BB%BC" in u
                   for u in served)


def test_decisions_are_applied(fixture_build):
    result, _, _, _, _ = fixture_build
    candidates = table(result, "online_candidates.csv").set_index(["project_id", "candidate_id"])
    bridge = candidates.loc[("P-7bd275afa5", "way/7001")]
    assert (bridge["status"], float(bridge["score"])) == ("accepted", 0.889)
    assert float(bridge["score"]) < settings.accept_score  # only review put it on the map
    stadium = candidates.loc[("P-c87aa9753c", "way/6001")]
    assert stadium["status"] == "rejected"
    unresolved = table(result, "unresolved.csv").set_index("project_id")
    assert "rejected in review" in unresolved.loc["P-c87aa9753c", "reason"]
    projects = table(result, "projects.csv").set_index("project_id")
    assert projects.loc["P-c87aa9753c", "precision"] == ""


def test_tie_goes_to_review(fixture_build):
    result, _, _, _, _ = fixture_build
    review = table(result, "review.csv")
    assert set(review["project_id"]) == {"P-281e6c28b3"}  # the two 东城实验学校
    assert set(review["candidate_id"]) == {"node/301", "node/302", "FIXTURE0003"}
    assert review["reason"].str.startswith("tie").all()
    projects = table(result, "projects.csv").set_index("project_id")
    assert projects.loc["P-281e6c28b3", "precision"] == "district"  # stays county-level
    candidates = table(result, "online_candidates.csv")
    assert set(candidates.columns) >= {"source", "score", "licence", "status", "reason"}
    assert (candidates["licence"] != "").all()


def test_second_build_is_answered_from_the_caches_and_identical(fixture_build, tmp_path):
    result, _, _, _, cache = fixture_build
    again, served = build_fixture(tmp_path, cache)
    assert served == []  # osmnx's cache and the 天地图 cache answer everything
    for key in ("projects", "candidates"):
        assert again.paths[key].read_bytes() == result.paths[key].read_bytes()
    folder = result.paths["candidates"].parent
    for name in ("online_candidates.csv", "review.csv", "online_candidates.geojson"):
        assert (tmp_path / folder.relative_to(folder.parents[2]) / name).read_bytes() == \
            (folder / name).read_bytes()


def test_licences_in_geopackage_and_map(fixture_build):
    result, _, _, _, _ = fixture_build
    with sqlite3.connect(result.paths["gpkg"]) as con:
        docs = [row[0] for row in con.execute("SELECT metadata FROM gpkg_metadata")]
    text = " ".join(docs)
    assert "天地图" in text and "ODbL" in text
    html = result.paths["map"].read_text("utf-8")
    assert "天地图 (国家地理信息公共服务平台)" in html and "ODbL" in html
    geojson = json.loads(table_path(result, "online_candidates.geojson").read_text("utf-8"))
    assert "OpenStreetMap" in geojson["attribution"] and "天地图" in geojson["attribution"]


def table_path(result, name):
    return result.paths["candidates"].parent / name


def test_geo_review_lists_and_records_decisions(fixture_build, tmp_path, capsys):
    result, _, _, root, _ = fixture_build
    assert main(["review", "--name", "linjiang_2025", "--city", CITY, "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "P-281e6c28b3 东城实验学校" in out and "node/302" in out and "--accept" in out
    target = tmp_path / "临江市_decisions.csv"
    target.write_bytes((DATA / "临江市_decisions.csv").read_bytes())
    assert main(["review", "--name", "linjiang_2025", "--city", CITY, "--decisions",
                 str(target), "--accept", "P-281e6c28b3", "osm", "node/301"]) == 0
    decisions = gating.load_decisions(target)
    assert len(decisions) == 3
    row = decisions[decisions["candidate_id"] == "node/301"].iloc[0]
    assert (row["project_id"], row["decision"]) == ("P-281e6c28b3", "accept")


def test_new_decision_is_applied_on_the_next_build(fixture_build, tmp_path, monkeypatch):
    _, _, _, _, cache = fixture_build
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("临江市_districts.geojson", "临江市_gazetteer.csv", "临江市_decisions.csv"):
        folder.joinpath(name).write_bytes((DATA / name).read_bytes())
    gating.append_decision(folder / "临江市_decisions.csv", "P-281e6c28b3", "osm",
                           "node/302", "accept")
    import anycity_build

    monkeypatch.setattr(anycity_build, "DATA", folder)
    result, _ = build_fixture(tmp_path / "out", cache)
    projects = table(result, "projects.csv").set_index("project_id")
    assert projects.loc["P-281e6c28b3", "precision"] == "site"
    assert "OSM node 302" in projects.loc["P-281e6c28b3", "source"]
    assert "accepted by review" in projects.loc["P-281e6c28b3", "source"]
    assert table(result, "review.csv").empty


# --------------------------------------------------------------------------- no network

def test_online_without_network_fails_fast_and_writes_offline_outputs(tmp_path, monkeypatch,
                                                                      capsys):
    """No network at all: every connection attempt fails (as on a machine offline)."""
    def refuse(*args, **kwargs):
        raise OSError(101, "Network is unreachable")

    settings_for_fixture(monkeypatch, tmp_path / "cache")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    t0 = time.monotonic()
    code = main(["build", str(REPORT), "--city", CITY, "--name", "linjiang_2025", "--root",
                 str(tmp_path), "--online"])
    elapsed = time.monotonic() - t0
    err = capsys.readouterr().err
    assert code == 0 and elapsed < 5, elapsed
    assert "osm not asked: cannot reach overpass-api.de" in err
    assert "online part not done" in err
    processed = tmp_path / "data" / "processed" / "linjiang_2025"
    projects = pd.read_csv(processed / "projects.csv", dtype=str, keep_default_na=False)
    assert len(projects) == 8
    assert (tmp_path / "maps" / "linjiang_2025.html").exists()
    assert (tmp_path / "layers" / "linjiang_2025.gpkg").exists()
    assert pd.read_csv(processed / "online_candidates.csv").empty


def test_hung_name_lookup_is_cut_off(monkeypatch):
    """A look-up that hangs far beyond the socket timeout (dead DNS server) still ends."""
    def hang(address, timeout=None):
        time.sleep(30)

    monkeypatch.setattr(socket, "create_connection", hang)
    t0 = time.monotonic()
    from geo.sources import unreachable

    down = unreachable(["a.example", "b.example"], timeout=0.3)
    assert time.monotonic() - t0 < 1.5
    assert set(down) == {"a.example", "b.example"} and "no answer" in down["a.example"]


def test_check_reachable_times_out_quickly(monkeypatch):
    """An unroutable address (TEST-NET-1) with no answer: the timeout bounds the wait."""
    def slow(address, timeout=None):
        time.sleep(min(timeout, 0.2))
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", slow)
    t0 = time.monotonic()
    with pytest.raises(NetworkUnavailable, match="cannot reach 192.0.2.1") as info:
        check_reachable(["192.0.2.1"], timeout=0.2)
    assert time.monotonic() - t0 < 1 and "without --online" in str(info.value)


def test_tianditu_without_key_is_skipped_with_a_note(tmp_path, monkeypatch):
    from geo.online import ask_sources
    from geo.sources import Area

    monkeypatch.setattr(settings, "tianditu_key", "")
    rows, notes, asked = ask_sources([], Area(CITY, box(0, 0, 1, 1), None), ["tianditu"],
                                     lambda s: None)
    assert rows == [] and asked == [] and "TIANDITU_KEY" in notes[0]


# --------------------------------------------------------------------------- units

def area():
    from geo.districts import load_districts
    from geo.sources import Area

    districts = load_districts(CITY, DATA / "临江市_districts.geojson")
    return Area(CITY, box(120.0, 28.0, 120.2, 28.1), districts)


def test_tianditu_request_follows_the_documentation():
    params = td.search_params("滨江公园", area(), "KEY")
    post = json.loads(params["postStr"])
    assert params["type"] == "query" and params["tk"] == "KEY"
    assert post["keyWord"] == "滨江公园" and post["queryType"] == "2"
    assert post["mapBound"] == "120.000000,28.000000,120.200000,28.100000"
    assert td._cache.path(td.SEARCH_URL, params) == td._cache.path(
        td.SEARCH_URL, {**params, "tk": "OTHER"})  # the key is not part of the cache name


def test_tianditu_answer_parsing():
    from geo.sources import Query

    answer = json.loads((DATA / "recorded" / "tianditu_search.json").read_text("utf-8"))
    query = Query("P-h", "临江市第一人民医院新院区", "hospital")
    rows = td.poi_rows(query, answer["临江市第一人民医院新院区"], area())
    assert [r["candidate_id"] for r in rows] == ["FIXTURE0001"]  # the car park scores too low
    assert rows[0]["geometry"].equals(Point(120.13, 28.04))
    assert rows[0]["category"] == "综合医院" and rows[0]["precision"] == "site"
    with pytest.raises(Exception, match="TIANDITU_KEY"):
        td.poi_rows(query, {"status": {"infocode": 3001, "cndesc": "key error"}}, area())
    geo = td.geocoder_row(query, {"status": "0", "location": {
        "lon": 120.15, "lat": 28.05, "score": 80, "level": "兴趣点", "keyWord": "x"}}, area())
    assert geo["precision"] == "approximate" and geo["score"] == 0.8
    assert td.geocoder_row(query, {"status": "0", "location": {
        "lon": 100.0, "lat": 20.0, "score": 100}}, area()) is None  # outside the city


def candidates(rows):
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs="EPSG:4326")


def test_gate_rules():
    districts = area().districts
    here, there, near = Point(120.15, 28.05), Point(120.05, 28.05), Point(120.1505, 28.0502)
    base = {"source": "osm", "category": "amenity=hospital", "precision": "site"}
    one = candidates([{**base, "candidate_id": "a", "score": 1.0, "geometry": here}])
    assert gating.judge("hospital", one, [], districts).status == "auto"
    assert gating.judge("school", one, [], districts).reason.startswith("category")
    assert "outside 西城区" in gating.judge("hospital", one, ["西城区"], districts).reason
    weak = candidates([{**base, "candidate_id": "a", "score": 0.88, "geometry": here}])
    assert "below" in gating.judge("hospital", weak, [], districts).reason
    tie = candidates([{**base, "candidate_id": "a", "score": 1.0, "geometry": here},
                      {**base, "candidate_id": "b", "score": 0.97, "geometry": there}])
    assert gating.judge("hospital", tie, [], districts).reason.startswith("tie")
    agree = candidates([{**base, "candidate_id": "a", "score": 1.0, "geometry": here},
                        {**base, "source": "tianditu", "category": "综合医院",
                         "candidate_id": "b", "score": 1.0, "geometry": near}])
    verdict = gating.judge("hospital", agree, [], districts)
    assert verdict.status == "auto"  # the same place found twice is no tie
    assert gating.category_fits("hospital", "tianditu", "综合医院")
    assert not gating.category_fits("hospital", "tianditu", "停车场")
    assert gating.category_fits("port_terminal", "osm", "harbour=yes")


def test_bad_decisions_file_is_one_clear_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("project_id,source,candidate_id,decision\nP-1,osm,way/1,maybe\n", "utf-8")
    with pytest.raises(Exception, match="accept or reject") as info:
        gating.load_decisions(path)
    assert "\n" not in str(info.value)


def test_city_files_found_by_name_without_code(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "data_folders", [tmp_path])
    (tmp_path / "青川市_gazetteer.csv").write_text("x", "utf-8")
    (tmp_path / "青川_districts.geojson").write_text("x", "utf-8")
    (tmp_path / "青川市_stations.csv").write_text("x", "utf-8")
    files = settings.city_files("青川市")
    assert files["stations"] == tmp_path / "青川市_stations.csv"
    assert files["gazetteer"] == tmp_path / "青川市_gazetteer.csv"
    assert files["districts"] == tmp_path / "青川_districts.geojson"
    assert files["decisions"] == tmp_path / "青川市_decisions.csv"
    assert "reference" not in files
    assert settings.city_files("宁波市")["gazetteer"].name == "ningbo_gazetteer.csv"


def test_city_without_gazetteer_or_sources_says_so(tmp_path, monkeypatch):
    from geo.pipeline import build

    lines: list[str] = []
    folder = tmp_path / "raw"
    folder.mkdir()
    folder.joinpath("临江市_districts.geojson").write_bytes(
        (DATA / "临江市_districts.geojson").read_bytes())
    monkeypatch.setattr(settings, "data_folders", [folder])
    build(REPORT, city=CITY, root=tmp_path, progress=lines.append)
    said = [line for line in lines if "no gazetteer for 临江市" in line]
    assert len(said) == 1 and "--online" in said[0] and "_gazetteer.csv" in said[0]


@pytest.mark.network
def test_real_sources_answer_for_a_real_city(tmp_path, monkeypatch):  # pragma: no cover
    """By hand only (`pytest -m network`): the live services answer in the recorded formats."""
    from geo.districts import load_districts
    from geo.online import ask_sources
    from geo.sources import Area, Query

    monkeypatch.setattr(settings, "cache_folder", tmp_path)
    districts = load_districts("温州市")
    city = Area("温州市", districts.union_all(), districts)
    rows, notes, asked = ask_sources([Query("P-x", "瓯江北口大桥", "bridge")], city,
                                     ["osm", "tianditu"], print)
    assert "osm" in asked, notes
    assert any(r["source"] in ("osm", "nominatim") for r in rows)


def test_gazetteer_source_gives_the_common_table():
    from geo.gazetteer import load_gazetteer
    from geo.sources import COLUMNS, Query
    from geo.sources.gazetteer import GazetteerSource

    city = area()
    gazetteer = load_gazetteer(DATA / "临江市_gazetteer.csv", districts=city.districts)
    rows = GazetteerSource(gazetteer).search(
        [Query("P-hub", "临江站综合交通枢纽", "rail"), Query("P-none", "不存在的项目", "other")],
        city)
    assert [r["project_id"] for r in rows] == ["P-hub"]
    assert set(COLUMNS) <= set(rows[0]) and rows[0]["source"] == "gazetteer"
    assert rows[0]["score"] == 1.0 and rows[0]["precision"] == "site"
    assert GazetteerSource(None).search([Query("P-hub", "临江站", "rail")], city) == []
