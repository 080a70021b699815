"""JobService: an admin runs a scheduled job now."""

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.jobs import auto_use
from passculture.booking.v1 import job_service_pb2 as pb
from passculture.booking.v1 import job_service_pb2_grpc as pb_grpc
from pclib.auth import require_role


class JobServicer(pb_grpc.JobServiceServicer):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def RunAutoUse(
        self, request: pb.RunAutoUseRequest, context: grpc.aio.ServicerContext
    ) -> pb.RunAutoUseResponse:
        require_role("admin")
        # 0 when a scheduled run holds the lock: that run does the work.
        return pb.RunAutoUseResponse(bookings_used=await auto_use(self._engine))
