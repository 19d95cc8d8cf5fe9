from __future__ import annotations

import pytest

from ironfield.core.errors import UnknownSignalError
from ironfield.core.signals import SignalDef, SignalRegistry, in_subtree, validate_path
from ironfield.core.timeutil import NS_PER_S, format_ns, parse_duration, parse_time


def test_registry_ids_are_stable_and_loadable() -> None:
    r = SignalRegistry()
    a = r.register(SignalDef("s/a/e/x", unit="m"))
    b = r.register("s/a/e/y")
    assert (a, b) == (0, 1) and r.register("s/a/e/x") == 0
    r2 = SignalRegistry()
    r2.load(r.mapping())
    assert r2.register("s/a/e/z") == 2 and r2.id("s/a/e/y") == 1
    with pytest.raises(ValueError, match="has id"):
        r2.load({"s/a/e/x": 5})
    with pytest.raises(UnknownSignalError, match="unknown signal"):
        r.id("nope/x")
    assert r.subtree("s/a") == [0, 1] and r.definition("s/a/e/x").unit == "m"


@pytest.mark.parametrize("bad", ["x", "a//b", "a/b c", "a/b/"])
def test_bad_paths(bad: str) -> None:
    with pytest.raises(ValueError, match="bad path"):
        validate_path(bad)


def test_subtree() -> None:
    assert in_subtree("a/b/c", "a/b") and not in_subtree("a/bc", "a/b")


def test_durations_and_times() -> None:
    assert parse_duration("250ms") == 250_000_000 and parse_duration("30d") == 30 * 86400 * NS_PER_S
    assert parse_duration(2) == 2 * NS_PER_S
    with pytest.raises(ValueError, match="unit"):
        parse_duration("10 parsecs")
    assert parse_time("2024-01-01T00:00:00Z") == 1_704_067_200 * NS_PER_S
    assert parse_time("2024-01-01T08:00:00+08:00") == 1_704_067_200 * NS_PER_S
    assert parse_time("now-1h", now=10 * 3600 * NS_PER_S) == 9 * 3600 * NS_PER_S
    with pytest.raises(ValueError, match="no zone"):
        parse_time("2024-01-01T00:00:00")
    assert format_ns(1_704_067_200 * NS_PER_S) == "2024-01-01T00:00:00.000Z"
