"""Modbus TCP connector: coalesced polling, register decoding, SunSpec inverters, write-back."""
