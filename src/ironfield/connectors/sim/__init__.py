"""Simulated field devices (an OPC UA PLC, a SunSpec PV inverter) on loopback ports."""
