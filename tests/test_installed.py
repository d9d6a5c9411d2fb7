"""The package works installed, away from any checkout.

``pip install .`` into a fresh virtual environment (system site-packages for the
dependencies, so nothing is downloaded), then ``geo build`` with no arguments in
an empty directory: the packaged seed (the Ningbo report and its data) is built,
and the outputs land in that directory.
"""

from __future__ import annotations

import subprocess
import sys
import venv

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # ``--target`` into the venv's own site-packages: a real (non-editable) install
    # of this checkout, shadowing any editable install of the base interpreter.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True
                          ).stdout.strip()
    work = tmp_path_factory.mktemp("wheelwork")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                             "--no-build-isolation", "--disable-pip-version-check",
                             "--target", site, str(ROOT)], cwd=work, capture_output=True,
                            text=True)
    if result.returncode != 0:
        pytest.fail(result.stdout + result.stderr)
    return python


def test_installed_build_in_an_empty_directory(installed, tmp_path):
    where = subprocess.run([str(installed), "-c", "import geo, geo.settings as s; "
                            "print(geo.__file__); print(s.root); print(s.default_report)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    module, root, report = where.stdout.split("\n")[:3]
    assert not module.startswith(str(ROOT)), module
    assert root == str(tmp_path) and not report.startswith(str(ROOT))
    result = subprocess.run([str(installed), "-m", "geo", "build"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "layers" / "ningbo_2024.gpkg").is_file()
    assert (tmp_path / "maps" / "ningbo_2024.html").is_file()
    assert (tmp_path / "data" / "processed" / "ningbo_2024" / "projects.csv").is_file()
    assert "104 projects" in result.stdout + result.stderr
