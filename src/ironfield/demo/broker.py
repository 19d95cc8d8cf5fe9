"""An embedded MQTT broker (amqtt, pure Python) so the demo needs no server installed."""

from __future__ import annotations

import logging
import socket
from typing import Any

from amqtt.broker import Broker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def start_embedded_broker(port: int | None = None) -> tuple[Any, int]:
    """Start amqtt on 127.0.0.1; returns (broker, port). MQTT 3.1.1 only."""
    port = port or free_port()
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.ERROR)
    broker = Broker({
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "sys_interval": 0,
        "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
        "topic-check": {"enabled": False},
    })
    await broker.start()
    return broker, port
