"""ironfield.connectors: uplink/downlink converters between field protocols and batches."""
