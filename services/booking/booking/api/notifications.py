"""NotificationService: a venue's notification URL, its signing secret, its delivery log.

Only the venue's pros (and admins): the venue is looked up among the caller's offerers' (asked
of the catalog on every call), another offerer's answering VENUE_NOT_FOUND like an unknown one.
"""

import uuid
from datetime import UTC, datetime

import grpc
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking import notifications
from booking.api.access import caller_metadata
from booking.catalog_client import CatalogClient
from booking.domain.status import DeliveryStatus
from booking.models import NotificationDelivery, Venue, VenueNotification
from passculture.booking.v1 import notification_service_pb2 as pb
from passculture.booking.v1 import notification_service_pb2_grpc as pb_grpc
from passculture.booking.v1.reasons import Reason
from pclib import pagination
from pclib.auth import require_role
from pclib.errors import NotFound
from pclib.timestamps import timestamp

PRO_ROLES = ("pro", "admin")


def _settings_pb(row: VenueNotification) -> pb.VenueNotifications:
    return pb.VenueNotifications(
        venue_id=str(row.venue_id), url=row.url, updated_at=timestamp(row.updated_at)
    )


def delivery_pb(row: NotificationDelivery) -> pb.NotificationDelivery:
    message = pb.NotificationDelivery(
        id=str(row.id),
        booking_id=str(row.booking_id),
        action=row.action.value,
        status=row.status.value,
        attempts=row.attempts,
        created_at=timestamp(row.created_at),
        last_status_code=row.last_status_code or 0,
        last_error=row.last_error,
    )
    if row.last_attempt_at is not None:
        message.last_attempt_at.CopyFrom(timestamp(row.last_attempt_at))
    if row.status == DeliveryStatus.PENDING:
        message.next_attempt_at.CopyFrom(timestamp(row.next_attempt_at))
    if row.delivered_at is not None:
        message.delivered_at.CopyFrom(timestamp(row.delivered_at))
    return message


def not_configured() -> NotFound:
    return NotFound(Reason.NOTIFICATIONS_NOT_CONFIGURED, "the venue has no notification URL")


class NotificationServicer(pb_grpc.NotificationServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        catalog: CatalogClient,
        destinations: notifications.Destinations,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._destinations = destinations

    async def PutVenueNotifications(
        self, request: pb.PutVenueNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.PutVenueNotificationsResponse:
        venue_id = await self._venue_id(request.venue_id, context)
        url = await notifications.checked_url(request.url, self._destinations)
        secret = notifications.new_signing_secret()
        async with self._sessions.begin() as session:
            row = await session.get(VenueNotification, venue_id, with_for_update=True)
            if row is None:
                row = VenueNotification(venue_id=venue_id)
                session.add(row)
            row.url, row.signing_secret, row.updated_at = url, secret, datetime.now(UTC)
        return pb.PutVenueNotificationsResponse(
            notifications=_settings_pb(row), signing_secret=secret
        )

    async def GetVenueNotifications(
        self, request: pb.GetVenueNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetVenueNotificationsResponse:
        venue_id = await self._venue_id(request.venue_id, context)
        async with self._sessions() as session:
            row = await session.get(VenueNotification, venue_id)
        if row is None:
            raise not_configured()
        return pb.GetVenueNotificationsResponse(notifications=_settings_pb(row))

    async def DeleteVenueNotifications(
        self, request: pb.DeleteVenueNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteVenueNotificationsResponse:
        venue_id = await self._venue_id(request.venue_id, context)
        async with self._sessions.begin() as session:
            row = await session.get(VenueNotification, venue_id, with_for_update=True)
            if row is None:
                raise not_configured()
            await session.delete(row)
            await session.execute(
                update(NotificationDelivery)
                .where(
                    NotificationDelivery.venue_id == venue_id,
                    NotificationDelivery.status == DeliveryStatus.PENDING,
                )
                .values(
                    status=DeliveryStatus.DEAD_LETTERED,
                    last_error="the venue removed its notification URL",
                )
            )
        return pb.DeleteVenueNotificationsResponse()

    async def ListNotificationDeliveries(
        self, request: pb.ListNotificationDeliveriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListNotificationDeliveriesResponse:
        venue_id = await self._venue_id(request.venue_id, context)
        size = pagination.page_size(request.page_size)
        offset = pagination.decode_token(request.page_token)
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(NotificationDelivery)
                    .where(NotificationDelivery.venue_id == venue_id)
                    .order_by(
                        NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc()
                    )
                    .offset(offset)
                    .limit(size + 1)
                )
            )
        return pb.ListNotificationDeliveriesResponse(
            deliveries=[delivery_pb(row) for row in rows[:size]],
            next_page_token=pagination.next_token(offset, size, len(rows)),
        )

    async def _venue_id(self, venue_id: str, context: grpc.aio.ServicerContext) -> uuid.UUID:
        """The venue, if one of the caller's offerers'."""
        principal = require_role(*PRO_ROLES)
        offerer_ids = (
            None
            if principal.role == "admin"
            else await self._catalog.offerer_ids_of(caller_metadata(context))
        )
        try:
            wanted = uuid.UUID(venue_id)
        except ValueError:
            raise NotFound(Reason.VENUE_NOT_FOUND, "venue not found") from None
        async with self._sessions() as session:
            venue = await session.get(Venue, wanted)
        if venue is None or (offerer_ids is not None and venue.offerer_id not in offerer_ids):
            raise NotFound(Reason.VENUE_NOT_FOUND, "venue not found")
        return venue.id
