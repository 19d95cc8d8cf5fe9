"""asyncua as the connector code sees it: untyped.

asyncua 2.1.0 ships type hints whose NewType aliases (``Int16``, ``UInt32``, ``String``)
reject plain ints and strs under ``mypy --strict``; wrapping every literal would hide the
code. Its behaviour is covered by the tests against the real server instead.
"""

from __future__ import annotations

from typing import Any

import asyncua as _asyncua
import asyncua.ua as _ua
from asyncua.common.methods import uamethod as _uamethod
from asyncua.common.subscription import Subscription as _Subscription
from asyncua.crypto import security_policies as _policies

ua: Any = _ua
Client: Any = getattr(_asyncua, "Client")  # noqa: B009 (not re-exported explicitly)
Server: Any = getattr(_asyncua, "Server")  # noqa: B009
Subscription: Any = _Subscription
uamethod: Any = _uamethod
SecurityPolicyBasic256Sha256: Any = _policies.SecurityPolicyBasic256Sha256
