"""Command-line tool ``geo``: thin over the library.

    geo build [REPORT ...] [--city 宁波市] [--name ningbo_2024] [--online]
    geo extract REPORT -o mentions.csv
    geo evaluate mentions.csv gold.csv
    geo summary [--name ningbo_2024] [--format text|markdown|html]
    geo coverage [--name ningbo_2024]
    geo export shp|gpkg|geojson|fgb|kml|csv [--out FOLDER] | postgis --dsn postgresql://…
    geo review [--name N --city C] [--accept|--reject PROJECT_ID SOURCE CANDIDATE_ID]

Library errors (:class:`geo.errors.GeoError`) become one line on stderr and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__, settings
from .errors import GeoError


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_build(args: argparse.Namespace) -> int:
    """Build the layers, tables and map of one report (or a series of reports)."""
    from .pipeline import build

    reports = args.report or []
    if len(reports) > 1:
        from .series import build_series

        if args.year is not None:
            raise GeoError("--year applies to one report; a series reads each report's year",
                           fix="drop --year, or build the report alone")
        result = build_series(reports, city=args.city or settings.default_city,
                              name=args.name, root=args.root, progress=_progress)
    else:
        result = build(reports[0] if reports else None, city=args.city, name=args.name,
                       root=args.root, online=args.online, year=args.year,
                       progress=_progress)
    failed = result.stages.counts()["failed_checks"]
    return 1 if (failed and args.strict) else 0


def cmd_extract(args: argparse.Namespace) -> int:
    """Write the mentions of one report as CSV (ids as in ``geo build``)."""
    from .claims import add_claims, resolve_report_year
    from .extract import extract
    from .io import csv_text, write_csv
    from .report import parse, read_report
    from .resolve import resolve
    from .schema import MENTIONS

    text = read_report(args.report)
    doc = parse(text, args.report)
    for warning in doc.warnings:
        _progress(f"warning: {warning}")
    year, year_warning = resolve_report_year(doc, text, args.report, args.year)
    if year_warning:
        _progress(f"warning: {year_warning}")
    mentions = add_claims(extract(doc), year)
    mentions, projects = resolve(mentions, args.city or settings.default_city)
    if args.output is None or str(args.output) == "-":
        sys.stdout.write(csv_text(mentions[MENTIONS]))
    else:
        write_csv(args.output, mentions[MENTIONS])
        _progress(f"extract: {len(mentions)} mentions of {len(projects)} projects -> {args.output}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score mentions, stages or promises against a gold annotation."""
    from .evaluate import (
        evaluate_files,
        evaluate_series_files,
        format_evaluation,
        format_series_evaluation,
        is_series_gold,
    )

    if Path(args.gold).exists() and is_series_gold(args.gold):
        print(format_series_evaluation(evaluate_series_files(args.mentions, args.gold),
                                       max_rows=args.max_rows))
        return 0
    print(format_evaluation(evaluate_files(args.mentions, args.gold), max_rows=args.max_rows))
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the district summary of a build."""
    import pandas as pd

    from .districts import format_summary
    from .pipeline import output_paths

    path = output_paths(args.name, args.root)["summary"]
    if not path.exists():
        raise GeoError("no district summary yet", path=path, fix="run `geo build` first")
    summary = pd.read_csv(path, dtype={"adcode": str, "district": str, "projects": str})
    summary[["adcode", "projects"]] = summary[["adcode", "projects"]].fillna("")
    print(format_summary(summary, args.format))
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    """Print how well a build's projects are located, per precision class."""
    import pandas as pd

    from .coverage import coverage, format_coverage
    from .pipeline import output_paths

    paths = output_paths(args.name, args.root)
    if not paths["projects"].exists():
        raise GeoError("no projects table yet", path=paths["projects"], fix="run `geo build` first")
    projects = pd.read_csv(paths["projects"], dtype=str, keep_default_na=False)
    projects = projects.replace({"precision": {"": None}, "source": {"": None}})
    reference = pd.read_csv(paths["reference"]) if paths["reference"].exists() else None
    print(format_coverage(coverage(projects), reference))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a built GeoPackage to another format or database."""
    from .export import export
    from .pipeline import output_paths

    gpkg = args.gpkg or output_paths(args.name, args.root)["gpkg"]
    out = args.out or Path("exports") / args.name / args.format
    written = export(gpkg, args.format, out, dsn=args.dsn, rename=args.rename)
    for item in written:
        print(item)
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """List the online candidates awaiting a decision, or record one decision."""
    import pandas as pd

    from .gating import append_decision
    from .pipeline import output_paths

    folder = output_paths(args.name, args.root)["candidates"].parent
    city = args.city or settings.default_city
    target = args.decisions or settings.city_files(city).get("decisions") or (
        settings.data_folders[0] / f"{city}_decisions.csv")
    if args.accept or args.reject:
        project_id, source, candidate_id = args.accept or args.reject
        decision = "accept" if args.accept else "reject"
        append_decision(Path(target), project_id, source, candidate_id, decision,
                        note=args.note or "")
        _progress(f"review: {decision} {source} {candidate_id} for {project_id} -> {target}; "
                  "run `geo build --online` again to apply it")
        return 0
    review = folder / "review.csv"
    if not review.exists():
        raise GeoError("no review list yet", path=review, fix="run `geo build --online` first")
    table = pd.read_csv(review, dtype=str, keep_default_na=False)
    if table.empty:
        print("nothing awaits review")
        return 0
    for pid, part in table.groupby("project_id", sort=True):
        print(f"{pid} {part['name'].iloc[0]} ({part['kind'].iloc[0]}): {part['reason'].iloc[0]}")
        for row in part.itertuples():
            print(f"  {row.source} {row.candidate_id}  {row.candidate}  [{row.category}]  "
                  f"score {row.score}  {row.precision}  at {row.lon},{row.lat}")
    print(f"decide with: geo review --name {args.name} --city {city} "
          "--accept|--reject PROJECT_ID SOURCE CANDIDATE_ID   (writes " f"{target})")
    return 0


def parser() -> argparse.ArgumentParser:
    """The ``geo`` argument parser (one sub-command per action)."""
    p = argparse.ArgumentParser(prog="geo", description=(
        "Map the projects a Chinese city's government work report names: "
        "GeoPackage layers and a self-contained web map."))
    p.add_argument("--version", action="version", version=f"geo {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build tables, GeoPackage and web map for a report")
    b.add_argument("report", nargs="*", type=Path, default=None,
                   help="report text (default: data/raw/ningbo_2024.txt); several reports of "
                        "one city make a series with a promise tracker")
    b.add_argument("--city", default=None, help=f"city name (default: {settings.default_city})")
    b.add_argument("--name", default=None, help="build name (default: ningbo_2024 / file stem)")
    b.add_argument("--root", type=Path, default=None,
                   help="write data/processed, layers and maps under this folder")
    b.add_argument("--online", action="store_true",
                   help="also ask the online sources (OSM via osmnx, 天地图 with TIANDITU_KEY) "
                        "about projects the gazetteer does not locate; gated, reviewable")
    b.add_argument("--year", type=int, default=None,
                   help="the report's year, when its headings do not say it (one report only)")
    b.add_argument("--strict", action="store_true", help="exit 1 if any geometry check fails")
    b.set_defaults(func=cmd_build)

    e = sub.add_parser("extract", help="extract project mentions from any report text")
    e.add_argument("report", type=Path)
    e.add_argument("-o", "--output", type=Path, default=None, help="CSV path (default: stdout)")
    e.add_argument("--year", type=int, default=None,
                   help="the report's year, when its headings do not say it")
    e.add_argument("--city", default=None,
                   help="city name, to strip its prefix from names (default: "
                        f"{settings.default_city}, as for geo build, so both give the same ids)")
    e.set_defaults(func=cmd_extract)

    v = sub.add_parser("evaluate", help="score mentions.csv (or a series' stages.csv / "
                                        "promises.csv) against a gold annotation")
    v.add_argument("mentions", type=Path)
    v.add_argument("gold", type=Path)
    v.add_argument("--max-rows", type=int, default=50)
    v.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("summary", help="print the district summary of a build")
    s.add_argument("--name", default=settings.default_name)
    s.add_argument("--root", type=Path, default=None)
    s.add_argument("--format", choices=["text", "markdown", "html"], default="text")
    s.set_defaults(func=cmd_summary)

    r = sub.add_parser("review", help="list online candidates awaiting a decision, or "
                                      "accept/reject one (data/raw/<城市名>_decisions.csv)")
    r.add_argument("--name", default=settings.default_name)
    r.add_argument("--city", default=None, help=f"city name (default: {settings.default_city})")
    r.add_argument("--root", type=Path, default=None)
    r.add_argument("--decisions", type=Path, default=None, help="decisions file to write")
    r.add_argument("--accept", nargs=3, metavar=("PROJECT_ID", "SOURCE", "CANDIDATE_ID"))
    r.add_argument("--reject", nargs=3, metavar=("PROJECT_ID", "SOURCE", "CANDIDATE_ID"))
    r.add_argument("--note", default=None, help="why (kept in the decisions file)")
    r.set_defaults(func=cmd_review)

    c = sub.add_parser("coverage",
                       help="print how many projects are located, by precision and source")
    c.add_argument("--name", default=settings.default_name)
    c.add_argument("--root", type=Path, default=None)
    c.set_defaults(func=cmd_coverage)

    from .export import FORMATS

    x = sub.add_parser("export", help="export the built GeoPackage to Shapefile, GeoJSON, "
                                      "FlatGeobuf, KML, CSV (WKT), a GeoPackage copy or PostGIS")
    x.add_argument("format", choices=FORMATS)
    x.add_argument("--name", default=settings.default_name)
    x.add_argument("--root", type=Path, default=None)
    x.add_argument("--gpkg", type=Path, default=None, help="GeoPackage (default: the build's)")
    x.add_argument("--out", type=Path, default=None,
                   help="output folder (default: exports/NAME/FORMAT)")
    x.add_argument("--dsn", default=None,
                   help="PostgreSQL connection for postgis, e.g. postgresql://user@127.0.0.1/db")
    x.add_argument("--rename", default=None,
                   help="gpkg: file name of the copy (its embedded project follows the name)")
    x.set_defaults(func=cmd_export)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``geo``; user errors print one line with the fix and return 2."""
    args = parser().parse_args(argv)
    try:
        if getattr(args, "city", None):  # 宁波 → 宁波市 where the data uses the full name
            args.city = settings.canonical_city(args.city)
        return args.func(args)
    except GeoError as exc:
        print(f"geo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"geo {args.command}: interrupted; previous outputs are untouched", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
