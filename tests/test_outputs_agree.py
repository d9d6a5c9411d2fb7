"""Every output tells the same story: CSV, GeoJSON and GeoPackage agree field by field.

A value computed once and serialised by each writer must come out equal in all
of them (missing text may be an empty cell in CSV and NULL elsewhere).
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pyogrio
import pytest


def _norm(value):
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool) or value in ("True", "False"):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else round(value, 6)
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return round(float(value), 6)
    if isinstance(value, str):
        try:
            return round(float(value), 6) if value.strip() else ""
        except ValueError:
            return value
    return value


@pytest.fixture(scope="module")
def outputs(ningbo_build):
    paths = ningbo_build.paths
    csv = pd.read_csv(paths["projects"], dtype=str, keep_default_na=False).set_index(
        "project_id")
    feats = json.loads(paths["projects_geojson"].read_text("utf-8"))["features"]
    geojson = {f["id"]: f["properties"] for f in feats}
    layers = [n for n, _ in pyogrio.list_layers(paths["gpkg"]) if n.startswith("projects_")]
    gpkg_frames = [pyogrio.read_dataframe(paths["gpkg"], layer=n) for n in layers]
    gpkg = pd.concat(gpkg_frames, ignore_index=True).set_index("project_id")
    table = pyogrio.read_dataframe(paths["gpkg"], layer="projects", read_geometry=False
                                   ).set_index("project_id")
    return {"csv": csv, "geojson": geojson, "gpkg": gpkg, "table": table}


def test_located_projects_agree_in_every_output(outputs):
    csv, geojson, gpkg, table = (outputs[k] for k in ("csv", "geojson", "gpkg", "table"))
    assert set(geojson) == set(gpkg.index)
    assert set(gpkg.index) <= set(csv.index) and set(csv.index) <= set(table.index)
    disagreements = []
    for pid, props in geojson.items():
        sources = {"csv": csv.loc[pid].to_dict(), "gpkg": gpkg.loc[pid].to_dict(),
                   "table": table.loc[pid].to_dict(), "geojson": props}
        fields = set().union(*(set(s) for s in sources.values())) - {"geometry"}
        for field in sorted(fields):
            values = {k: _norm(s[field]) for k, s in sources.items() if field in s}
            if len(set(map(repr, values.values()))) > 1:
                disagreements.append(f"{pid} {field}: {values}")
    assert not disagreements, "\n".join(disagreements[:30])
    assert len(geojson) > 50
