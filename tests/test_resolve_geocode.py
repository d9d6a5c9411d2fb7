"""Resolution of mentions to projects and gazetteer matching, on small inputs."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, Polygon, box

from geo.checks import check_projects
from geo.geocode import candidates_for, locate, match_names, same_site, unplace_merged
from geo.resolve import merge_projects, project_id, project_key, resolve


def _mentions(rows):
    cols = ["mention_id", "project_id", "name", "kind", "status", "status_phrase", "part",
            "section", "section_title", "lead", "quote", "start", "end", "year", "section_id",
            "quote_start", "status_start", "status_end"]
    out = []
    for i, (name, kind, status, year, quote) in enumerate(rows):
        out.append({"mention_id": f"M{i + 1:04d}", "project_id": "", "name": name, "kind": kind,
                    "status": status, "status_phrase": "", "part": "review" if year == 2023
                    else "tasks", "section": "一", "section_title": "t", "lead": "",
                    "quote": quote, "start": i * 10, "end": i * 10 + 5, "year": year,
                    "section_id": "1.1", "quote_start": i * 10, "status_start": -1,
                    "status_end": -1})
    return pd.DataFrame(out, columns=cols)


def test_keys_merge_spellings_but_keep_phases_and_lines_apart():
    assert project_key("鄞州大道快速路（机场路—鄞横线）", "宁波市") == project_key("鄞州大道", "宁波市")
    assert project_key("宁波东方理工大学（暂名）", "宁波市") == project_key("东方理工大学", "宁波市")
    assert project_key("轨道交通6号线", "宁波市") == project_key("6号线", "宁波市")
    assert project_key("杭甬高速复线二期") != project_key("杭甬高速复线三期")
    assert project_key("6号线") != project_key("7号线")
    assert project_key("鄞州大道—福庆路（东钱湖段）二期") != project_key("鄞州大道")


def test_project_ids_are_stable_and_status_is_latest():
    m = _mentions([("鄞州大道快速路（机场路—鄞横线）", "road", "under_construction", 2023, "q1"),
                   ("鄞州大道", "road", "completed", 2024, "q2"),
                   ("杭甬高速复线二期", "expressway", "under_construction", 2023, "q3")])
    mentions, projects = resolve(m, "宁波市")
    assert len(projects) == 2
    yz = projects[projects["name"].str.startswith("鄞州大道")].iloc[0]
    assert yz["status"] == "completed" and yz["status_year"] == 2024 and yz["n_mentions"] == 2
    assert yz["project_id"] == project_id(project_key("鄞州大道", "宁波市"))
    again, _ = resolve(m, "宁波市")
    assert list(again["project_id"]) == list(mentions["project_id"])


def _gazetteer():
    rows = [
        {"row": 2, "name": "杭甬高速复线一期", "aliases": (), "kind": "expressway", "name_en": "",
         "precision": "schematic", "source": "s", "district": "", "geometry": LineString([(0, 0), (1, 1)])},
        {"row": 3, "name": "杭甬高速复线三期", "aliases": (), "kind": "expressway", "name_en": "",
         "precision": "schematic", "source": "s", "district": "", "geometry": LineString([(1, 0), (2, 1)])},
        {"row": 4, "name": "宁波大学附属第一医院", "aliases": ("宁大附属第一医院",), "kind": "hospital",
         "name_en": "NUAH", "precision": "site", "source": "s", "district": "", "geometry": Point(0.5, 0.5)},
        {"row": 5, "name": "镇海西大河公园", "aliases": (), "kind": "park", "name_en": "",
         "precision": "site", "source": "s", "district": "", "geometry": Point(0.6, 0.6)},
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def test_phase_never_takes_another_phase():
    gaz = _gazetteer()
    found = match_names(["杭甬高速复线三期", "杭甬高速复线二期"], gaz, "宁波市")
    assert [m.row for m in found["杭甬高速复线三期"]] == [1]
    assert found["杭甬高速复线二期"] == []


def test_rules_exact_alias_normalised_fuzzy():
    gaz = _gazetteer()
    from geo.geocode import index_gazetteer

    keys = index_gazetteer(gaz, "宁波市")
    assert candidates_for("杭甬高速复线一期", keys, "宁波市")[0].rule == "exact"
    assert candidates_for("宁大附属第一医院", keys, "宁波市")[0].rule == "alias"
    assert candidates_for("宁波杭甬高速复线一期项目", keys, "宁波市")[0].rule == "normalised"
    fuzzy = candidates_for("镇海西大河公园二期", keys, "宁波市")
    assert fuzzy and fuzzy[0].rule == "fuzzy" and fuzzy[0].score < 1


def test_alias_merges_projects_and_candidates_are_kept():
    gaz = _gazetteer()
    m = _mentions([("宁波大学附属第一医院", "hospital", "other", 2023, "q"),
                   ("宁大附属第一医院", "hospital", "other", 2024, "q"),
                   ("某某新城", "urban_area", "planning", 2024, "在余姚谋划某某新城")])
    matches = match_names(list(m["name"]), gaz, "宁波市")
    mentions, table = resolve(m, "宁波市")
    # Ids come from the names alone: the gazetteer does not change them.
    assert mentions["project_id"].nunique() == 3
    assert list(mentions["project_id"]) == [project_id(project_key(n, "宁波市"))
                                            for n in m["name"]]
    districts = gpd.GeoDataFrame({"adcode": ["330281"], "name": ["余姚市"], "area_km2": [1.0]},
                                 geometry=[box(10, 10, 11, 11)], crs="EPSG:4326")
    projects, candidates, unresolved = locate(table, mentions, matches, gaz, districts, "宁波市")
    merges = same_site(projects)
    assert len(merges) == 1
    projects = unplace_merged(merge_projects(projects, mentions, "宁波市", merges))
    merged = projects[projects["merged_into"] != ""]
    survivor = projects[projects["project_id"] == merged.iloc[0]["merged_into"]].iloc[0]
    assert merged.iloc[0]["project_id"] in set(mentions["project_id"])
    assert merged.geometry.isna().all() and merged.iloc[0]["match_rule"] == "merged"
    assert survivor["n_mentions"] == 2 and "宁大附属第一医院" in survivor["names"]
    hospital = survivor
    assert hospital["name_en"] == "NUAH" and hospital["precision"] == "site"
    assert set(candidates["rule"]) == {"exact", "alias"} and candidates["chosen"].any()
    town = projects[projects["kind"] == "urban_area"].iloc[0]
    assert town["precision"] == "district" and town["match_rule"] == "district_sentence"
    assert unresolved.empty


def _locate_without_gazetteer(name: str, kind: str, sentence: str):
    """Locate one mention with no gazetteer, in a city of one county (余姚市)."""
    m = _mentions([(name, kind, "planning", 2024, sentence)])
    matches = match_names(list(m["name"]), None, "宁波市")
    mentions, table = resolve(m, "宁波市")
    districts = gpd.GeoDataFrame({"adcode": ["1"], "name": ["余姚市"], "area_km2": [1.0]},
                                 geometry=[box(10, 10, 11, 11)], crs="EPSG:4326")
    projects, _, unresolved = locate(table, mentions, matches, None, districts, "宁波市")
    return projects, unresolved


def test_unresolved_has_a_reason():
    projects, unresolved = _locate_without_gazetteer("无名新城", "urban_area", "谋划无名新城")
    assert projects.geometry.isna().all()
    assert "no county named" in unresolved.loc[0, "reason"]


def test_road_known_only_by_its_county_is_not_a_polygon():
    """A county fallback never draws a road as the county's polygon."""
    projects, unresolved = _locate_without_gazetteer("余姚无名连接线", "road",
                                                     "谋划余姚无名连接线")
    assert projects.geometry.isna().all()
    assert "road known only by the counties" in unresolved.loc[0, "reason"]
    assert "余姚市" in unresolved.loc[0, "reason"]


def test_checks_flag_bad_geometry():
    districts = gpd.GeoDataFrame({"adcode": ["1", "2"], "name": ["余姚市", "慈溪市"],
                                  "area_km2": [1.0, 1.0]},
                                 geometry=[box(121.0, 29.9, 121.3, 30.1),
                                           box(121.3, 29.9, 121.6, 30.1)], crs="EPSG:4326")
    projects = gpd.GeoDataFrame({
        "project_id": ["a", "b", "c", "d"], "name": ["余姚某公园", "甲线", "乙线", "远方"],
        "kind": ["park", "metro", "metro", "park"], "precision": ["site"] * 4},
        geometry=[Point(121.5, 30.0), LineString([(121.0, 30.0), (123.5, 30.0)]),
                  LineString([(121.0, 30.0), (123.5, 30.0)]), Point(100, 30)], crs="EPSG:4326")
    failed = check_projects(projects, districts)
    got = set(zip(failed["project_id"], failed["check"], strict=True))
    assert ("a", "named_county") in got
    assert ("b", "length") in got and ("b", "duplicate_geometry") in got
    assert ("d", "inside_city") in got


def test_checks_flag_boxes_linear_polygons_and_published_measures():
    districts = gpd.GeoDataFrame({"adcode": ["1"], "name": ["余姚市"], "area_km2": [1.0]},
                                 geometry=[box(121.0, 29.9, 121.3, 30.1)], crs="EPSG:4326")
    outline = Polygon([(121.1, 30.0), (121.15, 30.01), (121.14, 30.05), (121.1, 30.04)])
    projects = gpd.GeoDataFrame({
        "project_id": ["box", "road", "long", "noted", "county"],
        "name": ["某片区", "某连接线", "某路", "某新路", "某县道"],
        "kind": ["urban_area", "road", "road", "road", "road"],
        "precision": ["approximate", "approximate", "schematic", "schematic", "district"],
        "published_length_km": [None, None, 2.0, 2.0, None],
        "measure_note": ["", "", "", "drawn for one phase only", ""]},
        geometry=[box(121.1, 30.0, 121.2, 30.05), outline,
                  LineString([(121.05, 30.0), (121.15, 30.0)]),
                  LineString([(121.05, 30.02), (121.15, 30.02)]),
                  box(121.0, 29.9, 121.3, 30.1)], crs="EPSG:4326")
    failed = check_projects(projects, districts)
    got = set(zip(failed["project_id"], failed["check"], strict=True))
    assert {("box", "box"), ("road", "linear_as_polygon"), ("long", "published_measure")} <= got
    assert not any(pid in ("noted", "county") for pid, _ in got)


def test_land_kinds_must_lie_on_the_citys_land():
    """3 km beyond the coast is fine for a wind farm, not for a reservoir."""
    districts = gpd.GeoDataFrame({"adcode": ["1"], "name": ["余姚市"], "area_km2": [1.0]},
                                 geometry=[box(121.0, 29.9, 121.3, 30.1)], crs="EPSG:4326")
    outside = Point(121.331, 30.0)  # ~3 km east of the box
    projects = gpd.GeoDataFrame({
        "project_id": ["w", "r"], "name": ["海上风电场", "某水库"],
        "kind": ["energy", "reservoir"], "precision": ["site", "site"]},
        geometry=[outside, Point(121.332, 30.0)], crs="EPSG:4326")
    failed = check_projects(projects, districts)
    assert failed["project_id"].tolist() == ["r"]
    assert "outside the city's land" in failed.loc[0, "detail"]


def test_county_inside_another_projects_name_is_not_a_location():
    """杭州湾引水工程 is not in 江北区 because 江北下沉式再生水厂 shares its sentence."""
    from geo.extract import extract
    from geo.report import parse

    text = "一、2023年工作回顾\n（一）水利\n葛岙水库、杭州湾引水工程、江北下沉式再生水厂建成投用。\n"
    mentions = extract(parse(text))
    assert list(mentions["name"]) == ["葛岙水库", "杭州湾引水工程", "江北下沉式再生水厂"]
    matches = match_names(list(mentions["name"]), None, "宁波市")
    mentions, table = resolve(mentions, "宁波市")
    districts = gpd.GeoDataFrame({"adcode": ["330205"], "name": ["江北区"], "area_km2": [1.0]},
                                 geometry=[box(121.4, 29.9, 121.6, 30.0)], crs="EPSG:4326")
    projects, _, unresolved = locate(table, mentions, matches, None, districts, "宁波市")
    by_name = projects.set_index("name")
    assert by_name.loc["江北下沉式再生水厂", "precision"] == "district"
    assert by_name.loc["杭州湾引水工程", "geometry"] is None
    assert set(unresolved["name"]) == {"葛岙水库", "杭州湾引水工程"}


def test_checks_use_the_county_of_the_sentence():
    districts = gpd.GeoDataFrame({"adcode": ["1", "2"], "name": ["余姚市", "慈溪市"],
                                  "area_km2": [1.0, 1.0]},
                                 geometry=[box(121.0, 29.9, 121.3, 30.1),
                                           box(121.3, 29.9, 121.6, 30.1)], crs="EPSG:4326")
    projects = gpd.GeoDataFrame({"project_id": ["a"], "name": ["某某公园"], "kind": ["park"],
                                 "precision": ["site"]},
                                geometry=[Point(121.5, 30.0)], crs="EPSG:4326")
    assert check_projects(projects, districts).empty
    failed = check_projects(projects, districts, sentences={"a": ["在余姚建成某某公园。"]})
    assert list(failed["check"]) == ["named_county"]
