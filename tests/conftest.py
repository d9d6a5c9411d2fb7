"""Shared fixtures: one Ningbo build per test session, written under a temp folder."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def ningbo_build(tmp_path_factory):
    """The default build (Ningbo 2024), written to a session temp folder."""
    from geo.pipeline import build

    root = tmp_path_factory.mktemp("build")
    return build(root=root)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


#: The system Python that has QGIS 3.22 (Debian's python3-qgis).
QGIS_PYTHON = Path("/usr/bin/python3")


@functools.lru_cache(maxsize=1)
def qgis_unavailable() -> str | None:
    """None if the system Python can import qgis.core and osgeo, else the reason."""
    if not QGIS_PYTHON.exists():
        return f"{QGIS_PYTHON} not found"
    proc = subprocess.run([str(QGIS_PYTHON), "-c", "import qgis.core, osgeo.ogr"],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode:
        return f"{QGIS_PYTHON} cannot import qgis.core (apt install python3-qgis): " + \
            proc.stderr.strip().splitlines()[-1]
    return None


def run_qgis_python(*args: object, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a script under the system Python with QGIS, offscreen, outside this venv
    (skips the test when QGIS is not installed)."""
    reason = qgis_unavailable()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return subprocess.run([str(QGIS_PYTHON), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd="/")
