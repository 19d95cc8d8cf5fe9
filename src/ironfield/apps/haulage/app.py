"""The haulage plug-in: an unmanned electric truck fleet in the platform.

Entry point ``ironfield.apps: haulage``. :meth:`HaulageApp.run` tracks the fleet from its
telemetry on the bus, writes KPIs under ``<site>/haulage/``, emits ``haulage.cycle`` and
``haulage.dispatch`` and sends assignments down through write-back (:mod:`.runner`);
:meth:`HaulageApp.web` brings the mine map and production pages (:mod:`.web`);
:meth:`HaulageApp.simulate` is the demo's fleet over MQTT (:mod:`.simulate`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ironfield.apps.haulage import events as _events  # noqa: F401  (registers payload models)
from ironfield.apps.haulage.runner import Runner
from ironfield.apps.haulage.settings import derived_signals, split
from ironfield.core.errors import IronfieldError
from ironfield.core.plant import PlantSpec
from ironfield.core.plugins import AppContext, SimulationContext
from ironfield.core.signals import SignalDef
from ironfield.server.appweb import AppWeb


class HaulageApp:
    name = "haulage"

    def __init__(self) -> None:
        self.runner: Runner | None = None

    def signals(self, config: Mapping[str, Any], plant: PlantSpec) -> list[SignalDef]:
        settings, _ = split(config)
        if settings.loader_status:
            paths = {d.path for d in plant.signal_defs_unchecked()}
            missing = [f"{ld}: {sig!r}" for ld, sig in settings.loader_status.items() if sig not in paths]
            if missing:
                raise IronfieldError(f"apps.haulage.loader_status names signals not in the plant: "
                                     f"{'; '.join(missing)}")
        return derived_signals(settings)

    async def run(self, ctx: AppContext) -> None:
        runner = Runner(ctx)
        self.runner = runner
        await runner.run()

    def web(self) -> AppWeb:
        from ironfield.apps.haulage.web import build_web

        return build_web()

    async def simulate(self, ctx: SimulationContext) -> None:
        from ironfield.apps.haulage.simulate import simulate

        await simulate(ctx)
