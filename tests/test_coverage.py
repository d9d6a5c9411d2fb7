"""Coverage figures (geo.coverage) on a small table and on the Ningbo build."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.cli import main
from geo.coverage import coverage, format_coverage, source_class


@pytest.mark.parametrize("source, expected", [
    ("dataset: airportsdata 20261103, ZSNB", "dataset"),
    ("https://example.org/a; dam site", "cited page"),
    ("浙江网 2023-05-22 (search result)", "cited page"),
    ("knowledge, unverified; waypoints: A, B", "knowledge"),
    ("unverified web copy (example.com); coordinates placed from knowledge", "flagged copy"),
    ("county named in the project's name: 余姚市", "county fallback"),
    ("", "unresolved"),
    (None, "unresolved"),
    (float("nan"), "unresolved"),
])
def test_source_class(source, expected):
    assert source_class(source) == expected


def test_coverage_counts_exclude_other():
    table = pd.DataFrame({
        "status": ["completed", "planning", "started", "other", "completed"],
        "precision": ["site", "schematic", "district", "site", None],
        # a county-level row with a cited page is county level, not "cited page"
        "source": ["https://a", "knowledge, unverified", "https://c",
                   "https://b", None],
    })
    result = coverage(table)
    assert result.projects == 4
    assert result.located_finer == 2
    assert result.share == 0.5
    assert result.by_precision["site"] == 1 and result.by_precision["unresolved"] == 1
    assert result.by_source == {"dataset": 0, "cited page": 1, "flagged copy": 0, "knowledge": 1,
                                "county level": 1, "unresolved": 1}
    text = format_coverage(result)
    assert "2 (50.0%)" in text and "county level 1" in text


def test_coverage_command_matches_projects_csv(ningbo_build, capsys):
    root = ningbo_build.paths["gpkg"].parents[1]
    assert main(["coverage", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    projects = pd.read_csv(ningbo_build.paths["projects"])
    counted = projects[projects["status"] != "other"]
    finer = counted["precision"].isin(["surveyed", "site", "approximate", "schematic"]).sum()
    assert f"located better than district:  {finer} " in out
    assert f"projects (status not 'other'): {len(counted)}" in out
    assert "reference check:" in out
    reference = pd.read_csv(ningbo_build.paths["reference"])
    for precision in reference.loc[reference["method"] != "drawn", "precision"].unique():
        assert f"  {precision:<12} tolerance" in out      # one line per measured class


def test_coverage_without_build_is_a_clear_error(tmp_path, capsys):
    assert main(["coverage", "--root", str(tmp_path)]) == 2
    assert "run `geo build` first" in capsys.readouterr().err
