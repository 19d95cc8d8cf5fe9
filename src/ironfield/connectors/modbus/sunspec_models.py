"""SunSpec information models 1, 101-103 and 160: point layouts and the signals they give.

Offsets count registers from the first data register of the model (after ID and L).
A point with a scale factor is ``value = raw * 10**sf``; the "not implemented" markers
(0x8000 for int16/sunssf, 0xFFFF for uint16/enum16, 0 for acc32) read as missing.

.. [1] SunSpec Alliance 2015, "SunSpec Information Model Reference" (models 1, 101, 102,
   103, 160), and SunSpec Alliance 2015, "SunSpec Technical Note: SunSpec Modbus
   (device discovery: 'SunS' marker at 40000, 0 or 50000; end model 0xFFFF)".
"""

from __future__ import annotations

from dataclasses import dataclass

SUNS = (0x5375, 0x6E53)  # "SunS"
BASES = (40000, 0, 50000)
END_MODEL = 0xFFFF
COMMON = 1
INVERTERS = (101, 102, 103)
MPPT = 160


@dataclass(frozen=True, slots=True)
class Point:
    name: str  # SunSpec point name
    offset: int  # [registers] from the model's first data register
    type: str  # uint16 int16 enum16 sunssf acc32 uint32 bitfield32 string
    sf: str | None = None  # name of the scale-factor point
    signal: str | None = None  # ironfield signal name; None = not exposed
    unit: str = ""
    size: int = 1  # [registers]; strings and 32-bit types set it


COMMON_POINTS = (
    Point("Mn", 0, "string", size=16),
    Point("Md", 16, "string", size=16),
    Point("Opt", 32, "string", size=8),
    Point("Vr", 40, "string", size=8),
    Point("SN", 48, "string", size=16),
    Point("DA", 64, "uint16"),
)
COMMON_LENGTH = 66

_PHASES = {101: "A", 102: "AB", 103: "ABC"}


def inverter_points(model: int) -> tuple[Point, ...]:
    """Points of inverter model 101 (single phase), 102 (split) or 103 (three phase)."""
    ph = _PHASES[model]
    pts = [
        Point("A", 0, "uint16", "A_SF", "ac_current_a", "A"),
        Point("A_SF", 4, "sunssf"),
        Point("V_SF", 11, "sunssf"),
        Point("W", 12, "int16", "W_SF", "ac_power_w", "W"),
        Point("W_SF", 13, "sunssf"),
        Point("Hz", 14, "uint16", "Hz_SF", "ac_frequency_hz", "Hz"),
        Point("Hz_SF", 15, "sunssf"),
        Point("VA", 16, "int16", "VA_SF", "ac_apparent_power_va", "VA"),
        Point("VA_SF", 17, "sunssf"),
        Point("VAr", 18, "int16", "VAr_SF", "ac_reactive_power_var", "var"),
        Point("VAr_SF", 19, "sunssf"),
        Point("PF", 20, "int16", "PF_SF", "power_factor_pct", "%"),
        Point("PF_SF", 21, "sunssf"),
        Point("WH", 22, "acc32", "WH_SF", "ac_energy_wh", "Wh", size=2),
        Point("WH_SF", 24, "sunssf"),
        Point("DCA", 25, "uint16", "DCA_SF", "dc_current_a", "A"),
        Point("DCA_SF", 26, "sunssf"),
        Point("DCV", 27, "uint16", "DCV_SF", "dc_voltage_v", "V"),
        Point("DCV_SF", 28, "sunssf"),
        Point("DCW", 29, "int16", "DCW_SF", "dc_power_w", "W"),
        Point("DCW_SF", 30, "sunssf"),
        Point("TmpCab", 31, "int16", "Tmp_SF", "cabinet_temp_c", "Cel"),
        Point("Tmp_SF", 35, "sunssf"),
        Point("St", 36, "enum16", None, "status", ""),
        Point("StVnd", 37, "enum16", None, "status_vendor", ""),
        Point("Evt1", 38, "bitfield32", None, "events", "", size=2),
    ]
    for i, p in enumerate("ABC"):
        if p in ph:
            pts.append(Point(f"Aph{p}", 1 + i, "uint16", "A_SF", f"ac_current_{p.lower()}_a", "A"))
            pts.append(Point(f"PhVph{p}", 8 + i, "uint16", "V_SF", f"ac_voltage_{p.lower()}n_v", "V"))
    return tuple(pts)


INVERTER_LENGTH = 50

# SunSpec "St" operating states [1]
STATES = {1: "off", 2: "sleeping", 3: "starting", 4: "mppt", 5: "throttled",
          6: "shutting_down", 7: "fault", 8: "standby"}

MPPT_FIXED = (
    Point("DCA_SF", 0, "sunssf"),
    Point("DCV_SF", 1, "sunssf"),
    Point("DCW_SF", 2, "sunssf"),
    Point("DCWH_SF", 3, "sunssf"),
    Point("N", 6, "uint16"),
)
MPPT_FIXED_LENGTH = 8
MPPT_MODULE_LENGTH = 20


def mppt_module_points(k: int) -> tuple[Point, ...]:
    """Points of the k-th (1-based) repeating module block of model 160."""
    b = MPPT_FIXED_LENGTH + (k - 1) * MPPT_MODULE_LENGTH
    return (
        Point(f"DCA{k}", b + 9, "uint16", "DCA_SF", f"mppt{k}_dc_current_a", "A"),
        Point(f"DCV{k}", b + 10, "uint16", "DCV_SF", f"mppt{k}_dc_voltage_v", "V"),
        Point(f"DCW{k}", b + 11, "uint16", "DCW_SF", f"mppt{k}_dc_power_w", "W"),
        Point(f"DCWH{k}", b + 12, "acc32", "DCWH_SF", f"mppt{k}_dc_energy_wh", "Wh", size=2),
        Point(f"Tmp{k}", b + 16, "int16", None, f"mppt{k}_temp_c", "Cel"),
        Point(f"DCSt{k}", b + 17, "enum16", None, f"mppt{k}_status", ""),
    )
