"""Shared plumbing of the pass Culture cinema services. No business rules live here."""
