"""Error classes.  Every error a user can cause says what, where and how to fix.

The CLI prints ``str(error)`` on one line and exits non-zero; library callers
can catch :class:`GeoError` (or the built-in it also derives from).
"""

from __future__ import annotations


class GeoError(Exception):
    """Base class of errors caused by input, configuration or environment."""

    def __init__(self, message: str, *, path: object = None, line: int | None = None,
                 fix: str | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        text = f"{where}{self.message}"
        if self.fix:
            text += f" (fix: {self.fix})"
        return text


class ReportError(GeoError, ValueError):
    """The report text cannot be read or has no usable content."""


class GazetteerError(GeoError, ValueError):
    """A gazetteer row is invalid (geometry, kind, coordinates, duplicates)."""


class OutputError(GeoError, OSError):
    """An output cannot be written (permissions, locked or corrupt file)."""


class DependencyError(GeoError, ImportError):  # type: ignore[misc]  # path: any, not str
    """An optional dependency needed for the requested action is missing."""


class DistrictError(GeoError, ValueError):
    """District boundaries cannot be read or do not belong to the city."""


class GoldError(GeoError, ValueError):
    """A gold annotation file or the mentions it is scored against is invalid."""


class BasemapError(GeoError, ValueError):
    """The requested base map is unknown or lacks its key."""


class AssetError(GeoError, RuntimeError):
    """A vendored web asset is missing or does not match its manifest (a broken install)."""


class SchemaError(RuntimeError):
    """A table passed between stages lacks columns its schema requires.

    Not a :class:`GeoError`: no input can cause it, so it is a bug and keeps its
    traceback.
    """


class RemoteTraceback(Exception):
    """Carries the formatted traceback of an exception raised in a worker process."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def require(module: str, purpose: str, extra: str | None = None):
    """Import and return ``module`` or raise :class:`DependencyError` saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised with monkeypatch in tests
        pip_name = extra or module
        raise DependencyError(
            f"{purpose} needs the Python package '{pip_name}', which is not installed ({exc})",
            fix=f"pip install {pip_name}",
        ) from exc
