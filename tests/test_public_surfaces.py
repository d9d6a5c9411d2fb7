"""No private name of another library is used, except the wrapped few listed here.

A private attribute (``obj._name``) or a private import (``from pkg import _name``)
of another package can change in any release without a word.  The package may
use one only behind a wrapper whose behaviour a test pins, so an upgrade fails
loudly in the tests instead of silently in users' builds.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

#: Public by documentation despite the underscore (namedtuple API, os._exit).
PUBLIC_BY_DOC = {"_asdict", "_replace", "_fields", "_make", "_exit"}

#: Private names still used, each with the wrapper and the test that pins it.
WRAPPED = {
    # geo.webmap renders folium's per-element header macros to hash the inline
    # scripts for the Content-Security-Policy; tests/test_webmap.py and the
    # browser tests (no CSP violation) fail if branca's template layout changes.
    ("geo/webmap.py", "_template"),
}


def _private_uses(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__") and node.attr not in PUBLIC_BY_DOC:
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                continue
            found.append((node.attr, node.lineno))
        if isinstance(node, ast.ImportFrom) and node.level == 0 \
                and not (node.module or "").startswith("geo"):
            found += [(a.name, node.lineno) for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_no_private_names_of_other_packages():
    offenders = []
    for path in sorted((ROOT / "geo").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for name, line in _private_uses(path):
            if (rel, name) not in WRAPPED:
                offenders.append(f"{rel}:{line}: {name}")
    assert not offenders, "private names used:\n" + "\n".join(offenders)


def test_the_scan_finds_a_private_use(tmp_path):
    """The scanner itself works (a test that cannot fail is no test)."""
    sample = tmp_path / "x.py"
    sample.write_text("import osmnx as ox\nfrom folium import _x\nox._errors.Foo\n", "utf-8")
    assert {n for n, _ in _private_uses(sample)} == {"_x", "_errors"}
