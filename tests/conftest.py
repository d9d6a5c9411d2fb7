"""Shared fixtures: one Ningbo build per test session, written under a temp folder."""

from __future__ import annotations

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
