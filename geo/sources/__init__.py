"""Geocoding sources behind one interface (one module per source, like geopy's geocoders).

Every source turns ``(project_id, name, kind)`` queries inside a city's area into
rows of one *candidates table* (:data:`COLUMNS` plus a WGS84 ``geometry``):

``gazetteer``  the curated gazetteer (:mod:`geo.sources.gazetteer`) -- always
               consulted first; its answer always wins;
``osm``        OpenStreetMap through osmnx (:mod:`geo.sources.osm`): named
               features from Overpass with their real geometries, Nominatim
               bounded to the city for the rest;
``tianditu``   天地图 place search (:mod:`geo.sources.tianditu`), CGCS2000
               coordinates (taken as WGS84: they differ by centimetres).

:class:`HttpCache` is the one cache + rate limit design for sources osmnx does
not serve; :func:`check_reachable` fails in seconds when there is no network.
Which candidate goes on the map is decided by :mod:`geo.gating`, not here.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from .. import settings
from ..errors import GeoError

#: Columns of the candidates table every source returns (geometry last, separately).
COLUMNS: list[str] = [
    "project_id",    # the project asked about
    "name",          # the project name sent
    "source",        # gazetteer | osm | nominatim | tianditu
    "candidate_id",  # stable id of the answer within its source (OSM way/123, POI id …)
    "candidate",     # the answer's own name
    "category",      # the answer's type (amenity=hospital, 天地图 typeName …)
    "score",         # name score 0..1 (geo.names.match_score)
    "precision",     # what the answer's geometry is worth (README precision classes)
    "element",       # human-readable element reference for `source` columns
    "licence",       # the licence the geometry is under
]


class NetworkUnavailable(GeoError):
    """The online sources cannot be reached (no network, DNS failure, blocked host)."""


@dataclass(frozen=True)
class Query:
    """One look-up: the project, the name to search, and the project's kind."""

    project_id: str
    name: str
    kind: str


@dataclass(frozen=True)
class Area:
    """Where to search: the city's name, its boundary and its county polygons."""

    city: str
    boundary: BaseGeometry
    districts: gpd.GeoDataFrame = field(repr=False)


class Source(Protocol):
    """What every source offers (see the modules of this package)."""

    name: str
    licence: str
    hosts: tuple[str, ...]

    def search(self, queries: Sequence[Query], area: Area) -> list[dict[str, Any]]:
        """Return candidate rows (:data:`COLUMNS` + ``geometry``) for ``queries``."""
        ...


def empty_frame() -> gpd.GeoDataFrame:
    """An empty candidates table with every column."""
    return gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs="EPSG:4326")


def unreachable(hosts: Sequence[str], timeout: float | None = None) -> dict[str, str]:
    """The hosts that do not accept a TCP connection on port 443 in time, with the error.

    All hosts are probed at once in daemon threads and the answer is taken after at
    most ``settings.reachability_timeout`` seconds: the socket timeout does not bound
    a name look-up (a dead DNS server can block for tens of seconds), so a probe still
    running then counts as unreachable and is left behind without delaying the exit.
    A machine without network learns it in about that time instead of after each
    library's own retries.
    """
    import threading

    timeout = settings.reachability_timeout if timeout is None else timeout
    hosts = list(dict.fromkeys(hosts))
    errors: dict[str, str] = {}

    def probe(host: str) -> None:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                errors[host] = ""
        except OSError as exc:
            errors[host] = f"{exc.__class__.__name__}: {exc}"

    threads = [threading.Thread(target=probe, args=(h,), daemon=True) for h in hosts]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 0.2
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {h: errors.get(h) or f"no answer within {timeout:g} s" for h in hosts
            if errors.get(h) != ""}


def check_reachable(hosts: Sequence[str], timeout: float | None = None) -> None:
    """Raise :class:`NetworkUnavailable` unless every host accepts a TCP connection."""
    failed = unreachable(hosts, timeout)
    if failed:
        host, error = next(iter(failed.items()))
        raise NetworkUnavailable(
            f"cannot reach {host} ({error}); the online sources were not asked",
            fix="check the internet connection (or a proxy), or build without "
                "--online; the offline outputs are written")


class HttpCache:
    """JSON responses cached on disk by request, with a minimum pause between requests.

    The same design as osmnx's cache (one file per request, named by a hash of the
    URL) for sources osmnx does not serve.  A cached answer costs no request and no
    pause; keys and tokens are left out of the hash, so changing a key keeps the cache.
    """

    def __init__(self, name: str, pause: float, secret_params: Sequence[str] = ()) -> None:
        self.name = name
        self.pause = pause
        self.secret_params = tuple(secret_params)
        self._last = 0.0

    def folder(self) -> Path:
        """The cache folder of this source."""
        return Path(settings.cache_folder) / self.name

    def path(self, url: str, params: dict[str, str]) -> Path:
        """Cache file of a request (secret parameters such as keys left out of the name)."""
        public = {k: v for k, v in sorted(params.items()) if k not in self.secret_params}
        digest = hashlib.sha256(f"{url}?{urlencode(public)}".encode()).hexdigest()
        return self.folder() / f"{digest[:32]}.json"

    def get_json(self, url: str, params: dict[str, str]) -> Any:
        """Return the JSON answer to GET ``url?params`` (cached; polite pause otherwise)."""
        import requests

        path = self.path(url, params)
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        wait = self._last + self.pause - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        try:
            response = requests.get(url, params=params, timeout=settings.requests_timeout,
                                    headers={"User-Agent": settings.user_agent})
            response.raise_for_status()
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise GeoError(f"{self.name} request failed: {exc}",
                           fix="check the network and the key, or build without --online"
                           ) from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(answer, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        return answer
