"""Run work in a forked worker process while the caller goes on.

A :class:`Worker` first runs a warm-up (e.g. importing the web-map libraries)
while the caller computes, then takes one job submitted later.  The build uses
one for the map: the worker imports folium during the pipeline stages and
renders the pages while the parent writes the GeoPackage and the tables, so on
two cores the map costs almost no wall time.  A fork shares what is already
imported; the job's arguments are pickled (small tables) and only its result
comes back.

Where ``fork`` is not available (Windows, macOS defaults) or ``GEO_WORKERS=0``
is set, the warm-up and the job simply run in the caller when
:meth:`Worker.result` is asked for.  Errors in the worker come back as
 the same exception: a :class:`geo.errors.GeoError` as the one-line message it
is, any other exception (a bug) with the worker's traceback chained to it as a
:class:`geo.errors.RemoteTraceback`, as :mod:`concurrent.futures` does.  A worker
that dies without a word (killed, crashed) is reported with its exit code.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import traceback
from collections.abc import Callable
from typing import Any

from .errors import GeoError, OutputError, RemoteTraceback


def _fork_available() -> bool:
    return (os.environ.get("GEO_WORKERS", "1") != "0"
            and "fork" in multiprocessing.get_all_start_methods())


def _nothing() -> None:
    return None


class Worker:
    """A forked process that runs ``warmup()`` now and one submitted job later.

    Use it as a context manager: leaving the block stops the process if its
    result was not taken (the caller failed), so no worker outlives the build or
    writes into files the caller is deleting.
    """

    def __init__(self, warmup: Callable[[], Any] = _nothing) -> None:
        self._warmup = warmup
        self._job: tuple | None = None
        self._process = None
        self._forked = _fork_available()
        if self._forked:
            ctx = multiprocessing.get_context("fork")
            jobs_recv, self._jobs = ctx.Pipe(duplex=False)
            self._results, send = ctx.Pipe(duplex=False)
            self._process = ctx.Process(target=_worker_main, args=(jobs_recv, send, warmup),
                                        daemon=True)
            self._process.start()
            send.close()
            jobs_recv.close()

    def submit(self, func: Callable[..., Any], *args: Any) -> None:
        """Hand ``func(*args)`` to the worker (it starts once the warm-up is done)."""
        if self._forked:
            self._jobs.send((func, args))
            self._jobs.close()
        else:
            self._job = (func, args)

    def result(self) -> Any:
        """Wait for the job; return its result or raise its error in this process."""
        if not self._forked:
            self._warmup()
            if self._job is None:
                raise RuntimeError("result() called before submit()")
            func, args = self._job
            return func(*args)
        if self._process is None:
            raise RuntimeError("the worker's result was already taken or it was cancelled")
        process, self._process = self._process, None
        try:
            status, payload = self._results.recv()
        except EOFError:
            status, payload = "died", None
        process.join()
        self._results.close()
        if status == "ok":
            return payload
        if status == "died":
            raise OutputError(f"the worker writing outputs stopped (exit code "
                              f"{process.exitcode})", fix="rebuild; report it if it recurs")
        error, remote = payload
        if isinstance(error, GeoError):
            raise error
        raise error from RemoteTraceback(remote)

    def cancel(self) -> None:
        """Stop the worker (if still running) and wait for it to exit."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._process = None
            self._results.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.cancel()


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its parent dies (even by SIGKILL).

    Otherwise an orphaned worker waits for a job forever, keeping the build lock
    (:func:`geo.io.build_lock`) and blocking the next build.  No-op elsewhere.
    """
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _worker_main(jobs, send, warmup: Callable[[], Any]) -> None:
    """The forked process: warm up, wait for the job, run it, send the outcome."""
    _die_with_parent()
    try:
        warmup()
        func, args = jobs.recv()
        send.send(("ok", func(*args)))
    except EOFError:
        pass  # the caller went away before submitting
    except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
        send.send(("error", (_picklable(exc), "".join(traceback.format_exception(exc)))))
    finally:
        send.close()


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` itself if it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any pickling failure
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
