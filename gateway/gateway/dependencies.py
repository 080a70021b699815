"""Per-request dependencies of the routes: upstream stubs bound to the caller."""

from typing import Annotated

from fastapi import Depends, Request

from gateway.auth import Caller, admin_caller, pro_caller
from gateway.upstreams import Catalog
from pclib.idempotency import METADATA_KEY


def _catalog(request: Request, metadata: tuple) -> Catalog:
    state = request.app.state
    return state.catalog.bound(
        metadata + idempotency_metadata(request), state.settings.upstream_timeout_seconds
    )


def idempotency_metadata(request: Request) -> tuple[tuple[str, str], ...]:
    """The `Idempotency-Key` header, forwarded for services to answer a repeated create once."""
    key = request.headers.get("idempotency-key", "").strip()
    return ((METADATA_KEY, key),) if key else ()


def public_catalog(request: Request) -> Catalog:
    return _catalog(request, ())


def pro_catalog(request: Request, caller: Annotated[Caller, Depends(pro_caller)]) -> Catalog:
    return _catalog(request, caller.metadata)


def admin_catalog(request: Request, caller: Annotated[Caller, Depends(admin_caller)]) -> Catalog:
    return _catalog(request, caller.metadata)


PublicCatalog = Annotated[Catalog, Depends(public_catalog)]
ProCatalog = Annotated[Catalog, Depends(pro_catalog)]
AdminCatalog = Annotated[Catalog, Depends(admin_catalog)]
