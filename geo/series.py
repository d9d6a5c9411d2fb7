"""``geo build A.txt B.txt C.txt``: one city's reports over several years.

Every report runs through the ordinary stages; the latest one gives the map, layers and
tables under ``NAME``, with each project's timeline over the whole series, and the
tracker (:mod:`geo.tracker`) adds ``stages.csv``, ``promises.csv`` and ``scorecard.csv``
across the years.  Reports are sorted by the year read from each; a report without a
readable year, two reports of one year, or a report that never names the city is an
error naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from . import settings
from .claims import find_report_year, timeline_text
from .errors import GeoError
from .io import ensure_folder
from .parallel import Worker
from .pipeline import (
    BuildResult,
    Stages,
    _import_webmap,
    output_paths,
    run_stages,
    set_promises,
    write_outputs,
)
from .report import parse, read_report
from .tracker import check_city, order_series, report_of, track


def build_series(reports: Sequence[Path], *, city: str, name: str, root: Path | None = None,
                 progress: Callable[[str], None] = lambda s: None) -> BuildResult:
    """Build the latest report's outputs plus the promise tracker over all ``reports``."""
    if not name:
        raise GeoError("a series of reports needs a build name",
                       fix="pass --name, e.g. --name hangzhou_2022_2024")
    paths = output_paths(name, root)
    texts = [read_report(Path(p)) for p in reports]
    years = []
    for path, text in zip(reports, texts, strict=True):
        check_city(text, city, path)
        years.append(find_report_year(parse(text, Path(path)), text)[0])
    order = order_series(list(zip(reports, years, strict=True)))
    for folder in {p.parent for p in paths.values()}:
        ensure_folder(folder)
    with Worker(_import_webmap) as map_worker, settings.restoring_metric_crs():
        built: list[Stages] = []
        for i in order:
            progress(f"series: {reports[i]} ({years[i]})")
            built.append(run_stages(Path(reports[i]), city=city, name=name, text=texts[i],
                                    year=years[i], progress=progress))
        views = [report_of(s) for s in built]
        table, promises, ids = track(views)
        latest = built[-1]
        set_promises(latest, table, promises)
        _series_timelines(latest, built, ids)
        write_outputs(latest, paths, progress=progress, map_worker=map_worker)
    counts = promises["outcome"].value_counts().to_dict()
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    progress(f"promises: {len(promises)} ({summary})")
    return BuildResult(latest, paths)


def _series_timelines(latest: Stages, built: list[Stages], ids: dict) -> None:
    """Each project of the latest report gets its timeline over the whole series in
    ``status_phrase`` (the earlier reports' claims first)."""
    year = latest.meta["report_year"]
    members: dict[str, list[dict]] = {}
    for stages in built:
        y = stages.meta["report_year"]
        for record in stages.mentions.to_dict("records"):
            sid = ids.get((y, record["project_id"]), record["project_id"])
            members.setdefault(sid, []).append(record)
    phrases = []
    for pid, merged in zip(latest.projects["project_id"], latest.projects["merged_into"],
                           strict=True):
        sid = ids.get((year, merged or pid), merged or pid)
        phrases.append(timeline_text(members.get(sid, [])))
    latest.projects["status_phrase"] = phrases
