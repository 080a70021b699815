"""A venue's booking notifications (booking NotificationService): a URL that receives a signed
POST `{action: BOOK|CANCEL, booking: {...}}` on every booking and cancellation, and the log of
those deliveries (retried for 24 hours, then dead-lettered)."""

from fastapi import APIRouter, Response

from gateway.dependencies import ProBooking
from gateway.proto_fields import instant, optional_instant
from gateway.routes.pagination import Paging, page
from gateway.schemas.common import Page
from gateway.schemas.notifications import (
    NotificationDeliveryOut,
    NotificationsIn,
    NotificationsOut,
    NotificationsSetOut,
)
from passculture.booking.v1 import notification_service_pb2 as pb

router = APIRouter(prefix="/v1/pro/venues/{venue_id}/notifications", tags=["pro notifications"])


def _out(settings: pb.VenueNotifications) -> NotificationsOut:
    return NotificationsOut(
        venue_id=settings.venue_id, url=settings.url, updated_at=instant(settings, "updated_at")
    )


def _delivery_out(delivery: pb.NotificationDelivery) -> NotificationDeliveryOut:
    # action and status: the service's values, checked against the schema's enums here.
    return NotificationDeliveryOut.model_validate(
        {
            "id": delivery.id,
            "booking_id": delivery.booking_id,
            "action": delivery.action,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "created_at": instant(delivery, "created_at"),
            "last_attempt_at": optional_instant(delivery, "last_attempt_at"),
            "last_status_code": delivery.last_status_code or None,
            "last_error": delivery.last_error,
            "next_attempt_at": optional_instant(delivery, "next_attempt_at"),
            "delivered_at": optional_instant(delivery, "delivered_at"),
        }
    )


@router.put("")
async def put_notifications(
    venue_id: str, body: NotificationsIn, booking: ProBooking
) -> NotificationsSetOut:
    """Sets the venue's URL and a new signing secret (in this answer only). The host must
    resolve to public addresses only (422 NOTIFICATION_URL_FORBIDDEN) over https
    (422 INVALID_NOTIFICATION_URL)."""
    reply = await booking.notifications.PutVenueNotifications(
        pb.PutVenueNotificationsRequest(venue_id=venue_id, url=body.url)
    )
    shown = _out(reply.notifications)
    return NotificationsSetOut(**shown.model_dump(), signing_secret=reply.signing_secret)


@router.get("")
async def get_notifications(venue_id: str, booking: ProBooking) -> NotificationsOut:
    """The venue's URL (never the secret)."""
    reply = await booking.notifications.GetVenueNotifications(
        pb.GetVenueNotificationsRequest(venue_id=venue_id)
    )
    return _out(reply.notifications)


@router.delete("", status_code=204)
async def delete_notifications(venue_id: str, booking: ProBooking) -> Response:
    """No more notifications: the pending ones are dead-lettered."""
    await booking.notifications.DeleteVenueNotifications(
        pb.DeleteVenueNotificationsRequest(venue_id=venue_id)
    )
    return Response(status_code=204)


@router.get("/deliveries")
async def list_deliveries(
    venue_id: str, booking: ProBooking, paging: Paging
) -> Page[NotificationDeliveryOut]:
    """The venue's deliveries, newest first: attempts, the receiver's last status, the next
    attempt's time while PENDING."""
    reply = await booking.notifications.ListNotificationDeliveries(
        pb.ListNotificationDeliveriesRequest(
            venue_id=venue_id, page_size=paging.page_size, page_token=paging.page_token
        )
    )
    return page(map(_delivery_out, reply.deliveries), reply.next_page_token)
