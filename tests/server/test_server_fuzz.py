"""schemathesis against the published OpenAPI: no request it generates gets a 5xx.

A bounded run (a few examples per operation) on a real server, with an admin bearer token
so every operation is reached past the auth checks.
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from server.server_rig import PASSWORD, LiveServer

EXAMPLES = 6


def test_openapi_fuzz_finds_no_server_errors(live_server: LiveServer) -> None:
    admin = live_server.auth.users.create_token("ada", "fuzz")[0]
    operator = live_server.auth.users.create_token("otto", "fuzz")[0]
    spec = httpx.get(f"{live_server.url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    answered: list[int] = []
    ops = 0

    def run(op: Any, token: str) -> None:
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def check(case: Any) -> None:
            r = case.call(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
            answered.append(r.status_code)
            if r.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} -> "
                                f"{r.status_code} {r.text[:200]}")

        check()

    for result in schema.get_all_operations():
        op = result.ok()  # type: ignore[union-attr]  # an Err raises here, as it should
        ops += 1
        # Operator for user/token admin so the fuzzer cannot lock itself out by deleting ada.
        run(op, operator if op.path.startswith("/api/auth/") else admin)
    assert ops >= 25
    # The run reached the handlers, not only the auth and validation layers.
    assert sum(200 <= c < 300 for c in answered) >= 25, sorted(set(answered))
    assert not failures, "\n".join(failures[:10])
    # Still alive and still guarded afterwards.
    r = httpx.post(f"{live_server.url}/api/auth/login", json={"username": "vic", "password": PASSWORD})
    assert r.status_code == 200
