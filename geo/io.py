"""Atomic file output.

Every output is written to a temporary file in the destination folder and
renamed into place with :func:`os.replace`, which is atomic on POSIX and
Windows.  A failed or interrupted build therefore never leaves a half-written
file, and never clobbers the previous good one.  Two concurrent builds each
write their own temporary file; the last rename wins with a complete file.

:func:`transaction` extends this to a set of files: inside it the renames are
deferred until the block succeeds, so a build that fails while writing its
last output leaves every previous output untouched (not a mix of old and new).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError

#: (temporary, target) renames deferred by the innermost active :func:`transaction`.
_pending: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar(
    "geo_io_pending", default=None)


def ensure_folder(folder: Path) -> Path:
    """Create ``folder`` (and parents) or raise :class:`OutputError` naming it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder ({exc.strerror})", path=folder,
                          fix="choose a writable folder or fix its permissions") from exc
    if not os.access(folder, os.W_OK):
        raise OutputError("output folder is not writable", path=folder,
                          fix="choose a writable folder or fix its permissions")
    return folder


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it to ``target`` on success.

    The temporary file keeps ``target``'s suffix (GDAL picks drivers by it).
    On any exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    ensure_folder(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix or target.suffix,
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # let writers create it fresh (GDAL refuses some existing files)
    try:
        yield tmp
        pending = _pending.get()
        if pending is None:
            try:
                guards = _guard_databases([target])
            except OutputError:
                _remove(tmp)
                raise
            try:
                os.replace(tmp, target)
            finally:
                _release(guards)
        else:
            pending.append((tmp, target))
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    """Delete a temporary file and any SQLite side files it left."""
    for leftover in (tmp, Path(str(tmp) + "-journal"), Path(str(tmp) + "-wal"),
                     Path(str(tmp) + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


@contextlib.contextmanager
def transaction(journal: Path | None = None) -> Iterator[None]:
    """Write several files all together: defer every :func:`atomic_path` rename in the block.

    When the block succeeds the completed temporary files are renamed into place
    one after the other (fast: no data is copied); when it raises, they are
    deleted and no target is touched.  A nested transaction joins the outer one.

    ``journal``: before the first rename the list of renames is written there (itself
    atomically), and removed after the last.  A process killed between the two leaves
    the journal; :func:`recover` then finishes the renames, so the outputs are never a
    mix of two builds once the next build has started.
    """
    if _pending.get() is not None:
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _pending.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            _remove(tmp)
        raise
    finally:
        _pending.reset(token)
    blocked = [target for _, target in pending if target.is_dir()]
    if blocked:  # refuse before the first rename, so no target is replaced
        for tmp, _ in pending:
            _remove(tmp)
        raise OutputError("an output path is a folder", path=blocked[0],
                          fix="move or delete that folder and rebuild")
    try:
        guards = _guard_databases([target for _, target in pending])
    except OutputError:  # refused before the first rename: nothing replaced
        for tmp, _ in pending:
            _remove(tmp)
        raise
    try:
        _switch(pending, journal)
    finally:
        _release(guards)


def _switch(pending: list[tuple[Path, Path]], journal: Path | None) -> None:
    """Rename every temporary into place, with the rename journal around it."""
    if journal is not None:
        _write_journal(Path(journal), pending)
    for i, (tmp, target) in enumerate(pending):
        try:
            os.replace(tmp, target)
        except OSError as exc:
            for rest, _ in pending[i:]:
                _remove(rest)
            if journal is not None:
                _remove(Path(journal))
            raise OutputError(f"cannot replace output ({exc.strerror})", path=target,
                              fix="check permissions of the folder and rebuild") from exc
    if journal is not None:
        _remove(Path(journal))


_SQLITE_HEADER = b"SQLite format 3\x00"


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == _SQLITE_HEADER
    except OSError:
        return False


def _guard_databases(targets) -> list[sqlite3.Connection]:
    """Refuse to replace a GeoPackage (any SQLite file) that another process is writing.

    Replacing the file under a writer would lose its edit: its later COMMIT goes to
    the unlinked old file.  For each existing SQLite target this takes SQLite's
    RESERVED lock (``BEGIN IMMEDIATE``, no waiting), which fails while another
    connection holds RESERVED, PENDING or EXCLUSIVE; readers (SHARED) do not block
    it.  The locks are held until the renames are done (:func:`_release`), so no
    writer can start in between.  A process that keeps the old file open and writes
    *after* the switch still writes to the old file: SQLite cannot tell it.
    """
    held: list[sqlite3.Connection] = []
    for target in targets:
        target = Path(target)
        if not target.is_file() or not _is_sqlite(target):
            continue
        try:
            con = sqlite3.connect(f"file:{target}?mode=rw", uri=True, timeout=0,
                                  isolation_level=None)
        except sqlite3.Error:
            continue  # unreadable old file: nobody can be writing it through SQLite
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            con.close()
            if "locked" not in str(exc) and "busy" not in str(exc):
                continue  # a corrupt or read-only old file is simply replaced
            _release(held)
            raise OutputError("another program holds this GeoPackage open for writing"
                              " (SQLite lock); nothing was replaced", path=target,
                              fix="save or stop editing it there (QGIS: toggle editing off),"
                                  " then rebuild; or build under another --name") from exc
        held.append(con)
    return held


def _release(held: list[sqlite3.Connection]) -> None:
    for con in held:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        con.close()


def _write_journal(journal: Path, pending: list[tuple[Path, Path]]) -> None:
    """Write the rename list to ``journal`` via a temporary file and one rename."""
    data = json.dumps([[str(t), str(g)] for t, g in pending], ensure_ascii=False)
    tmp = journal.with_name(journal.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, journal)


def recover(journal: Path) -> int:
    """Finish the renames of a build killed while switching its outputs; return how many.

    Every temporary file the journal names is complete (the journal is written only
    after all of them), so renaming the remaining ones gives that build's whole set.
    """
    journal = Path(journal)
    _remove(journal.with_name(journal.name + ".tmp"))
    if not journal.exists():
        return 0
    try:
        pairs = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pairs = []  # unreadable: written atomically, so this is not a partial journal
    done = 0
    for tmp, target in pairs:
        if Path(tmp).exists():
            os.replace(tmp, target)
            done += 1
    _remove(journal)
    return done


def sweep_temporaries(targets) -> list[Path]:
    """Delete temporary files :func:`atomic_path` left beside ``targets`` (killed builds).

    Only names of the exact form ``.STEM.xxxxxxxxSUFFIX`` (plus side files such as
    ``-journal`` or the GeoPackage writer's ``.packed``) are removed; call it while
    holding the build's :func:`build_lock`.
    """
    removed: list[Path] = []
    for target in {Path(t) for t in targets}:
        if not target.parent.is_dir():
            continue
        pattern = re.compile(rf"\.{re.escape(target.stem)}\.[a-z0-9_]{{8}}"
                             rf"{re.escape(target.suffix)}(?:[-.][A-Za-z0-9_.-]+)?")
        for path in target.parent.iterdir():
            if pattern.fullmatch(path.name) and path.is_file():
                _remove(path)
                removed.append(path)
    return sorted(removed)


@contextlib.contextmanager
def build_lock(key: Path, on_wait=None) -> Iterator[None]:
    """Hold an exclusive lock for one build name (``key``: its GeoPackage path).

    The lock file lives in the system's temporary folder (not among the outputs) and
    is released when the process ends, even by SIGKILL.  A second build of the same
    name waits for the first (``on_wait`` is told once) instead of racing it.
    """
    import fcntl
    import hashlib

    digest = hashlib.sha1(str(Path(key).resolve()).encode("utf-8")).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "geo-locks"
    try:
        folder.mkdir(exist_ok=True)
        handle = open(folder / f"{digest}.lock", "w")  # noqa: SIM115 - held for the block
    except OSError as exc:
        raise OutputError(f"cannot create the build lock ({exc.strerror})", path=folder,
                          fix="make the temporary folder writable (or set TMPDIR)") from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(f"waiting: another build of {Path(key).stem} is running")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()


def write_text(target: Path, text: str) -> Path:
    """Write ``text`` as UTF-8 with LF newlines, atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return target


def write_or_check(target: Path, text: str, check: bool) -> int:
    """For generator scripts: write ``text`` to ``target`` (exit code 0), or with
    ``check`` only compare it with the file (0 if equal, 1 if it differs)."""
    if check:
        same = target.exists() and target.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{target} differs from a fresh build")
        return 0 if same else 1
    write_text(target, text)
    print(f"wrote {target}: {len(text.encode('utf-8'))} bytes")
    return 0


def write_bytes(target: Path, data: bytes) -> Path:
    """Write ``data`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A signed plain number ("-3.5") is read as that number, never as a formula: kept as is.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def neutralise_cell(value):
    """Prefix ``'`` to a text cell a spreadsheet would run as a formula; others unchanged.

    Report text is data: a name such as ``=HYPERLINK(...)`` must stay text when the CSV
    is opened in Excel or LibreOffice.  Numbers (not strings) are never touched.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) \
            and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_frame(frame):
    """A copy of ``frame`` with every text cell passed through :func:`neutralise_cell`."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or str(frame[column].dtype) in ("string", "str"):
            frame[column] = frame[column].map(neutralise_cell)
    return frame


def csv_text(frame) -> str:
    """The CSV text of a DataFrame as every writer produces it (neutralised, LF, no index).

    Floats are written with fixed formatting so repeated builds are byte-identical.
    """
    return neutralise_frame(frame).to_csv(index=False, lineterminator="\n", float_format="%.3f")


def write_csv(target: Path, frame) -> Path:
    """Write a DataFrame as UTF-8 CSV (see :func:`csv_text`), atomically."""
    return write_text(target, csv_text(frame))
