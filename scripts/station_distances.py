"""Per-line distances between cited station coordinates and the drawn lines.

Reads the gazetteer and the reference table, measures every independent and
leave-one-out reference point (``geo.survey.compare_with_reference``) and prints,
per metro or rail line, how many points were measured and their median, 90th
percentile and largest distance in metres.  With ``--against REV`` it also
measures the cited station coordinates of ``data/raw/ningbo_metro_stations.csv``
against the gazetteer as it was at git revision REV (for example the drawn lines
before they were redrawn through those stations).

Usage: ``python scripts/station_distances.py [--against REV]``
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from geo.gazetteer import load_gazetteer
from geo.survey import compare_with_reference, load_reference

ROOT = Path(__file__).resolve().parent.parent
GAZETTEER = ROOT / "data/raw/ningbo_gazetteer.csv"
REFERENCE = ROOT / "data/raw/ningbo_reference.csv"
STATIONS = ROOT / "data/raw/ningbo_metro_stations.csv"
LINEAR_KINDS = ("metro", "rail")


def summarise(frame: pd.DataFrame, column: str = "distance_m") -> pd.DataFrame:
    """Count, median, p90 and max of ``column`` per ``name``."""
    rows = []
    for name, part in frame.groupby("name", sort=True):
        values = part[column].to_numpy(dtype=float)
        rows.append({"name": name, "points": len(values),
                     "median_m": round(float(np.median(values))),
                     "p90_m": round(float(np.percentile(values, 90))),
                     "max_m": round(float(values.max()))})
    return pd.DataFrame(rows, columns=["name", "points", "median_m", "p90_m", "max_m"])


def current() -> pd.DataFrame:
    """Independent and leave-one-out distances of the reference table, per line."""
    gazetteer = load_gazetteer(GAZETTEER)
    comparison = compare_with_reference(gazetteer, load_reference(REFERENCE), path=REFERENCE)
    kinds = gazetteer.set_index("name")["kind"]
    measured = comparison[comparison["method"].isin(["independent", "leave-one-out"])]
    measured = measured[measured["name"].map(kinds).isin(LINEAR_KINDS)]
    return summarise(measured)


def against(revision: str) -> pd.DataFrame:
    """Distances from the cited stations of each line (as named in its source) to the
    line as drawn at git ``revision``."""
    text = subprocess.run(["git", "show", f"{revision}:data/raw/ningbo_gazetteer.csv"],
                          cwd=ROOT, check=True, capture_output=True, text=True).stdout
    old_path = ROOT / ".station_distances_old.csv"
    old_path.write_text(text, encoding="utf-8")
    try:
        old = load_gazetteer(old_path)
    finally:
        old_path.unlink()
    stations = pd.read_csv(STATIONS, dtype={"name": str})
    points = {row.name: (row.lon, row.lat) for row in stations.itertuples()}
    new = load_gazetteer(GAZETTEER).set_index("name")
    rows = []
    for line in old[old["kind"].isin(LINEAR_KINDS)].itertuples():
        if line.name not in new.index:
            continue
        marker = "stations in order: "
        source = str(new.loc[line.name, "source_notes"])
        if marker not in source:
            continue
        names = [n.strip() for n in source.split(marker, 1)[1].split(";")[0].split(",")]
        reference = pd.DataFrame(
            [{"name": line.name, "feature": n, "lon": points[n][0], "lat": points[n][1],
              "source": "stations file", "use": "check"} for n in names if n in points])
        if reference.empty:
            continue
        rows.append(compare_with_reference(old, reference))
    if not rows:
        return summarise(pd.DataFrame(columns=["name", "distance_m"]))
    return summarise(pd.concat(rows))


def main(argv: list[str] | None = None) -> int:
    """Print the per-line tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="git revision of the gazetteer to measure the cited"
                        " stations against")
    args = parser.parse_args(argv)
    buffer = io.StringIO()
    print("reference points (independent + leave-one-out) per line:", file=buffer)
    print(current().to_string(index=False), file=buffer)
    if args.against:
        print(f"\ncited stations vs lines as drawn at {args.against}:", file=buffer)
        print(against(args.against).to_string(index=False), file=buffer)
    sys.stdout.write(buffer.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
