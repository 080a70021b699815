"""The HTTP/JSON gateway: authenticates callers and turns HTTP requests into gRPC calls."""
