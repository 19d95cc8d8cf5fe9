"""Alarm-system health figures on a synthetic journal whose counts are known by construction."""

from __future__ import annotations

import pytest

from ironfield.alarms import alarm_health
from ironfield.core.events import Event

S = 1_000_000_000
MIN = 60 * S
H = 60 * MIN
START = 1_800_000_000 * S
END = START + 2 * H


def ev(alarm: str, action: str, ts: int, priority: str = "low") -> Event:
    to_state, active = {"activate": ("unack", True), "acknowledge": ("acked", True),
                        "clear": ("normal", False)}[action]
    payload = {"alarm": alarm, "rule": alarm, "kind": "limit", "level": "H",
               "from_state": "normal", "to_state": to_state, "action": action,
               "active": active, "priority": priority}
    return Event.make("alarm", "plant/area/x", payload, ts)


def journal() -> list[Event]:
    out = [
        # 'a' chatters: 3 activations within 40 s, then once more much later.
        *[ev("a", "activate", START + 5 * MIN + k * 20 * S, "high") for k in range(3)],
        ev("a", "activate", START + 20 * MIN, "high"),
        # 'b': three activations, never 3 inside 60 s (60 s, 59 s, 31 s apart).
        *[ev("b", "activate", START + t, "high") for t in (MIN, MIN + 59 * S, 2 * MIN + 30 * S)],
        # A flood across two 10-minute periods (12 then 11 alarms), then 10 (not a flood).
        *[ev(f"f{k}", "activate", START + 31 * MIN + k * 10 * S) for k in range(12)],
        *[ev(f"g{k}", "activate", START + 41 * MIN + k * 10 * S) for k in range(11)],
        *[ev(f"h{k}", "activate", START + 71 * MIN + k * 10 * S) for k in range(10)],
        # Standing: 's' since 29 h before the window (stale), 't' active and acknowledged.
        ev("s", "activate", START - 29 * H),
        ev("t", "activate", START + 60 * MIN), ev("t", "acknowledge", START + 61 * MIN),
        ev("u", "activate", START + 90 * MIN), ev("u", "clear", START + 95 * MIN),
        ev("late", "activate", END + MIN),  # after the window: ignored
    ]
    # Everything else clears 5 s after it came in.
    out += [ev(str(e.payload["alarm"]), "clear", e.ts + 5 * S) for e in list(out)
            if e.payload["action"] == "activate" and e.payload["alarm"] not in ("s", "t", "u")]
    out.append(Event.make("weld", "plant/area/x", {"ok": True}, START))  # not an alarm
    return out


def test_rates_floods_chattering_standing_top10() -> None:
    h = alarm_health(journal(), START, END)
    assert h.annunciated == 42
    assert h.per_10min == pytest.approx(42 / 12)
    assert h.per_hour == pytest.approx(21.0)
    assert h.per_day == pytest.approx(504.0)
    assert h.max_per_10min == 12
    assert h.pct_10min_in_flood == pytest.approx(100 * 2 / 12)
    assert [(f.start, f.end, f.alarms) for f in h.floods] == [(START + 30 * MIN, START + 50 * MIN, 23)]
    assert h.pct_hours_over_30 == 0.0  # the first hour has exactly 30: not more than 30
    assert h.chattering == {"a": 3}
    assert [(s.alarm, s.stale) for s in h.standing] == [("s", True), ("t", False)]
    assert [s.alarm for s in h.stale] == ["s"]
    assert [(a, n) for a, n, _ in h.top10[:2]] == [("a", 4), ("b", 3)]
    assert h.top10[0][2] == pytest.approx(100 * 4 / 42)
    assert len(h.top10) == 10
    assert h.top10_pct == pytest.approx(100 * 15 / 42)
    assert h.by_priority == {"high": pytest.approx(100 * 7 / 42), "low": pytest.approx(100 * 35 / 42)}


def test_per_operator_figures_and_thresholds() -> None:
    two = alarm_health(journal(), START, END, operators=2)
    assert two.per_hour == pytest.approx(10.5)
    assert two.max_per_10min == 6
    assert two.floods == [] and two.pct_10min_in_flood == 0.0
    loose = alarm_health(journal(), START, END, chatter_window=90 * S)
    assert loose.chattering == {"a": 3, "b": 3}
    strict = alarm_health(journal(), START, END, stale_after=40 * H)
    assert strict.stale == []


def test_an_empty_window_and_bad_arguments() -> None:
    h = alarm_health([], START, END)
    assert h.annunciated == 0 and h.per_10min == 0.0 and h.top10 == [] and h.by_priority == {}
    with pytest.raises(ValueError, match="end after"):
        alarm_health([], END, START)
    with pytest.raises(ValueError, match="operators"):
        alarm_health([], START, END, operators=0)
