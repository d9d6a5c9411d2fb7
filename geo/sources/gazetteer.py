"""The curated gazetteer as a source: always consulted first, its answer always wins.

The matching itself lives in :mod:`geo.geocode` (exact, alias, normalised, fuzzy
rules); this module presents its answers in the common candidates table so a
reviewer sees gazetteer and online candidates side by side.  Projects the
gazetteer locates are never sent to the online sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd

from ..geocode import match_names
from . import Area, Query

LICENCE = "see the gazetteer row's source"


class GazetteerSource:
    """Answers from ``data/raw/<city>_gazetteer.csv`` (or a city_data entry)."""

    name = "gazetteer"
    licence = LICENCE
    hosts: tuple[str, ...] = ()

    def __init__(self, gazetteer: gpd.GeoDataFrame | None) -> None:
        self.gazetteer = gazetteer

    def search(self, queries: Sequence[Query], area: Area) -> list[dict[str, Any]]:
        """Every gazetteer match for the queries' names, with rule and score."""
        if self.gazetteer is None or self.gazetteer.empty:
            return []
        matches = match_names([q.name for q in queries], self.gazetteer, area.city)
        rows = []
        for query in queries:
            for match in matches.get(query.name, []):
                row = self.gazetteer.loc[match.row]
                rows.append({"project_id": query.project_id, "name": query.name,
                             "source": "gazetteer", "candidate_id": f"row {int(row['row'])}",
                             "candidate": match.candidate, "category": str(row["kind"]),
                             "score": round(match.score, 3), "precision": row["precision"],
                             "element": str(row["source"]), "licence": LICENCE,
                             "geometry": row.geometry})
        return rows
