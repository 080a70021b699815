"""Shapes of the Allociné import endpoints (the import service's ImporterService)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel

from gateway.schemas.common import Flag, Int64, RequestBody, Text, upstream_checked

SyncStatus = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED"]
SyncTrigger = Literal["ON_DEMAND", "SCHEDULED"]


class AllocineSettingsIn(RequestBody):
    # Any case; its Relay id ("VGhlYXRlcjpQMDU5MQ==") is taken too (422 INVALID_THEATER_ID).
    theater_id: Annotated[
        Text,
        upstream_checked(
            pattern="^[A-Za-z][A-Za-z0-9]{4}$",
            description='Allociné\'s theater id, e.g. "P0591"',
            examples=["P0591"],
        ),
    ]
    # The single price of every imported showtime (422 INVALID_PRICE).
    price_cents: Annotated[Int64, upstream_checked(minimum=1, maximum=30000)]
    # Places per imported showtime; absent or null: unlimited (422 INVALID_QUANTITY).
    quantity: Annotated[Int64, upstream_checked(minimum=0, maximum=1_000_000)] | None = None
    # Whether offers created by the import are duo (default true).
    is_duo: Flag | None = None
    # Whether the daily import syncs this venue (default true).
    enabled: Flag | None = None


class AllocineSettingsOut(BaseModel):
    venue_id: str
    theater_id: str
    theater_relay_id: str
    price_cents: int
    quantity: int | None
    is_duo: bool
    enabled: bool
    updated_at: datetime | None


class RejectedMovieOut(BaseModel):
    # The movie's Allociné id, or its position in the feed ("#3") when unreadable.
    movie: str
    reason: str


class SyncOut(BaseModel):
    id: str
    venue_id: str
    status: SyncStatus
    trigger: SyncTrigger
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    offers_created: int
    offers_updated: int
    stocks_created: int
    stocks_updated: int
    # Kept from the feed: created, updated or already up to date.
    showtimes_imported: int
    # Not classic (3D, IMAX, 4DX…), special events, empty projection, duplicates, past.
    showtimes_skipped: int
    movies_rejected: int
    # Why a FAILED sync failed; null otherwise.
    error: str | None
    rejected_movies: list[RejectedMovieOut]
    # The feed had not changed since the last successful sync: nothing was sent to the
    # catalog; the feed's counts are that sync's.
    feed_unchanged: bool
