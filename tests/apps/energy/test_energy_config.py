"""Plant-file section of the energy app: what validates, what is refused and why."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ironfield.apps.energy.config import (
    CHINA_GRID_FACTORS_2022,
    CarbonConfig,
    EnergyConfig,
    TariffConfig,
    demo_config,
)


def test_demo_config_is_luobei() -> None:
    cfg = demo_config()
    assert cfg.site.latitude == pytest.approx(47.6)
    assert cfg.site.longitude == pytest.approx(130.8)
    assert cfg.site.timezone == "Asia/Shanghai"
    # round trip through the plain mapping a YAML loader would give
    again = EnergyConfig.model_validate(cfg.model_dump(mode="json"))
    assert again == cfg


def test_published_grid_factors() -> None:
    # MEE/NBS 2022 factors as published
    assert CHINA_GRID_FACTORS_2022["national_2022"] == 0.5366
    assert CHINA_GRID_FACTORS_2022["northeast_2022"] == 0.5564
    assert CarbonConfig().location_factor() == 0.5564
    assert CarbonConfig(grid_factor="national_2022").location_factor() == 0.5366
    assert CarbonConfig(grid_factor=0.6).location_factor() == 0.6
    # without a residual mix the market factor falls back to the location factor
    assert CarbonConfig().market_factor() == 0.5564


def test_unknown_grid_factor_refused() -> None:
    with pytest.raises(ValidationError, match="not one of"):
        CarbonConfig(grid_factor="mars_2022")


def test_tariff_must_cover_the_day() -> None:
    with pytest.raises(ValidationError, match="no tariff period covers"):
        TariffConfig.model_validate(
            {"periods": [{"name": "peak", "start": "08:00", "end": "20:00",
                          "price_per_kwh": 1.0}]})


def test_tariff_wraps_midnight() -> None:
    t = demo_config().tariff
    assert t.price_at_minute(23 * 60 + 30) == 0.30
    assert t.price_at_minute(3 * 60) == 0.30
    assert t.price_at_minute(7 * 60 + 10) == 0.60
    assert t.price_at_minute(12 * 60) == 0.95


def test_unknown_zone_and_extra_keys_refused() -> None:
    base = demo_config().model_dump(mode="json")
    base["site"]["timezone"] = "Asia/Luobei"
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        EnergyConfig.model_validate(base)
    base = demo_config().model_dump(mode="json")
    base["pv"]["arrays"][0]["tilt"] = 30  # misspelt key must not pass silently
    with pytest.raises(ValidationError):
        EnergyConfig.model_validate(base)
