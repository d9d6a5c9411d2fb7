"""End-to-end: the default Ningbo build produces every output in the contract."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from geo.schema import KINDS, MENTIONS, PARTS, PRECISIONS, PROJECTS_CSV, STATUSES


def test_all_outputs_exist(ningbo_build):
    for key, path in ningbo_build.paths.items():
        assert path.exists() and path.stat().st_size > 0, key


def test_mentions_contract(ningbo_build):
    paths = ningbo_build.paths
    frame = pd.read_csv(paths["mentions"], dtype=str, keep_default_na=False)
    assert list(frame.columns) == MENTIONS
    assert frame["status"].isin(STATUSES).all() and frame["kind"].isin(KINDS).all()
    assert frame["part"].isin(PARTS).all()
    starts = frame["start"].astype(int)
    assert starts.is_monotonic_increasing
    text = ningbo_build.stages.document.text
    for row in frame.itertuples():
        assert text[int(row.start):int(row.end)] in row.name or row.name.endswith(
            text[int(row.start):int(row.end)][-2:])
        assert row.quote in text
    assert len(frame) >= 120


def test_projects_contract_and_links(ningbo_build):
    paths = ningbo_build.paths
    projects = pd.read_csv(paths["projects"], dtype=str, keep_default_na=False)
    mentions = pd.read_csv(paths["mentions"], dtype=str, keep_default_na=False)
    assert list(projects.columns) == PROJECTS_CSV
    assert projects["project_id"].is_unique
    assert set(mentions["project_id"]) == set(projects["project_id"])
    # A project merged into another (same gazetteer site) keeps its id and row; the
    # survivor counts the mentions of both.
    survivor = projects.set_index("project_id")["merged_into"]
    site = mentions["project_id"].map(lambda pid: survivor[pid] or pid)
    active = projects[projects["merged_into"] == ""].set_index("project_id")
    assert (active["n_mentions"].astype(int).sort_index()
            == site.value_counts().sort_index()).all()
    assert set(projects.loc[projects["merged_into"] != "", "merged_into"]) <= set(active.index)
    located = projects[projects["geometry_type"] != ""]
    assert located["precision"].isin(PRECISIONS).all()
    assert (located["source"] != "").all()


def test_extract_and_build_give_the_same_ids(ningbo_build, tmp_path):
    """Ids come from the names alone: `geo extract` (no gazetteer) and `geo build`
    give every mention the same project id."""
    from geo.cli import main

    out = tmp_path / "m.csv"
    assert main(["extract", str(ningbo_build.stages.report_path), "-o", str(out)]) == 0
    extracted = pd.read_csv(out, dtype=str, keep_default_na=False)
    built = pd.read_csv(ningbo_build.paths["mentions"], dtype=str, keep_default_na=False)
    assert list(extracted["mention_id"]) == list(built["mention_id"])
    assert list(extracted["project_id"]) == list(built["project_id"])


def test_known_projects(ningbo_build):
    projects = ningbo_build.stages.projects.set_index("name")
    assert projects.loc["杭甬高速复线三期", "status"] == "under_construction"
    assert projects.loc["杭甬高速复线一期", "status"] == "completed"
    assert projects.loc["杭甬高速复线一期", "status_year"] == 2023
    yz = projects[projects.index.str.startswith("鄞州大道快速路")]
    # 2023 提速建设 (fact), 2024 建成投用 (target): under construction, to complete this year
    assert len(yz) == 1 and yz.iloc[0]["n_mentions"] == 2
    assert yz.iloc[0]["status"] == "to_complete"
    assert yz.iloc[0]["stage_at_report"] == "under_construction"
    assert (yz.iloc[0]["target"], yz.iloc[0]["target_year"]) == ("complete", 2024)


def test_unresolved_are_listed_with_reasons(ningbo_build):
    stages = ningbo_build.stages
    unresolved = pd.read_csv(ningbo_build.paths["unresolved"], dtype=str, keep_default_na=False)
    active = stages.active_projects
    assert set(unresolved["project_id"]) == set(active.loc[active.geometry.isna(), "project_id"])
    assert (unresolved["reason"] != "").all()


def test_geojson_is_valid_and_rounded(ningbo_build):
    data = json.loads(ningbo_build.paths["projects_geojson"].read_text("utf-8"))
    located = ningbo_build.stages.projects.geometry.notna().sum()
    assert len(data["features"]) == located
    ids = [f["id"] for f in data["features"]]
    assert ids == sorted(ids)


def test_every_located_geometry_passes_the_checks(ningbo_build):
    assert ningbo_build.stages.checks.empty, ningbo_build.stages.checks.to_string()


def test_located_share(ningbo_build):
    p = ningbo_build.stages.active_projects
    p = p[p["status"] != "other"]
    better = p.geometry.notna() & ~p["precision"].isin(["district", "city"])
    share = better.mean()
    print(f"located better than district: {better.sum()}/{len(p)} = {share:.1%}")
    assert share >= 0.70


def test_cli_build_extract_evaluate_summary(tmp_path, capsys):
    from conftest import ROOT

    from geo.cli import main

    out = tmp_path / "m.csv"
    assert main(["extract", str(ROOT / "data/raw/ningbo_2024.txt"), "-o", str(out)]) == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == MENTIONS
    assert main(["evaluate", str(out), str(ROOT / "tests/data/ningbo_2024_gold.csv")]) == 0
    assert "precision" in capsys.readouterr().out


def test_cli_summary_prints_table(ningbo_build, capsys):
    from geo.cli import main

    root = ningbo_build.paths["summary"].parents[3]
    assert main(["summary", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "鄞州区" in out and "全市" in out


def test_cli_error_is_one_line(tmp_path, capsys):
    from geo.cli import main

    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["extract", str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "empty" in err and str(empty) in err


def test_other_city_builds_without_gazetteer(tmp_path):
    """A city with no gazetteer: districts from cnmaps, district fallbacks, rest unresolved."""
    import pytest

    pytest.importorskip("cnmaps")
    from conftest import DATA

    from geo.pipeline import build

    result = build(DATA / "wenzhou_sample.txt", city="温州市", name="wenzhou", root=tmp_path)
    stages = result.stages
    assert len(stages.districts) >= 10
    assert set(stages.projects["precision"].dropna()) <= {"district", ""}
    assert (stages.projects["precision"] == "district").any()
    assert len(stages.unresolved) > 0
    assert result.paths["map"].exists() and result.paths["gpkg"].exists()


def test_district_summary_agrees_between_csv_and_geopackage(ningbo_build):
    """The figures planners quote are the same in the CSV and the GeoPackage layer."""
    import numpy as np
    import pyogrio

    csv = pd.read_csv(ningbo_build.paths["summary"], dtype={"adcode": str})
    gpkg = ningbo_build.paths["gpkg"]
    layer = pyogrio.read_dataframe(gpkg, layer="district_summary")
    totals = pyogrio.read_dataframe(gpkg, layer="district_summary_totals", read_geometry=False)
    both = pd.concat([pd.DataFrame(layer.drop(columns="geometry")), totals], ignore_index=True)
    both = both.set_index("district").loc[csv["district"]]
    numeric = [c for c in csv.columns if c.startswith(("n_", "rail_km", "road_km"))]
    for col in numeric:
        assert np.allclose(both[col].astype(float).fillna(0).values,
                           csv[col].astype(float).fillna(0).values, atol=1e-3), col
    city = csv[csv["district"] == "全市"].iloc[0]
    districts = csv[csv["adcode"].fillna("").str.len() == 6]
    km = districts[[c for c in csv.columns if c.startswith("rail_km")]].sum().sum()
    assert abs(km - city[[c for c in csv.columns if c.startswith("rail_km")]].sum()) < 0.05


def test_online_build_keeps_curated_results_and_gates_the_rest(ningbo_build, tmp_path,
                                                                monkeypatch):
    """--online asks OSM (here: a local OSM XML file, no network) only about projects the
    gazetteer does not locate; every gazetteer answer stays as it was."""
    import pandas as pd
    from conftest import DATA

    import geo.online as online
    from geo import settings
    from geo.pipeline import build
    from geo.sources.osm import OsmSource

    asked = []

    class Offline(OsmSource):
        def search(self, queries, area):
            asked.extend(queries)
            return super().search(queries, area)

    monkeypatch.setattr(online, "make_source",
                        lambda name: Offline(xml_path=DATA / "osm_sample.osm",
                                             use_nominatim=False))
    monkeypatch.setattr(online, "unreachable", lambda hosts, timeout=None: {})
    monkeypatch.setattr(settings, "online_sources", ("osm",))
    result = build(root=tmp_path, online=True)
    folder = result.paths["candidates"].parent
    for name in ("online_candidates.csv", "online_candidates.geojson", "review.csv"):
        assert (folder / name).exists(), name
    before = ningbo_build.stages.projects.set_index("project_id")
    curated = before[before["gazetteer_index"].notna() if "gazetteer_index" in before
                     else before["match_rule"].isin(["exact", "alias", "normalised", "fuzzy"])]
    assert {q.project_id for q in asked}.isdisjoint(set(curated.index))
    after = pd.read_csv(result.paths["projects"], dtype=str, keep_default_na=False)
    after = after.set_index("project_id").loc[curated.index]
    assert list(after["source"]) == list(curated["source"])



def test_lengths_and_areas_are_measured_once_in_metres(ningbo_build):
    """The build's lengths match geodesic lengths (not degrees), and every writer
    (GeoJSON, GeoPackage) carries the same value."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    p = ningbo_build.stages.active_projects
    lines = p[p["length_km"].notna()]
    assert len(lines) > 5
    for _, row in lines.iterrows():
        expected = geod.geometry_length(row.geometry) / 1000
        assert row["length_km"] == pytest.approx(expected, rel=0.01, abs=0.06), row["name"]
    data = json.loads(ningbo_build.paths["projects_geojson"].read_text("utf-8"))
    by_id = p.set_index("project_id")
    for feature in data["features"]:
        given = by_id.loc[feature["id"], "length_km"]
        written = feature["properties"].get("length_km")
        assert (written is None and pd.isna(given)) or written == pytest.approx(given)
