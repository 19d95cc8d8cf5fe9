"""MQTT connector (MQTT 5, QoS 1, persistent session, acknowledged only once durable)."""
