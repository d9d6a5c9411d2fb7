"""The forked worker: warm-up, results, errors, cancellation, and the no-fork fallback."""

from __future__ import annotations

import os
import time

import pytest

from geo.errors import OutputError, RemoteTraceback, ReportError
from geo.parallel import Worker


def _add(a, b):
    return a + b


def _geo_error():
    raise ReportError("bad thing", path="x.txt", fix="do better")


def _bug():
    raise ZeroDivisionError("boom")


class _Unpicklable(Exception):
    def __init__(self, text, handle):
        super().__init__(text)
        self.handle = handle

    def __reduce__(self):
        raise TypeError("cannot pickle")


def _unpicklable_bug():
    raise _Unpicklable("odd", object())


def _die():
    os._exit(3)


def _pid_then_sleep(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(30)


WARM = []


def _warm():
    WARM.append(os.getpid())


def _warmed():
    return list(WARM)


def _run(func, *args):
    with Worker(_warm) as worker:
        worker.submit(func, *args)
        return worker.result()


@pytest.mark.parametrize("workers", ["1", "0"])
def test_result_and_errors(monkeypatch, workers):
    monkeypatch.setenv("GEO_WORKERS", workers)
    assert _run(_add, 2, 3) == 5
    with pytest.raises(ReportError, match="x.txt: bad thing"):
        _run(_geo_error)
    with pytest.raises(ZeroDivisionError, match="boom") as info:
        _run(_bug)
    if workers == "1":  # the worker's traceback travels with the bug
        cause = info.value.__cause__
        assert isinstance(cause, RemoteTraceback)
        assert "_bug" in str(cause) and "Traceback" in str(cause)


def test_an_unpicklable_bug_still_reports_its_type(monkeypatch):
    monkeypatch.setenv("GEO_WORKERS", "1")
    with pytest.raises(RuntimeError, match="_Unpicklable: odd") as info:
        _run(_unpicklable_bug)
    assert "_unpicklable_bug" in str(info.value.__cause__)


def test_warm_up_runs_in_the_worker_before_the_job(monkeypatch):
    monkeypatch.setenv("GEO_WORKERS", "1")
    WARM.clear()
    seen = _run(_warmed)
    assert len(seen) == 1 and seen[0] != os.getpid()  # warmed in the child, not here
    assert WARM == []


def test_a_dead_worker_is_reported(monkeypatch):
    monkeypatch.setenv("GEO_WORKERS", "1")
    with pytest.raises(OutputError, match="exit code 3"):
        _run(_die)


def test_a_failing_caller_stops_the_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_WORKERS", "1")
    pid_file = tmp_path / "pid.txt"
    with pytest.raises(RuntimeError), Worker() as worker:
        worker.submit(_pid_then_sleep, pid_file)
        for _ in range(100):
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.05)
        raise RuntimeError("caller failed")
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # joined and reaped: no such process any more
        os.kill(pid, 0)


def test_a_worker_never_given_a_job_exits(monkeypatch):
    monkeypatch.setenv("GEO_WORKERS", "1")
    worker = Worker(_warm)
    process = worker._process
    with worker:
        pass
    assert not process.is_alive()
