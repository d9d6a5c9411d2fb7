"""The tables that pass between pipeline stages, and their columns.

Every stage takes and returns a (Geo)DataFrame whose columns are listed here,
so that each stage can be tested alone and other tools can read the CSVs we
write.  ``check_columns`` is called at stage boundaries: a missing column is a
programming error and fails loudly instead of producing a half-empty output.

Tables
------
SECTIONS      the report's outline, one row per part and per （一）-level section.
MENTIONS      one row per project mention, in document order (output contract).
PROJECTS      one row per resolved project; a GeoDataFrame in EPSG:4326 whose
              geometry is empty (None) when the project could not be located.
CANDIDATES    every gazetteer candidate considered for each project, with the
              rule and score, so a reviewer can see why a geometry was chosen.
DISTRICTS     county-level boundaries (GeoDataFrame, EPSG:4326).
SUMMARY       one row per district plus a city-wide row and an ``unlocated`` row.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .errors import SchemaError

#: Display categories of a project (its ``status`` field): the stages plus this year's
#: targets, which are never drawn as completed (geo/claims.py).
DISPLAY_STATUSES: tuple[str, ...] = ("completed", "to_complete", "under_construction", "started",
                                     "to_start", "planning", "other")

#: Normalised status codes, in lifecycle order (the order used in legends).
STATUSES: tuple[str, ...] = ("completed", "under_construction", "started", "planning", "other")

#: Project kinds (output contract).  Themes group kinds; see resources/themes.json.
KINDS: tuple[str, ...] = (
    "rail", "metro", "intercity_rail", "expressway", "road", "bridge", "sea_crossing",
    "tunnel_or_channel", "reservoir", "water_works", "flood_control", "seawall",
    "utility_tunnel", "port_terminal", "airport", "park", "wetland_or_island", "hospital",
    "school", "university", "research", "culture", "sports", "industrial", "energy",
    "logistics", "urban_area", "historic_district", "commercial_area", "other",
)

#: Kinds that never lie at sea.  A geometry of these kinds outside every
#: county is on someone else's land, not offshore, so the coastal buffer that
#: lets ports, bridges and wind farms lie beyond the coastline does not apply.
LAND_KINDS: tuple[str, ...] = (
    "metro", "airport", "reservoir", "water_works", "park", "hospital", "school",
    "university", "research", "culture", "sports", "historic_district", "commercial_area",
)

#: Report parts.
PARTS: tuple[str, ...] = ("review", "tasks", "other")

#: Precision classes of a geometry, best first (README explains each).
PRECISIONS: tuple[str, ...] = ("surveyed", "site", "approximate", "schematic", "district", "city")

SECTIONS = [
    "section_id",     # stable key: "<part_no>" or "<part_no>.<section_no>", e.g. "2.7"
    "part",           # review | tasks | other
    "part_no",        # 一, 二 … as written in the heading
    "part_title",     # heading of the part, e.g. 2024年主要目标任务
    "section",        # 一 … 十, empty for the part's own row
    "section_title",  # full title of the （一）-level section
    "year",           # year the part's statements refer to (review: report year - 1)
    "start",          # character offset where the part/section begins
    "end",            # character offset where it ends
]

MENTIONS = [
    "mention_id",     # M0001 … in document order
    "project_id",     # P-<10 hex> stable hash of the project's normalised key
    "name",           # the project name as written (enumerations expanded)
    "kind",           # one of KINDS
    "status",         # one of STATUSES
    "status_phrase",  # the words that set the status, e.g. 建成投用, 加快…建设
    "part",           # review | tasks | other
    "section",        # Chinese ordinal of the （一）-level section, or ""
    "section_title",
    "lead",           # lead phrase of the paragraph, or ""
    "quote",          # the sentence the mention sits in
    "start",          # offset of the name's first character in the decoded text
    "end",            # offset one past the name's last character
    "claim",          # fact | target | none (geo/claims.py)
    "stage",          # the step the verb names, one of STATUSES
    "year",           # the year the claim is about (review: report year - 1)
]

#: Extra mention columns kept internally (not in mentions.csv).
MENTIONS_EXTRA = ["section_id", "quote_start", "status_start", "status_end"]

PROJECTS = [
    "project_id", "name", "name_en", "kind", "theme", "status", "status_label_zh",
    "status_label_en", "status_year", "status_phrase", "part", "section", "section_title",
    "geometry_type", "precision", "source", "source_url", "source_notes", "match_rule",
    "districts", "n_mentions", "length_km", "area_km2", "published_length_km",
    "published_area_km2", "measure_note", "cited_vertices", "merged_into",
    "stage_at_report", "stage_inferred", "target", "target_year", "promise_outcome",
]

#: Columns of projects.csv (output contract).
PROJECTS_CSV = [
    "project_id", "name", "kind", "theme", "status", "geometry_type", "precision",
    "source", "source_url", "districts", "n_mentions", "merged_into", "source_notes",
    "stage_at_report", "stage_inferred", "target", "target_year", "status_year",
    "status_phrase", "promise_outcome",
]

CANDIDATES = [
    "project_id", "name", "candidate", "gazetteer_row", "rule", "score", "chosen",
]

UNRESOLVED = ["project_id", "name", "kind", "status", "reason"]

DISTRICTS = ["adcode", "name", "area_km2"]



def check_columns(frame: pd.DataFrame, columns: Iterable[str], table: str) -> pd.DataFrame:
    """Return ``frame`` unchanged if it has every column in ``columns``.

    Raises :class:`SchemaError` naming the table and the missing columns.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"table {table!r} lacks columns {missing}")
    return frame
