"""The survey app plug-in: derived signals, the survey service, its page, the demo drone.

Entry point ``ironfield.apps: survey = ironfield.apps.survey.app:SurveyApp``. Signals it
writes (asset ``<site>/survey``, all at the survey's time): ``mined_m3``, ``mined_t``,
``cut_m3``, ``fill_m3``, ``coverage``, ``stockpile_<id>_t`` and ``reconciliation_ratio``;
events ``survey.processed`` and ``survey.failed``. See docs/survey.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ironfield.apps.survey.config import SurveyConfig, load_config
from ironfield.apps.survey.service import SurveyService
from ironfield.core.plant import PlantSpec
from ironfield.core.plugins import AppContext, SimulationContext
from ironfield.core.signals import SignalDef

if TYPE_CHECKING:
    from ironfield.server.appweb import AppWeb


def signal_defs(cfg: SurveyConfig) -> list[SignalDef]:
    a = cfg.asset
    defs = [
        SignalDef(f"{a}/mined_m3", unit="m3",
                  description="volume mined since the previous survey (cut - fill in the pit)"),
        SignalDef(f"{a}/mined_t", unit="t", description="tonnes mined since the previous survey (mined_m3 x density)"),
        SignalDef(f"{a}/cut_m3", unit="m3", description="cut volume since the previous survey"),
        SignalDef(f"{a}/fill_m3", unit="m3", description="fill volume since the previous survey"),
        SignalDef(f"{a}/coverage", unit="1", low=0, high=1,
                  description="share of the compared area backed by measured points"),
        SignalDef(f"{a}/reconciliation_ratio", unit="1",
                  description="surveyed tonnes mined / tonnes hauled over the same period"),
    ]
    defs += [SignalDef(f"{a}/stockpile_{s.id}_t", unit="t", description=f"stockpile {s.id} tonnes")
             for s in cfg.stockpiles]
    return defs


class SurveyApp:
    """Drone surveys to ground model, volumes mined, stockpile tonnes and reconciliation."""

    name = "survey"

    def __init__(self) -> None:
        self.service: SurveyService | None = None

    def signals(self, config: Mapping[str, Any], plant: PlantSpec) -> list[SignalDef]:
        return signal_defs(load_config(config))

    async def run(self, ctx: AppContext) -> None:
        cfg = load_config(ctx.config)
        self.service = SurveyService(cfg, ctx.data_dir, ctx.registry, ctx.history,
                                     ctx.submit, ctx.emit)
        await self.service.run()

    def web(self) -> AppWeb:  # the server layer is imported only when pages are served
        from ironfield.apps.survey.routes import survey_web

        return survey_web(self)

    async def simulate(self, ctx: SimulationContext) -> None:
        from ironfield.apps.survey.simulate import run_drone

        await run_drone(ctx)
