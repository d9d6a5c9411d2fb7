#!/usr/bin/env python3
"""Per-line figures of the rail and metro lines drawn through the station table.

    python scripts/station_distances.py [--city 宁波市] [--against REV]

For every gazetteer line with a ``stations`` cell it prints:

* ``stations`` / ``cited``: how many vertices it has and how many are cited;
* ``independent``: reference points of the line not used to draw it (``use`` =
  check), and their median and largest distance to the line in metres;
* ``loo``: the cited interior stations measured leave-one-out (the distance
  from a station to the line drawn without it): how far the line strays
  between stations, a diagnostic only - a drawn point is no evidence for its line.

With ``--against REV`` it also measures every cited station against the line as
drawn at git revision REV (for example before the lines were redrawn).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import settings  # noqa: E402
from geo.gazetteer import load_gazetteer  # noqa: E402
from geo.stations import load_stations, lookup, split_names, station_index  # noqa: E402
from geo.survey import compare_with_reference, load_reference  # noqa: E402


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    arr = np.asarray(values)
    return (f"{len(arr)}: median {np.median(arr):.0f} m, p90 {np.percentile(arr, 90):.0f} m,"
            f" max {arr.max():.0f} m")


def _metric(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    series = gpd.GeoSeries([Point(p) for p in points], crs="EPSG:4326").to_crs(
        settings.metric_crs)
    return [(p.x, p.y) for p in series]


def table(files: dict[str, Path], old_wkt: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per line drawn through stations (see the module docstring)."""
    stations = load_stations(files["stations"])
    gazetteer = load_gazetteer(files["gazetteer"], stations=stations)
    checks = pd.DataFrame()
    if "reference" in files and Path(files["reference"]).exists():
        checks = compare_with_reference(gazetteer, load_reference(files["reference"]))
        checks = checks[checks["method"] == "independent"]
    rows = []
    index = station_index(stations)
    for _, line in gazetteer[gazetteer["stations"] != ""].iterrows():
        names = split_names(line["stations"])
        found = [lookup(index, n, line["name"]) for n in names]
        cited = [bool(s is not None and s["counts_as_cited"]) for s in found]
        xy = _metric([(float(s["lon"]), float(s["lat"])) for s in found if s is not None])
        loo = [Point(xy[i]).distance(LineString(xy[:i] + xy[i + 1:]))
               for i in range(1, len(xy) - 1) if cited[i]]
        own = checks[checks["name"] == line["name"]] if len(checks) else checks
        row = {"line": line["name"], "stations": len(names), "cited": sum(cited),
               "independent": _stats(list(own["distance_m"])) if len(own) else "-",
               "loo": _stats(loo)}
        if old_wkt is not None and line["name"] in old_wkt:
            from shapely import wkt

            old = gpd.GeoSeries([wkt.loads(old_wkt[line["name"]])], crs="EPSG:4326").to_crs(
                settings.metric_crs).iloc[0]
            row["before"] = _stats([old.distance(Point(p)) for p, c in zip(xy, cited,
                                                                           strict=True) if c])
        rows.append(row)
    return pd.DataFrame(rows)


def _old_wkt(revision: str, path: Path) -> dict[str, str]:
    text = subprocess.run(["git", "show", f"{revision}:{path.relative_to(ROOT)}"], cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return dict(zip(frame["name"], frame["wkt"], strict=True))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default=settings.default_city)
    parser.add_argument("--against", metavar="REV", help="also measure the lines of REV")
    args = parser.parse_args(argv)
    files = settings.city_files(args.city)
    old = _old_wkt(args.against, Path(files["gazetteer"])) if args.against else None
    print(table(files, old).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
