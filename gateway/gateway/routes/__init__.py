"""HTTP routes, one module per upstream area."""
