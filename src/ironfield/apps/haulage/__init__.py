"""Haulage: an unmanned electric truck fleet — road network, energy, tracking, dispatch,
simulation and production KPIs.

Pure domain code; the plug-in that wires it to MQTT, the historian and the UI lives apart.
"""
