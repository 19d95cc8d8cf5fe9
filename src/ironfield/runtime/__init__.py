"""ironfield.runtime: wiring of connectors, pipeline, historian, alarms and apps."""
