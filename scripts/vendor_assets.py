#!/usr/bin/env python3
"""Copy the pinned npm browser assets into ``geo/resources/vendor`` and write the manifest.

Run after ``npm ci`` (package.json + package-lock.json pin the versions)::

    npm ci --ignore-scripts --no-audit --no-fund
    python scripts/vendor_assets.py            # copy + write manifest.json
    python scripts/vendor_assets.py --check    # verify committed files match node_modules

The web map never loads anything from a CDN: ``geo.webmap_assets`` reads the
vendored files, checks each sha256 against ``manifest.json`` and inlines them.
The manifest records, per package, the version and licence from the package's
own package.json, the integrity string from package-lock.json, and the
sha256 of every vendored file, so a reviewer can compare them with npm.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "geo" / "resources" / "vendor"

#: package -> list of (path inside the npm package, path inside vendor/<package>/)
FILES: dict[str, list[tuple[str, str]]] = {
    "leaflet": [
        ("dist/leaflet.js", "leaflet.js"),
        ("dist/leaflet.css", "leaflet.css"),
        ("dist/images/layers.png", "images/layers.png"),
        ("dist/images/layers-2x.png", "images/layers-2x.png"),
        ("dist/images/marker-icon.png", "images/marker-icon.png"),
        ("LICENSE", "LICENSE"),
    ],
}


def sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_entry(package: str) -> dict:
    """Return the package-lock.json entry of ``package`` (version, integrity, licence)."""
    lock = json.loads((ROOT / "package-lock.json").read_text("utf-8"))
    try:
        return lock["packages"][f"node_modules/{package}"]
    except KeyError:
        sys.exit(f"package-lock.json has no entry for {package}: run `npm install {package}`")


def package_manifest(package: str) -> dict:
    """Describe one vendored package: version, licence, integrity and file hashes."""
    source = NODE_MODULES / package
    meta = json.loads((source / "package.json").read_text("utf-8"))
    lock = lock_entry(package)
    if meta["version"] != lock["version"]:
        sys.exit(f"node_modules/{package} is {meta['version']} but package-lock.json pins "
                 f"{lock['version']}: run `npm ci`")
    files = {dest: sha256(source / src) for src, dest in FILES[package]}
    return {"version": meta["version"], "license": meta.get("license", ""),
            "integrity": lock.get("integrity", ""), "homepage": meta.get("homepage", ""),
            "files": dict(sorted(files.items()))}


def build_manifest() -> dict:
    """Return the manifest for every package in :data:`FILES`, from node_modules."""
    return {"_about": "Written by scripts/vendor_assets.py from node_modules (pinned by "
                      "package-lock.json). geo.webmap_assets verifies each sha256 before "
                      "inlining a file.",
            "packages": {name: package_manifest(name) for name in sorted(FILES)}}


def copy_files() -> None:
    """Copy every listed file from node_modules into vendor/<package>/."""
    for package, pairs in FILES.items():
        for src, dest in pairs:
            target = VENDOR / package / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(NODE_MODULES / package / src, target)


def manifest_text(manifest: dict) -> str:
    """Serialise the manifest deterministically."""
    return json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def check(manifest: dict) -> int:
    """Return 0 if the committed vendor folder matches node_modules, else 1 (printing why)."""
    path = VENDOR / "manifest.json"
    ok = path.exists() and path.read_text("utf-8") == manifest_text(manifest)
    for package, info in manifest["packages"].items():
        for dest, digest in info["files"].items():
            file = VENDOR / package / dest
            if not file.exists() or sha256(file) != digest:
                print(f"{file}: differs from node_modules/{package}", file=sys.stderr)
                ok = False
    if not ok:
        print("vendored assets are stale: run python scripts/vendor_assets.py", file=sys.stderr)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="verify the committed files instead of copying")
    args = parser.parse_args(argv)
    if not NODE_MODULES.is_dir():
        sys.exit("node_modules is missing: run `npm ci --ignore-scripts` first")
    manifest = build_manifest()
    if args.check:
        return check(manifest)
    copy_files()
    (VENDOR / "manifest.json").write_text(manifest_text(manifest), "utf-8")
    print(f"vendored {sum(len(p) for p in FILES.values())} files into {VENDOR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
