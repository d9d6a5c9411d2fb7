"""Serve recorded HTTP answers to osmnx and the 天地图 source, with the network blocked.

``install(monkeypatch)`` replaces ``requests.Session.send`` (every request of
osmnx and of :class:`geo.sources.HttpCache` goes through it) by a look-up in
``tests/data/anycity/recorded``: the Overpass interpreter and status endpoints,
Nominatim ``/search`` keyed by ``q``, 天地图 ``/v2/search`` keyed by ``keyWord``
and ``/geocoder``.  A name without a recording gets the service's empty answer.
Sockets refuse to connect, so nothing can leave the machine; the requests served
are listed in the returned list.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

RECORDED = Path(__file__).parent / "data" / "anycity" / "recorded"
EMPTY_TIANDITU = {"resultType": 1, "count": 0, "pois": [],
                  "status": {"infocode": 1000, "cndesc": "服务正常"}}


class Refused(requests.exceptions.ConnectionError):
    """Raised by any attempt to open a real connection in these tests."""


def _answer(request: requests.PreparedRequest) -> tuple[int, str, str]:
    """(status, content type, body) for one request."""
    url = urlsplit(request.url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    if url.path.endswith("/status"):
        return 200, "text/plain", (RECORDED / "overpass_status.txt").read_text("utf-8")
    if url.path.endswith("/interpreter"):
        return 200, "application/json", (RECORDED / "overpass.json").read_text("utf-8")
    if url.path.endswith("/search") and "nominatim" in url.netloc:
        answers = json.loads((RECORDED / "nominatim.json").read_text("utf-8"))
        return 200, "application/json", json.dumps(answers.get(query.get("q", ""), []))
    if url.path.endswith("/v2/search"):
        answers = json.loads((RECORDED / "tianditu_search.json").read_text("utf-8"))
        word = json.loads(query["postStr"])["keyWord"]
        return 200, "application/json", json.dumps(answers.get(word, EMPTY_TIANDITU),
                                                   ensure_ascii=False)
    if url.path.endswith("/geocoder"):
        return 200, "application/json", json.dumps({"msg": "无结果", "status": "101"},
                                                   ensure_ascii=False)
    raise Refused(f"no recording for {request.url}")


def install(monkeypatch) -> list[str]:
    """Replay the recordings instead of the network; return the list of URLs served."""
    served: list[str] = []

    def send(self, request, **kwargs):
        status, kind, body = _answer(request)
        served.append(request.url)
        response = requests.Response()
        response.status_code, response.reason = status, "OK"
        response._content = body.encode("utf-8")
        response.headers["Content-Type"] = f"{kind}; charset=utf-8"
        response.url, response.request, response.encoding = request.url, request, "utf-8"
        return response

    def refuse(*args, **kwargs):
        raise Refused("network blocked in tests")

    monkeypatch.setattr(requests.Session, "send", send)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: "192.0.2.1")  # osmnx's DNS pin
    import geo.online

    monkeypatch.setattr(geo.online, "unreachable", lambda hosts, timeout=None: {})
    return served
