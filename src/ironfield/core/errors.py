"""Errors that name what is wrong and where."""

from __future__ import annotations


class IronfieldError(Exception):
    """Base of every error ironfield raises on purpose."""


class PlantFileError(IronfieldError):
    """A plant file that does not say what ironfield needs.

    Carries the file, the line (1-based, when known), the field path and what was expected,
    so an engineer can go straight to the mistake.
    """

    def __init__(
        self, file: str, problems: list[tuple[int | None, str, str]]
    ) -> None:
        self.file = file
        self.problems = problems
        lines = []
        for line, field, msg in problems:
            where = f"{file}:{line}" if line is not None else file
            lines.append(f"{where}: {field}: {msg}" if field else f"{where}: {msg}")
        super().__init__("invalid plant file\n  " + "\n  ".join(lines))


class UnknownSignalError(IronfieldError, KeyError):
    """A signal path or id that the registry does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown signal"


class MalformedPayloadError(IronfieldError, ValueError):
    """A message from the field that cannot be turned into a batch; says why."""


class BatchError(IronfieldError, ValueError):
    """A batch whose columns do not fit together."""


class CommandRejectedError(IronfieldError):
    """A write-back command refused before anything was sent (limits, read-only, role)."""
