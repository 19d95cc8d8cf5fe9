"""The simulated devices' time models and maps (analytic truths, no network)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509

from ironfield.connectors.modbus import sunspec_models as ss
from ironfield.connectors.sim.certs import make_certificate
from ironfield.connectors.sim.modbus_inverter import SUNSPEC_BASE, SimInverter
from ironfield.connectors.sim.timemodel import bulk_values, inverter_state, solar_fraction, wave


def test_solar_fraction_half_sine() -> None:
    h = 3600.0
    assert solar_fraction(3 * h) == 0.0  # night
    assert solar_fraction(12 * h) == pytest.approx(1.0)  # solar noon
    assert solar_fraction(8 * h) == pytest.approx(0.5)  # sin(30 deg)
    # 120 deg east: local solar noon is 8 h earlier in UTC
    assert solar_fraction(4 * h, longitude_deg=120.0) == pytest.approx(1.0)


def test_inverter_throttles_to_the_limit_and_conserves_power() -> None:
    st = inverter_state(12 * 3600.0, 10_000.0, 30.0, 0.0, efficiency=0.96, dc_voltage_v=600.0)
    assert st["ac_w"] == pytest.approx(3000.0) and st["state"] == 5.0
    assert st["dc_v"] * st["dc_a"] == pytest.approx(st["dc_w"])
    assert st["ac_w"] / st["dc_w"] == pytest.approx(0.96)
    assert inverter_state(0.0, 10_000.0, 100.0, 0.0)["state"] == 2.0  # asleep at night


def test_wave_and_bulk_values() -> None:
    assert wave(15.0, 60.0, 2.0, 10.0) == pytest.approx(12.0)  # quarter period
    v1, v2 = bulk_values(100.2, 5), bulk_values(101.7, 5)
    assert np.all(v1 != v2) and v1[3] == pytest.approx(100.003)


def test_sunspec_map_walks_to_the_end_marker() -> None:
    sim = SimInverter(model=102, mppt=3, clock=lambda: 12 * 3600.0)
    sim.refresh()
    h = sim.holding
    assert (int(h[SUNSPEC_BASE]), int(h[SUNSPEC_BASE + 1])) == ss.SUNS
    a, seen = SUNSPEC_BASE + 2, []
    while int(h[a]) != ss.END_MODEL:
        seen.append((int(h[a]), int(h[a + 1])))
        a += 2 + int(h[a + 1])
    assert seen == [(1, 66), (102, 50), (160, 8 + 3 * 20)]
    w_sf = int(h[sim.layout["102.W_SF"]])
    assert int(h[sim.layout["102.W"]]) * 10.0 ** (w_sf - 65536 if w_sf > 32767 else w_sf) \
        == pytest.approx(10_000.0)


def test_certificate_carries_the_application_uri(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, "plc", "urn:ironfield:test")
    c = x509.load_der_x509_certificate(cert.read_bytes())
    uris = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == ["urn:ironfield:test"]
    assert key.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert not math.isnan(c.not_valid_after_utc.timestamp())
