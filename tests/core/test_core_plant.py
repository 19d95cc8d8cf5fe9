from __future__ import annotations

from pathlib import Path

import pytest

from ironfield.core.errors import PlantFileError
from ironfield.core.plant import load_plant, parse_plant
from ironfield.demo import plant_path

GOOD = """
plant: p
equipment_types:
  robot:
    signals:
      - {name: current_ka, unit: kA, range: [0, 20]}
sites:
  - id: s
    areas:
      - id: a
        equipment:
          - {ids: "robot-{01..03}", type: robot}
          - id: press
            signals:
              - {name: force_kn, unit: kN, class: fast, writable: true}
            equipment:
              - id: die
                signals: [{name: temp_c}]
"""


def test_expands_types_and_ranges() -> None:
    spec = parse_plant(GOOD, "good.yaml")
    paths = [d.path for d in spec.signal_defs()]
    assert paths == [
        "s/a/robot-01/current_ka", "s/a/robot-02/current_ka", "s/a/robot-03/current_ka",
        "s/a/press/force_kn", "s/a/press/die/temp_c",
    ]
    d = spec.signal_defs()[3]
    assert d.klass == "fast" and d.writable and d.unit == "kN"
    assert spec.signal_defs()[0].high == 20
    assert "s/a/press/die" in spec.assets()


@pytest.mark.parametrize(
    ("text", "line", "field", "needle"),
    [
        (GOOD.replace("range: [0, 20]", "range: [20, 0]"), 6, "equipment_types.robot.signals[0].range", "above high"),
        (GOOD.replace("type: robot}", "type: robto}"), 12, "sites[0].areas[0].equipment[0].type", "not in equipment_types"),
        (GOOD.replace("unit: kN,", "unit: kN, wirtable: true,"), 15, "wirtable", "unknown field"),
        (GOOD.replace("- id: press", "- idx: press"), 13, "idx", "unknown field"),
        ("plant: p\nsites: [\n", 3, "", "not valid YAML"),
        ("plant: p\n", 1, "sites", "required field is missing"),
    ],
)
def test_errors_name_file_line_and_field(text: str, line: int, field: str, needle: str) -> None:
    with pytest.raises(PlantFileError) as ei:
        parse_plant(text, "plant.yaml")
    msg = str(ei.value)
    assert f"plant.yaml:{line}" in msg, msg
    assert field in msg and needle in msg, msg


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PlantFileError, match="cannot read"):
        load_plant(tmp_path / "nope.yaml")


def test_shipped_demo_plant_is_valid() -> None:
    spec = load_plant(plant_path("demo"))
    assert spec.plant == "demo"
    assert len(spec.signal_defs()) > 50


def test_locate_finds_the_line_of_a_field_path(tmp_path: Path) -> None:
    from ironfield.core.plant import locate

    f = tmp_path / "p.yaml"
    f.write_text(GOOD + "alarms:\n  - {id: a, type: limit}\n  - id: b\n    signal: s/a/x\n")
    n = len(GOOD.splitlines())
    assert locate(str(f), "alarms[1].signal") == n + 4
    assert locate(str(f), "alarms[0]") == n + 2
    assert locate(str(tmp_path / "missing.yaml"), "alarms") is None


def test_apps_section_all_commented_out_or_without_settings_is_empty() -> None:
    base = "plant: x\nsites: [{id: s}]\n"
    assert parse_plant(base + "apps:\n  # >>> haulage\n  # <<< haulage\n").apps == {}
    assert parse_plant(base + "apps:\n  survey:\n  energy: {site: s}\n").apps == {"survey": {}, "energy": {"site": "s"}}
    with pytest.raises(PlantFileError, match="apps"):
        parse_plant(base + "apps: [survey]\n")
