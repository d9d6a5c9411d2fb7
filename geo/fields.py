"""The field catalogue: aliases, descriptions, text widths and short names.

Everything comes from ``geo/resources/fields.json`` so that a new column (a new
project field, a new status code in the summary's ``n_<status>`` columns) flows
into the GeoPackage, the QGIS styles and every export without a code edit:

* :func:`alias` / :func:`description` - bilingual alias and description; a
  column the catalogue does not know gets its own name as alias;
* :func:`width` - the declared text width (GeoPackage ``TEXT(n)``, Shapefile
  and PostGIS ``varchar(n)``): the catalogue's width, widened (rounded up to a
  multiple of 50) when a value is longer, so a declared width is never a lie;
* :func:`short_names` - a short name of at most 10 characters for every
  column (Shapefile and older ArcGIS keep only 10), unique within a table:
  the catalogue's ``short``, else the column with the catalogue's
  ``abbreviations`` applied, else truncated, with a numeric suffix on clashes;
* :data:`SEPARATOR` - the one separator of multi-valued text fields
  (``districts``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from . import resources

#: Longest field name Shapefile (dBASE) and older ArcGIS tools keep.
SHORT_MAX = 10


def catalogue() -> dict:
    """The parsed ``fields.json``."""
    return resources.load("fields")


#: Separator of multi-valued text fields such as ``districts`` (e.g. ``海曙区;鄞州区``).
SEPARATOR: str = catalogue()["separator"]


def entry(column: str) -> dict:
    """Catalogue entry of ``column`` (empty dict when unknown)."""
    return catalogue()["fields"].get(column, {})


def alias(column: str) -> str:
    """Bilingual alias (``名称 Name``); the column name for columns not catalogued."""
    return entry(column).get("alias", column)


def description(column: str) -> str:
    """What the column holds (the alias when not catalogued)."""
    from . import settings

    text = entry(column).get("description", alias(column))
    return text.replace("{metric_crs}", settings.metric_crs)


def known(column: str) -> bool:
    """True for columns the catalogue describes."""
    return column in catalogue()["fields"]


def width(column: str, values: Iterable | None = None) -> int:
    """Declared width (characters) of a text column holding ``values``."""
    declared = int(entry(column).get("width", catalogue()["default_width"]))
    longest = max((len(v) for v in (() if values is None else values) if isinstance(v, str)),
                  default=0)
    if longest > declared:
        declared = int(math.ceil(longest / 50.0) * 50)
    return declared


def _derived_short(column: str) -> str:
    """Short form of an uncatalogued column: abbreviations first, then truncation."""
    text = column
    abbreviations = catalogue()["abbreviations"]
    for long in sorted(abbreviations, key=len, reverse=True):
        if len(text) <= SHORT_MAX:
            break
        text = text.replace(long, abbreviations[long])
    return text[:SHORT_MAX]


def short_name(column: str) -> str:
    """Short name of one column, before making names unique within a table."""
    return entry(column).get("short") or _derived_short(column)


def short_names(columns: Sequence[str]) -> dict[str, str]:
    """Column -> short name (≤ 10 characters), unique (case-insensitively) in ``columns``."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        base = short_name(column)
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            suffix = f"_{n}"
            candidate = base[:SHORT_MAX - len(suffix)] + suffix
        taken.add(candidate.lower())
        out[column] = candidate
    return out
