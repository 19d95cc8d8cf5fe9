"""ironfield.alarms: alarm rules, the ISA-18.2 lifecycle, the engine and health figures.

Imports ``ironfield.core`` only (an import-linter contract keeps it so).
"""

from ironfield.alarms.engine import AlarmEngine
from ironfield.alarms.errors import (
    AlarmRuleError,
    AlarmStateError,
    ExpressionError,
    UnknownAlarmError,
)
from ironfield.alarms.health import AlarmHealth, alarm_health
from ironfield.alarms.journal import EVENT_TYPE, SERVICE_EVENT_TYPE, AlarmPayload
from ironfield.alarms.lifecycle import AlarmRecord, AlarmState
from ironfield.alarms.rules import PRIORITIES, Rule, parse_rules
from ironfield.alarms.service import AlarmService

__all__ = [
    "EVENT_TYPE",
    "PRIORITIES",
    "SERVICE_EVENT_TYPE",
    "AlarmEngine",
    "AlarmHealth",
    "AlarmPayload",
    "AlarmRecord",
    "AlarmRuleError",
    "AlarmService",
    "AlarmState",
    "AlarmStateError",
    "ExpressionError",
    "Rule",
    "UnknownAlarmError",
    "alarm_health",
    "parse_rules",
]
