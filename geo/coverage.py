"""How well a build's projects are located: the figures README and reviews quote.

:func:`coverage` reads a ``projects`` table (the build's ``projects.csv``) and
counts, over the projects whose status is not ``other``, how many are located
at a precision better than their county, broken down by precision class and by
the kind of source behind the geometry (:func:`source_class`).  ``geo
coverage`` prints it; nothing here is hard-coded to one city.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .provenance import FLAGGED_LABEL
from .schema import PRECISIONS
from .survey import class_summary

#: Precision classes that count as located better than the county.
FINER_THAN_DISTRICT: tuple[str, ...] = PRECISIONS[:PRECISIONS.index("district")]

#: Source classes, in the order they are reported.
SOURCE_CLASSES: tuple[str, ...] = (
    "dataset", "cited page", "flagged copy", "knowledge", "county fallback", "unresolved",
)

#: Buckets of :attr:`Coverage.by_source`: the source of geometries finer than a
#: county, then everything placed at county or city level, then the unresolved.
SOURCE_BUCKETS: tuple[str, ...] = ("dataset", "cited page", "flagged copy", "knowledge",
                                   "county level", "unresolved")


def source_class(source: object) -> str:
    """Classify a geometry's ``source`` text.

    * ``dataset`` — a published dataset (``airportsdata``, ``cnmaps``, OSM …)
      gave the coordinates (source starts with ``dataset:``);
    * ``cited page`` — a web page stated the location (source starts with a URL
      or cites a named publication);
    * ``flagged copy`` — the only pages are flagged copies or content farms
      (:data:`geo.provenance.FLAGGED_LABEL`);
    * ``knowledge`` — placed from general knowledge (``knowledge, unverified``);
    * ``county fallback`` — only the county named in the text is known;
    * ``unresolved`` — no geometry.
    """
    text = "" if source is None or (isinstance(source, float) and source != source) else str(source)
    text = text.strip()
    if not text:
        return "unresolved"
    if text.startswith("dataset:"):
        return "dataset"
    if text.startswith("knowledge"):
        return "knowledge"
    if text.startswith("county named"):
        return "county fallback"
    if text.startswith(FLAGGED_LABEL):
        return "flagged copy"
    return "cited page"


@dataclass(frozen=True)
class Coverage:
    """Counts over the projects whose status is not ``other``."""

    projects: int
    located_finer: int
    by_precision: dict[str, int]
    #: :data:`SOURCE_BUCKETS` -> count; the first four split ``located_finer``.
    by_source: dict[str, int]

    @property
    def share(self) -> float:
        """Share located better than the county (0..1)."""
        return self.located_finer / self.projects if self.projects else 0.0


def coverage(projects: pd.DataFrame) -> Coverage:
    """Count located projects by precision and source (status ``other`` excluded)."""
    counted = projects[projects["status"] != "other"]
    precision = counted["precision"].fillna("unresolved").astype(str)
    finer_mask = precision.isin(FINER_THAN_DISTRICT)
    buckets = counted["source"].map(source_class).where(finer_mask, "county level")
    buckets = buckets.where(precision != "unresolved", "unresolved")
    by_precision = {p: int((precision == p).sum()) for p in (*PRECISIONS, "unresolved")}
    by_source = {b: int((buckets == b).sum()) for b in SOURCE_BUCKETS}
    finer = int(finer_mask.sum())
    return Coverage(len(counted), finer, by_precision, by_source)


def format_coverage(result: Coverage, reference: pd.DataFrame | None = None) -> str:
    """Plain-text report of :func:`coverage` and, if given, the reference check."""
    lines = [
        f"projects (status not 'other'): {result.projects}",
        f"located better than district:  {result.located_finer} ({result.share:.1%})",
        "by precision: " + ", ".join(f"{k} {v}" for k, v in result.by_precision.items() if v),
        "by source:    " + ", ".join(f"{k} {v}" for k, v in result.by_source.items() if v)
        + "  (sources of the finer geometries, then county level and unresolved)",
    ]
    if reference is not None and len(reference):
        lines.extend(_format_reference(reference))
    return "\n".join(lines)


def _format_reference(reference: pd.DataFrame) -> list[str]:
    """Lines of the reference check: per precision class, the evidence points
    (independent and leave-one-out) within tolerance; points without a verdict."""
    within = reference["within"].astype(str).str.lower().isin(("true", "1"))
    method = reference.get("method", pd.Series("independent", index=reference.index)).astype(str)
    evidence = method.isin(("independent", "leave-one-out"))
    drawn = int((~evidence).sum())
    lines = [f"reference check: {int((within & evidence).sum())}/{int(evidence.sum())} evidence"
             " points (independent or leave-one-out) within their class's tolerance"
             + (f" ({drawn} drawn-through points without a verdict)" if drawn else "")]
    for row in class_summary(reference.assign(method=method)).itertuples():
        if row.checks:
            verdict = "holds" if row.within == row.checks else "FAILS"
            lines.append(f"  {row.precision:<12} tolerance {row.tolerance_m:.0f} m:"
                         f" {row.within}/{row.checks} within, median {row.median_m:.0f} m,"
                         f" largest {row.max_m:.0f} m — {verdict}")
        else:
            lines.append(f"  {row.precision:<12} no independent check"
                         f" ({row.drawn_only} drawn-through points only)")
    for _, row in reference[evidence & ~within].iterrows():
        lines.append(f"  outside: {row['name']} vs {row['feature']}: {row['distance_m']} m")
    return lines
