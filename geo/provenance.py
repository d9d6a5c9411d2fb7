"""Public provenance of a geometry: a short label and one link, from the research notes.

A gazetteer ``source`` cell is a research trail: page addresses, what each page
said, how coordinates were placed.  That trail stays available to GIS staff as
``source_notes``; the public gets :func:`public_source`: a label of at most
:data:`MAX_LABEL` characters (publisher, or ``knowledge, unverified``) and one
address (``source_url``).  Addresses are cut before trailing punctuation, links
to Wikipedia copies point at the article on wikipedia.org, and domains listed as
flagged in ``geo/resources/source_domains.json`` (mirrors without a title,
scraped copies, content farms) are never the public link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import resources

#: Longest public label.
MAX_LABEL = 80

#: How a label starts when every address in the notes is flagged.
FLAGGED_LABEL = "unverified web copy"

#: An http(s) address inside free text: up to white space, quotes, brackets or
#: CJK punctuation; trailing ASCII punctuation is stripped by :func:`urls_in`.
_URL = re.compile(r"https?://[^\s\"'<>()（），；。、]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"]}"
_GITHUB_ID = re.compile(r"github file id (\d+)")


@dataclass(frozen=True)
class PublicSource:
    """What a public popup shows: ``label`` (≤ :data:`MAX_LABEL`) and ``url`` (may be empty)."""

    label: str
    url: str


def urls_in(text: str) -> list[str]:
    """Every address in ``text``, in order, without trailing punctuation."""
    return [m.group(0).rstrip(_TRAILING) for m in _URL.finditer(text or "")]


def glued_links(text: str) -> list[str]:
    """Addresses in ``text`` written straight against punctuation (``…html;``, ``…站)``).

    Link detectors disagree on where such an address ends, so the notes must
    leave a space between an address and what follows it."""
    glued = []
    for match in re.finditer(r"https?://\S+", text or ""):
        if match.group(0)[-1] in _TRAILING + ")）。，；、>":
            glued.append(match.group(0))
    return glued


def domain(url: str) -> str:
    """Lower-case host of ``url`` without a trailing dot or ``www.``."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    return host[4:] if host.startswith("www.") else host


def _matches(host: str, suffixes: list[str]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


def is_flagged(url: str) -> bool:
    """True for a mirror that cannot be traced to its original, a copy or a content farm."""
    return _matches(domain(url), resources.load("source_domains")["flagged"])


def original_url(url: str) -> str:
    """The original of a Wikipedia copy (``https://zh.wikipedia.org/wiki/<title>``), else ``url``.

    The title is the copy's last path segment (``.html`` dropped); a
    percent-encoded title is a Chinese article, a plain one an English article.
    ``zh.wikipedia.org.`` (a trailing dot) is normalised too.
    """
    host = domain(url)
    if host.endswith("wikipedia.org"):
        return url.replace(urlsplit(url).netloc, urlsplit(url).netloc.rstrip("."), 1)
    if not _matches(host, resources.load("source_domains")["wikipedia_mirrors"]):
        return url
    path = urlsplit(url).path.rstrip("/")
    title = path.rsplit("/", 1)[-1].removesuffix(".html")
    if not title:
        return url
    lang = "zh" if title.startswith("%") else "en"
    return f"https://{lang}.wikipedia.org/wiki/{title}"


def publisher(url: str) -> str:
    """Short label of the publisher of ``url`` (its domain when unknown)."""
    host = domain(url)
    for suffix, label in resources.load("source_domains")["publishers"].items():
        if host == suffix or host.endswith("." + suffix):
            return label
    return host


def public_source(notes: str) -> PublicSource:
    """The label and link the public sees for the research trail ``notes``."""
    text = (notes or "").strip()
    if not text:
        return PublicSource("", "")
    if text.startswith(("knowledge", "county named")):
        return PublicSource(_cut(text.split(";")[0]), "")
    if text.startswith("dataset:"):
        return PublicSource(_cut(text.split(";")[0]), "")
    links = [original_url(u) for u in urls_in(text)]
    public = [u for u in dict.fromkeys(links) if not is_flagged(u)]
    placed = "; coordinates placed from knowledge" if "knowledge" in text else ""
    if public:
        more = f" +{len(public) - 1} more" if len(public) > 1 else ""
        return PublicSource(_cut(publisher(public[0]) + more + placed), public[0])
    github = _GITHUB_ID.search(text)
    if github:
        return PublicSource(_cut(f"GitHub file in a code index, id {github.group(1)}{placed}"), "")
    if links:
        return PublicSource(_cut(f"{FLAGGED_LABEL} ({domain(links[0])}){placed}"), "")
    return PublicSource(_cut(text), "")


def _cut(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"
