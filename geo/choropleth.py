"""District choropleth classes shared by the web map and the QGIS style.

The classification is computed once here and serialised to both clients, so
a district has the same colour in the browser and in QGIS.  Only real
district rows enter the breaks: the city-wide (全市) and unlocated (未定位)
rows are totals, and including them would stretch the classes so far that
every district falls in the lowest ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pandas as pd

#: Sequential fill colours, light to dark (ColorBrewer YlOrBr, 5 classes).
RAMP: tuple[str, ...] = ("#fff7bc", "#fee391", "#fec44f", "#fe9929", "#d95f0e")
#: Rows of the summary that are totals, not districts (prefix match).
TOTAL_ROWS: tuple[str, ...] = ("全市", "未定位")
#: Measures the web map offers; the QGIS style uses the first.
METRICS: tuple[str, ...] = ("per_100km2", "n_projects")


def is_district_row(name: object) -> bool:
    """True unless ``name`` is the city-wide or the unlocated row."""
    return not str(name).startswith(TOTAL_ROWS)


def district_values(summary: pd.DataFrame, field: str) -> list[float]:
    """Finite values of ``field`` over the district rows of ``summary`` (totals excluded)."""
    if field not in summary or "district" not in summary:
        return []
    rows = summary[summary["district"].map(is_district_row)]
    values = pd.to_numeric(rows[field], errors="coerce")
    return [float(v) for v in values if math.isfinite(v)]


def class_breaks(values: Iterable[float], n: int = len(RAMP)) -> list[float]:
    """Quantile class edges: ``n`` classes at most, lowest value first.

    Returns ``k + 1`` edges for ``k`` classes.  A value belongs to the first
    class ``i`` with ``value <= edges[i + 1]`` (upper bounds inclusive, as QGIS
    matches graduated ranges), so the first class may be the single lowest
    value (``edges[0] == edges[1]``).  The upper edge of class ``k`` is the
    value at rank ``ceil(len * k / n)``: with ten districts and five classes,
    two districts per class.  Quantiles keep every class populated when a few
    districts have far more projects than the rest.
    """
    vals = sorted(float(v) for v in values if v == v)  # drop NaN
    if not vals:
        return [0.0, 1.0]
    uppers = {round(vals[math.ceil(len(vals) * k / n) - 1], 3) for k in range(1, n + 1)}
    return [round(vals[0], 3), *sorted(uppers)]


def class_index(value: float, breaks: Sequence[float]) -> int:
    """The class of ``value``: the first ``i`` with ``value <= breaks[i + 1]``."""
    for i in range(len(breaks) - 1):
        if value <= breaks[i + 1]:
            return i
    return len(breaks) - 2


def class_colours(breaks: Sequence[float]) -> list[str]:
    """One ramp colour per class of ``breaks``, spread over the whole ramp."""
    n = len(breaks) - 1
    return [RAMP[round(i * (len(RAMP) - 1) / max(n - 1, 1))] for i in range(n)]


def classification(summary: pd.DataFrame, field: str) -> dict:
    """Breaks and colours of ``field`` over the districts of ``summary`` (JSON-ready)."""
    breaks = class_breaks(district_values(summary, field))
    return {"field": field, "breaks": breaks, "colours": class_colours(breaks)}
