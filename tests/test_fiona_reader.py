"""Read the GeoPackage with fiona, a second GDAL binding the build does not write with.

geopandas writes through pyogrio; a GIS user's scripts often read through fiona.
What one binding wrote, the other must read back the same: every layer opens,
Chinese names survive, and each located project appears exactly once.
"""

from __future__ import annotations

import fiona
import pytest


@pytest.fixture(scope="module")
def gpkg(ningbo_build):
    return ningbo_build.paths["gpkg"]


def _project_features(path):
    """``project_id → name`` of every feature with a geometry in the project layers."""
    seen: dict[str, list[str]] = {}
    for layer in fiona.listlayers(path):
        with fiona.open(path, layer=layer) as source:
            props = source.schema["properties"]
            if source.schema["geometry"] in (None, "None") or "project_id" not in props:
                continue
            for feature in source:
                if feature.geometry is None:
                    continue
                pid = feature.properties["project_id"]
                seen.setdefault(pid, []).append(feature.properties["name"])
    return seen


def test_every_layer_opens(gpkg):
    layers = fiona.listlayers(gpkg)
    assert layers
    for layer in layers:
        with fiona.open(gpkg, layer=layer) as source:
            assert len(source) >= 0 and source.schema is not None


def test_located_projects_read_back_with_their_chinese_names(ningbo_build, gpkg):
    active = ningbo_build.stages.active_projects
    located = active[active.geometry.notna()].set_index("project_id")["name"]
    seen = _project_features(gpkg)
    # combined layers and theme layers may both hold a project: same name in each
    assert set(seen) == set(located.index)
    for pid, names in seen.items():
        assert set(names) == {located[pid]}, pid
    assert any("\u4e00" <= ch <= "\u9fff" for name in located for ch in name)
