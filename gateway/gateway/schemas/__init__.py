"""Pydantic models of the HTTP API: request bodies (`*In`, `*Patch`) and answers."""
