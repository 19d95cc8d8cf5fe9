"""Energy and carbon app: PV model and forecast, site balance, truck charging, carbon.

Pure domain modules (no I/O, no app wiring):

- :mod:`.config` the ``apps: {energy: ...}`` plant-file section (pydantic)
- :mod:`.checks` input checks with reasons; timestamps must carry a zone
- :mod:`.pvmodel` pvlib ModelChain per array: expected and clear-sky AC power
- :mod:`.calibrate` PVWatts parameters from measured data
- :mod:`.performance` IEC 61724-1 performance ratio, loss events
- :mod:`.forecast`, :mod:`.metrics` intraday and day-ahead forecasts, SFA metrics
- :mod:`.balance` site energy balance, shift/day energy, self-consumption, peak demand
- :mod:`.charging` truck charging schedule (HiGHS LP, or MILP) with infeasibility explained
- :mod:`.policy` the charge-when-low baseline it is compared against
- :mod:`.carbon`, :mod:`.report` GHG Protocol scopes 1-2, avoided emissions, monthly report
"""
