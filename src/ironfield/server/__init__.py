"""ironfield.server: REST (OpenAPI), the WebSocket live feed, auth and roles, the web UI.

``create_app(platform)`` builds the ASGI app; ``serve(platform, host=..., port=...)`` runs
it in the caller's event loop; ``ensure_demo_user(data_dir)`` creates the demo login.
"""

from ironfield.server.app import create_app
from ironfield.server.auth import Auth, ensure_demo_user
from ironfield.server.run import make_server, serve

__all__ = ["Auth", "create_app", "ensure_demo_user", "make_server", "serve"]
