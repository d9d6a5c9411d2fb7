"""Load the browser assets the web map inlines: vendored Leaflet and our own JS/CSS.

Third-party files live in ``geo/resources/vendor/<package>/`` and are listed in
``vendor/manifest.json`` with their sha256 (written by
``scripts/vendor_assets.py`` from the npm packages pinned in package-lock.json).
Every vendored file is verified against the manifest before use, so a
corrupted or hand-edited copy fails loudly instead of shipping.

Our own files live in ``geo/resources/web/``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from functools import cache
from importlib import resources

from .errors import AssetError


def _resource_bytes(*parts: str) -> bytes:
    node = resources.files("geo.resources")
    for part in parts:
        node = node.joinpath(part)
    try:
        return node.read_bytes()
    except FileNotFoundError as exc:
        raise AssetError("packaged asset is missing", path="geo/resources/" + "/".join(parts),
                         fix="reinstall the package or run scripts/vendor_assets.py") from exc


@cache
def manifest() -> dict:
    """Return the parsed ``vendor/manifest.json``."""
    return json.loads(_resource_bytes("vendor", "manifest.json").decode("utf-8"))


def package_info(package: str) -> dict:
    """Return the manifest entry of ``package`` (version, license, files)."""
    try:
        return manifest()["packages"][package]
    except KeyError as exc:
        raise AssetError(f"package {package!r} is not vendored",
                         path="geo/resources/vendor/manifest.json",
                         fix="add it to scripts/vendor_assets.py and rerun it") from exc


@cache
def vendor_bytes(package: str, name: str) -> bytes:
    """Return a vendored file's bytes after checking its sha256 against the manifest."""
    expected = package_info(package)["files"].get(name)
    where = f"geo/resources/vendor/{package}/{name}"
    if expected is None:
        raise AssetError("file is not listed in the vendor manifest", path=where,
                         fix="rerun scripts/vendor_assets.py")
    data = _resource_bytes("vendor", package, name)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise AssetError(f"sha256 {actual[:12]}… does not match the manifest "
                         f"({expected[:12]}…)", path=where,
                         fix="restore the file with `npm ci && python scripts/vendor_assets.py`")
    return data


def vendor_text(package: str, name: str) -> str:
    """Return a verified vendored text file with LF line ends (leaflet.css ships CRLF)."""
    return vendor_bytes(package, name).decode("utf-8").replace("\r\n", "\n")


def web_text(name: str) -> str:
    """Return one of our own files from ``geo/resources/web/``."""
    return _resource_bytes("web", name).decode("utf-8")


_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")
_CSS_URL = re.compile(r"url\((images/[\w.-]+\.png)\)")


def leaflet_js() -> str:
    """Leaflet's JS, verified, without the source-map comment (no extra request)."""
    return _SOURCE_MAP.sub("\n", vendor_text("leaflet", "leaflet.js"))


def leaflet_css() -> str:
    """Leaflet's CSS, verified, with its image URLs turned into data: URIs.

    The layer-control icon would otherwise be fetched from ``images/`` beside
    the HTML file; inlining keeps the page free of any request but tiles.
    """
    def inline(match: re.Match) -> str:
        data = base64.b64encode(vendor_bytes("leaflet", match.group(1))).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return _CSS_URL.sub(inline, vendor_text("leaflet", "leaflet.css"))


def script_safe(text: str) -> str:
    """Make trusted JS/CSS safe to place inside ``<script>``/``<style>`` elements.

    Only a closing tag can end those elements early; vendored code never
    needs one, so ``</`` is written as ``<\\/`` (valid in JS strings and
    regexes, and absent from the CSS we ship).
    """
    return text.replace("</", "<\\/")
