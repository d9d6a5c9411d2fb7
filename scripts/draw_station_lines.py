#!/usr/bin/env python3
"""Redraw every gazetteer line that lists its stations, through the station table.

    python scripts/draw_station_lines.py [--city 宁波市] [--check]

For each gazetteer row with a ``stations`` cell (``a|b|c``, in order), the row's
``wkt`` becomes the line through those stations' WGS84 coordinates
(:func:`geo.stations.line_through`, 6 decimals).  Every other cell and row is
kept byte for byte.  The gazetteer loader refuses a row whose ``wkt`` no longer
agrees with its stations, so run this after editing either file.  ``--check``
exits 1 if the gazetteer would change.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import settings  # noqa: E402
from geo.io import write_or_check  # noqa: E402
from geo.stations import line_through, load_stations, split_names  # noqa: E402


def redraw(gazetteer_text: str, stations_path: Path) -> str:
    """The gazetteer text with each station-listing row's wkt redrawn."""
    stations = load_stations(stations_path)
    rows = list(csv.reader(io.StringIO(gazetteer_text, newline="")))
    header = rows[0]
    if "stations" not in header:
        return gazetteer_text
    name_at, wkt_at, stations_at = (header.index(c) for c in ("name", "wkt", "stations"))
    for cells in rows[1:]:
        if len(cells) <= stations_at or not cells[stations_at].strip():
            continue
        try:
            line, _ = line_through(stations, split_names(cells[stations_at]), cells[name_at])
        except KeyError as exc:
            sys.exit(f"error: {cells[name_at]}: station {exc.args[0]!r} is not in"
                     f" {stations_path}; add it first")
        except ValueError as exc:
            sys.exit(f"error: {cells[name_at]}: {exc}")
        cells[wkt_at] = "LINESTRING (" + ", ".join(f"{x:.6f} {y:.6f}" for x, y in line.coords) + ")"
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default=settings.default_city)
    parser.add_argument("--check", action="store_true", help="only report whether it changes")
    args = parser.parse_args(argv)
    files = settings.city_files(args.city)
    if "gazetteer" not in files or "stations" not in files:
        sys.exit(f"error: {args.city} needs both a gazetteer and a station table")
    target = Path(files["gazetteer"])
    text = redraw(target.read_text(encoding="utf-8"), Path(files["stations"]))
    return write_or_check(target, text, args.check)


if __name__ == "__main__":
    sys.exit(main())
