"""ironfield.apps: one folder per domain app; apps never import each other."""
