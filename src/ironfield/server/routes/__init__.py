"""REST routes and pages, one module per area."""
