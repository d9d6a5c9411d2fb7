"""The forked worker: results, errors, cancellation, and the no-fork fallback."""

from __future__ import annotations

import os
import time

import pytest

from geo.errors import OutputError, ReportError
from geo.parallel import BackgroundCall


def _add(a, b):
    return a + b


def _geo_error():
    raise ReportError("bad thing", path="x.txt", fix="do better")


def _bug():
    raise ZeroDivisionError("boom")


def _die():
    os._exit(3)


def _slow(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(30)


@pytest.mark.parametrize("workers", ["1", "0"])
def test_result_and_errors(monkeypatch, workers):
    monkeypatch.setenv("GEO_WORKERS", workers)
    assert BackgroundCall(_add, 2, 3).result() == 5
    with pytest.raises((OutputError, ReportError), match="bad thing"):
        BackgroundCall(_geo_error).result()
    with pytest.raises((OutputError, ZeroDivisionError), match="boom"):
        BackgroundCall(_bug).result()


def test_a_dead_worker_is_reported(monkeypatch):
    monkeypatch.setenv("GEO_WORKERS", "1")
    with pytest.raises(OutputError, match="exit code 3"):
        BackgroundCall(_die).result()


def test_a_failing_caller_stops_the_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_WORKERS", "1")
    pid_file = tmp_path / "pid.txt"
    with pytest.raises(RuntimeError):
        with BackgroundCall(_slow, pid_file):
            for _ in range(100):
                if pid_file.exists() and pid_file.read_text():
                    break
                time.sleep(0.05)
            raise RuntimeError("caller failed")
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # joined and reaped: no such process any more
        os.kill(pid, 0)
