"""Topic templates: ``luobei/pit/{equipment}/{signal}`` <-> MQTT filters and signal paths."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class TopicTemplate:
    """A topic pattern with named single-level variables and an optional trailing ``#``."""

    pattern: str

    def __post_init__(self) -> None:
        if not self.pattern or self.pattern.startswith("/"):
            raise ValueError(f"bad topic template {self.pattern!r}")
        levels = self.pattern.split("/")
        for i, lvl in enumerate(levels):
            if lvl == "#" and i != len(levels) - 1:
                raise ValueError(f"topic template {self.pattern!r}: '#' must be the last level")
            if ("#" in lvl and lvl != "#") or ("+" in lvl and lvl != "+"):
                raise ValueError(f"topic template {self.pattern!r}: wildcards must fill a whole level")
            if _VAR.search(lvl) and _VAR.fullmatch(lvl) is None:
                raise ValueError(
                    f"topic template {self.pattern!r}: a variable must fill a whole level ({lvl!r})"
                )

    @property
    def variables(self) -> list[str]:
        return _VAR.findall(self.pattern)

    def subscription(self) -> str:
        """The MQTT filter that matches every topic of this template."""
        return _VAR.sub("+", self.pattern)

    def _regex(self) -> re.Pattern[str]:
        parts = []
        for lvl in self.pattern.split("/"):
            m = _VAR.fullmatch(lvl)
            if m:
                parts.append(f"(?P<{m.group(1)}>[^/]+)")
            elif lvl == "+":
                parts.append("[^/]+")
            elif lvl == "#":
                parts.append("(?P<_rest>.*)")
            else:
                parts.append(re.escape(lvl))
        return re.compile("^" + "/".join(parts) + "$")

    def match(self, topic: str) -> dict[str, str] | None:
        rx = self.__dict__.get("_rx")
        if rx is None:
            rx = self._regex()
            object.__setattr__(self, "_rx", rx)
        m = rx.match(topic)
        return None if m is None else m.groupdict()


def fill(template: str, variables: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders; a missing variable is an error naming it."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in variables:
            raise KeyError(f"template {template!r} uses {{{name}}}, which the topic does not give")
        return variables[name]

    return _VAR.sub(sub, template)


def covers(general: str, specific: str) -> bool:
    """Does MQTT filter ``general`` match every topic that ``specific`` matches."""
    g, s = general.split("/"), specific.split("/")
    for i, lvl in enumerate(g):
        if lvl == "#":
            return True
        if i >= len(s) or s[i] == "#":
            return False
        if lvl != "+" and (s[i] == "+" or lvl != s[i]):
            return False
    return len(g) == len(s)


def minimal_filters(filters: list[str]) -> list[str]:
    """Drop filters another one already covers: overlapping subscriptions make a broker
    deliver the same message once per matching subscription."""
    unique = list(dict.fromkeys(filters))
    return [
        f for i, f in enumerate(unique)
        if not any(covers(o, f) and (not covers(f, o) or j < i) for j, o in enumerate(unique) if j != i)
    ]


def specificity(pattern: str) -> tuple[int, int]:
    """Sort key: templates with more literal levels match first."""
    levels = pattern.split("/")
    literal = sum(1 for lvl in levels if lvl not in ("+", "#") and not _VAR.fullmatch(lvl))
    return (-literal, -len(levels))
