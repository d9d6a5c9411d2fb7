"""Run one call in a forked worker process while the caller goes on.

The build's slowest output (the GeoPackage) is written by a forked child while
the parent writes the tables and the map: on two cores the wall time drops by
the shorter of the two.  A fork shares the already imported libraries and the
computed tables, so nothing is pickled but the result.  Where ``fork`` is not
available (Windows, macOS defaults) or ``GEO_WORKERS=0`` is set, the call simply
runs in the caller when :meth:`BackgroundCall.result` is asked for.

Errors in the worker come back as :class:`geo.errors.OutputError` (or the
original :class:`geo.errors.GeoError` message) naming what failed; a worker that
dies without a word (killed, crashed) is reported with its exit code.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable
from typing import Any

from .errors import GeoError, OutputError


def _fork_available() -> bool:
    return (os.environ.get("GEO_WORKERS", "1") != "0"
            and "fork" in multiprocessing.get_all_start_methods())


class BackgroundCall:
    """``func(*args)`` in a forked process; :meth:`result` waits and re-raises errors."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self._func, self._args = func, args
        self._process = None
        self._forked = _fork_available()
        if self._forked:
            ctx = multiprocessing.get_context("fork")
            self._recv, send = ctx.Pipe(duplex=False)
            self._process = ctx.Process(target=_child, args=(send, func, args), daemon=True)
            self._process.start()
            send.close()

    def cancel(self) -> None:
        """Stop the worker (the caller failed) and wait for it to exit."""
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
        if self._process is not None:
            self._process.join()
            self._recv.close()
            self._process = None

    def __enter__(self) -> BackgroundCall:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Whatever happens in the caller, no worker outlives the block: a failing
        # caller must not leave a child writing into a file it is deleting.
        if exc_type is not None:
            self.cancel()

    def result(self) -> Any:
        """Wait for the call; return its result or raise its error in this process."""
        if not self._forked:
            return self._func(*self._args)
        if self._process is None:
            raise RuntimeError("the worker's result was already taken or it was cancelled")
        process, self._process = self._process, None
        try:
            status, payload = self._recv.recv()
        except EOFError:
            status, payload = "died", None
        process.join()
        self._recv.close()
        if status == "ok":
            return payload
        if status == "geo":
            raise OutputError(payload)
        if status == "died":
            raise OutputError(f"the worker writing outputs stopped (exit code "
                              f"{process.exitcode})", fix="rebuild; report it if it recurs")
        raise OutputError(f"the worker writing outputs failed: {payload}",
                          fix="this is a bug: please report it with the message above")


def _child(send, func: Callable[..., Any], args: tuple) -> None:
    try:
        result = func(*args)
        send.send(("ok", result))
    except GeoError as exc:
        send.send(("geo", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        send.send(("error", last))
    finally:
        send.close()
