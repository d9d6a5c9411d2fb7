#!/usr/bin/env python3
"""Store the land of a city's neighbouring prefectures as a small GeoJSON.

    python scripts/make_neighbours.py --city 宁波市 -o data/raw/ningbo_neighbours.geojson
    python scripts/make_neighbours.py --city 宁波市 -o data/raw/ningbo_neighbours.geojson --check

Reads cnmaps' public API (``get_adm_maps(province=…, level='市', source='高德',
wgs84=False)``) through :func:`geo.neighbours.cnmaps_neighbours`: the other
prefectures of the province near the city's counties, clipped, simplified,
converted from GCJ-02 to WGS84 with the exact inverse of geo.coords, rounded to
5 decimals and written one feature per line sorted by name, so the bytes depend
only on the inputs.  ``--check`` exits 1 if the existing file differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import neighbours as gn  # noqa: E402
from geo.districts import load_districts  # noqa: E402
from geo.io import write_or_check  # noqa: E402
from scripts.make_districts import _coords  # noqa: E402


def feature_collection(frame) -> str:
    """Deterministic GeoJSON text, one feature per line."""
    lines = []
    for row in frame.sort_values("city", kind="stable").itertuples():
        feature = {"type": "Feature",
                   "properties": {"city": row.city, "of": row.of, "source": row.source},
                   "geometry": {"type": "MultiPolygon",
                                "coordinates": _coords(row.geometry, gn.DECIMALS)}}
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default="宁波市")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    districts = load_districts(args.city)
    bounds = tuple(round(float(v), 4) for v in districts.total_bounds)
    text = feature_collection(gn.cnmaps_neighbours(args.city, bounds))
    return write_or_check(args.output, text, args.check)


if __name__ == "__main__":
    sys.exit(main())
