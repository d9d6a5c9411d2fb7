"""Where the package looks for data and writes outputs."""

from __future__ import annotations

import importlib
from pathlib import Path

import geo.settings as settings


def _reloaded(monkeypatch, **env):
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    return importlib.reload(settings)


def test_root_is_the_checkout_when_run_from_one(monkeypatch):
    try:
        s = _reloaded(monkeypatch, GEO_ROOT=None)
        assert (s.root / "pyproject.toml").is_file()
        assert s.default_report == s.root / "data" / "raw" / "ningbo_2024.txt"
    finally:
        monkeypatch.undo()
        importlib.reload(settings)


def test_geo_root_moves_data_and_outputs(monkeypatch, tmp_path):
    try:
        s = _reloaded(monkeypatch, GEO_ROOT=str(tmp_path))
        assert s.root == tmp_path
        assert s.layers_folder == tmp_path / "layers"
        # no data of its own: the packaged seed is used
        assert s.city_data["宁波市"]["gazetteer"].is_file()
        assert s.default_report.is_file()
        own = tmp_path / "data" / "raw" / "ningbo_gazetteer.csv"
        own.parent.mkdir(parents=True)
        own.write_text("x", "utf-8")
        s = _reloaded(monkeypatch, GEO_ROOT=str(tmp_path))
        assert s.city_data["宁波市"]["gazetteer"] == own
    finally:
        monkeypatch.undo()
        importlib.reload(settings)


def test_an_installed_package_uses_the_working_directory(monkeypatch, tmp_path):
    """Outside a checkout (a wheel in site-packages) the root is the current directory."""
    fake = tmp_path / "site-packages" / "geo" / "settings.py"
    fake.parent.mkdir(parents=True)
    monkeypatch.delenv("GEO_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(settings, "__file__", str(fake))
    assert settings._default_root() == Path.cwd()


def test_a_city_is_found_by_its_short_name():
    assert settings.canonical_city("宁波") == "宁波市"
    assert settings.canonical_city("宁波市") == "宁波市"
    assert settings.canonical_city("火星") == "火星"  # unknown: left as given


def test_a_city_is_found_by_its_administrative_code():
    import pytest

    from geo.errors import DistrictError

    pytest.importorskip("cnmaps")
    assert settings.canonical_city("330200") == "宁波市"
    assert settings.canonical_city("330203") == "宁波市"   # a county gives its prefecture
    assert settings.canonical_city("310100") == "上海市"
    with pytest.raises(DistrictError, match="999900.*fix:"):
        settings.canonical_city("999900")


def test_a_bad_code_on_the_command_line_is_one_line(capsys):
    import pytest

    from geo.cli import main

    pytest.importorskip("cnmaps")
    assert main(["build", "--city", "999900"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("geo build: error: administrative code '999900'") and "\n" not in err


def test_extract_with_the_short_city_name_gives_the_same_ids(tmp_path):
    from geo.cli import main

    short, full = tmp_path / "short.csv", tmp_path / "full.csv"
    assert main(["extract", str(settings.default_report), "--city", "宁波", "-o", str(short)]) == 0
    assert main(["extract", str(settings.default_report), "--city", "宁波市", "-o", str(full)]) == 0
    assert short.read_bytes() == full.read_bytes()
