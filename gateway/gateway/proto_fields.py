"""Protobuf fields read for the JSON models: Timestamps as aware UTC datetimes, and an unset
optional field as None (proto3 has no null)."""

from datetime import datetime

from google.protobuf.message import Message

from pclib.timestamps import optional_datetime


def optional_instant(message: Message, field: str) -> datetime | None:
    return optional_datetime(message, field)


def instant(message: Message, field: str) -> datetime:
    """A Timestamp the upstream always sets (unset: a bug of theirs, answered 500)."""
    moment = optional_instant(message, field)
    if moment is None:
        raise ValueError(f"{message.DESCRIPTOR.full_name}.{field} is not set")
    return moment


def optional_int(message: Message, field: str) -> int | None:
    if not message.HasField(field):
        return None
    value: int = getattr(message, field)
    return value
