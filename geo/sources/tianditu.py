"""天地图 (the national geographic information platform) place search and geocoder.

Request and response formats follow the platform's documentation
(place search V2.0: http://lbs.tianditu.gov.cn/server/search2.html, read for
this module; the geocoder's format is from the platform's geocoder page as
remembered -- no stored copy was found to check it against, so treat that part
as unverified until a real answer is recorded):

* place search: ``GET https://api.tianditu.gov.cn/v2/search?postStr=<json>&type=query&tk=KEY``
  with ``postStr`` = ``{"keyWord", "queryType": "2" (search inside mapBound),
  "mapBound": "minx,miny,maxx,maxy", "level", "start", "count", "show": "2"}``;
  the answer has ``resultType`` 1 and ``pois``: ``name``, ``hotPointID``, ``lonlat``
  ("lon,lat"), ``address``, ``typeName`` (with ``show`` = 2) …, and ``status``
  (``infocode`` 1000 = ok);
* geocoder: ``GET https://api.tianditu.gov.cn/geocoder?ds={"keyWord": …}&tk=KEY`` →
  ``{"status": "0", "location": {"lon", "lat", "score", "level", "keyWord"}}``.

Coordinates are CGCS2000, used as WGS84 (they differ by centimetres, far less
than any precision class here).  The key comes from ``settings.tianditu_key``
(environment ``TIANDITU_KEY``); without one this source is skipped with a note.
Answers are cached by :class:`geo.sources.HttpCache` (the key is not part of the
cache name) and requests are at least ``settings.tianditu_pause`` seconds apart.
Data © 天地图 (国家地理信息公共服务平台); use under its terms of service.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shapely.geometry import Point

from .. import settings
from ..errors import GeoError
from ..names import city_prefixes, match_score, normalize_name
from . import Area, HttpCache, Query

SEARCH_URL = "https://api.tianditu.gov.cn/v2/search"
GEOCODER_URL = "https://api.tianditu.gov.cn/geocoder"
LICENCE = "© 天地图 (国家地理信息公共服务平台), terms of service: https://www.tianditu.gov.cn"

_cache = HttpCache("tianditu", pause=0.0, secret_params=("tk",))


def search_params(name: str, area: Area, key: str) -> dict[str, str]:
    """The documented place-search request for ``name`` inside the city's bounding box."""
    west, south, east, north = area.boundary.bounds
    post = {"keyWord": name, "queryType": "2", "level": "12", "start": "0", "count": "10",
            "mapBound": f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}", "show": "2"}
    return {"postStr": json.dumps(post, ensure_ascii=False, separators=(",", ":")),
            "type": "query", "tk": key}


def geocoder_params(name: str, city: str, key: str) -> dict[str, str]:
    """The documented geocoder request for ``city + name``."""
    return {"ds": json.dumps({"keyWord": f"{city}{name}"}, ensure_ascii=False,
                             separators=(",", ":")), "tk": key}


def parse_lonlat(text: str) -> Point | None:
    """``"120.1,30.2"`` (or space-separated) → Point, None when malformed."""
    parts = str(text).replace(" ", ",").split(",")
    try:
        lon, lat = float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        return None
    return Point(lon, lat)


def _status_ok(answer: dict[str, Any]) -> bool:
    status = answer.get("status")
    if isinstance(status, dict):
        return str(status.get("infocode", "1000")) == "1000"
    return str(status if status is not None else "0") == "0"


def poi_rows(query: Query, answer: dict[str, Any], area: Area) -> list[dict[str, Any]]:
    """Candidate rows for the POIs of one place-search answer that match the name."""
    if not _status_ok(answer):
        raise GeoError(f"天地图 refused the search: {answer.get('status')}",
                       fix="check TIANDITU_KEY and that the key allows 地名搜索V2.0")
    prefixes = city_prefixes(area.city)
    key = normalize_name(query.name, prefixes)
    rows = []
    for poi in answer.get("pois") or []:
        point = parse_lonlat(poi.get("lonlat", ""))
        if point is None or not area.boundary.intersects(point):
            continue
        score = match_score(key, normalize_name(str(poi.get("name", "")), prefixes))
        if score is None:
            continue
        poi_id = str(poi.get("hotPointID", ""))
        rows.append({"project_id": query.project_id, "name": query.name, "source": "tianditu",
                     "candidate_id": poi_id, "candidate": str(poi.get("name", "")),
                     "category": str(poi.get("typeName", "")), "score": round(float(score), 3),
                     "precision": "site", "element": f"天地图 POI {poi_id}",
                     "licence": LICENCE, "geometry": point})
    return rows


def geocoder_row(query: Query, answer: dict[str, Any], area: Area) -> dict[str, Any] | None:
    """One ``approximate`` candidate from a geocoder answer inside the city, else None."""
    location = answer.get("location") if _status_ok(answer) else None
    if not isinstance(location, dict):
        return None
    point = parse_lonlat(f"{location.get('lon')},{location.get('lat')}")
    if point is None or not area.boundary.intersects(point):
        return None
    score = float(location.get("score", 0)) / 100.0
    return {"project_id": query.project_id, "name": query.name, "source": "tianditu",
            "candidate_id": f"geocoder:{location.get('keyWord', query.name)}",
            "candidate": str(location.get("keyWord", query.name)),
            "category": f"geocoder level {location.get('level', '')}",
            "score": round(min(score, 0.99), 3), "precision": "approximate",
            "element": "天地图 geocoder", "licence": LICENCE, "geometry": point}


class TiandituSource:
    """天地图 place search inside the city's box; the geocoder for names it misses."""

    name = "tianditu"
    licence = LICENCE
    hosts = ("api.tianditu.gov.cn",)

    def __init__(self, key: str | None = None) -> None:
        self.key = key if key is not None else settings.tianditu_key

    def search(self, queries: Sequence[Query], area: Area) -> list[dict[str, Any]]:
        """Candidates for ``queries`` (cached; ``settings.tianditu_pause`` s apart)."""
        _cache.pause = settings.tianditu_pause
        rows: list[dict[str, Any]] = []
        for query in queries:
            answer = _cache.get_json(SEARCH_URL, search_params(query.name, area, self.key))
            found = poi_rows(query, answer, area)
            if not found and settings.tianditu_geocoder:
                answer = _cache.get_json(GEOCODER_URL,
                                         geocoder_params(query.name, area.city, self.key))
                row = geocoder_row(query, answer, area)
                found = [row] if row is not None else []
            rows.extend(found)
        return rows
