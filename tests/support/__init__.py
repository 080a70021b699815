"""Test support, never shipped: pytest fixtures for real PostgreSQL and RabbitMQ
(pclib_fixtures, a root conftest plugin), a TCP proxy that cuts connections, and each service's
helpers for tests that drive it through its gRPC API (<service>_helpers, catalog_fixtures)."""
