"""Errors of the alarm service: each names the rule, the field or the position at fault."""

from __future__ import annotations

from ironfield.core.errors import IronfieldError


class AlarmRuleError(IronfieldError, ValueError):
    """Alarm rules that cannot be used as written.

    ``problems`` holds ``(field, message)`` pairs; the field is the path inside the plant
    file's ``alarms`` list (e.g. ``alarms[3].hh.limit``) and the message names the rule id.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = [f"{f}: {m}" if f else m for f, m in problems]
        super().__init__("invalid alarm rules\n  " + "\n  ".join(lines))


class ExpressionError(IronfieldError, ValueError):
    """An alarm expression that does not parse; carries the 0-based character position."""

    def __init__(self, message: str, source: str, position: int) -> None:
        self.message = message
        self.source = source
        self.position = position
        caret = " " * position + "^"
        super().__init__(f"{message} at position {position}\n  {source}\n  {caret}")


class UnknownAlarmError(IronfieldError, KeyError):
    """An alarm id that the engine does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown alarm"


class AlarmStateError(IronfieldError):
    """An operator action that the alarm's current state does not allow (e.g. ack a normal alarm)."""
