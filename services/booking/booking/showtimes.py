"""What the booking service knows of the catalog's showtimes: GetStock's answers, kept a
minute per process.

A booking is opened with these (its film, venue, price…), then the catalog's reservation
answers the price, start, features and title as they are when the seats are taken, and the
booking is confirmed at those (lifecycle.confirm). What is kept never decides whether a
showtime can be booked: the reservation does. So a booking of a showtime seen in the last
minute costs the catalog one call instead of two; only the venue's name, address and email in
the answer may be a minute old.
"""

import time
from collections import OrderedDict

from booking.catalog_client import CatalogClient, StockDetails

TTL_SECONDS = 60.0
MAX_SHOWTIMES = 10_000


class Showtimes:
    def __init__(
        self, catalog: CatalogClient, ttl: float = TTL_SECONDS, size: int = MAX_SHOWTIMES
    ) -> None:
        self._catalog = catalog
        self._ttl = ttl
        self._size = size
        self._kept: OrderedDict[str, tuple[float, StockDetails]] = OrderedDict()

    async def get(self, stock_id: str) -> StockDetails | None:
        """The stock with its offer and venue (None when the catalog does not know it); raises
        grpc.aio.AioRpcError when the catalog could not answer."""
        kept = self._kept.get(stock_id)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        stock = await self._catalog.get_stock(stock_id)
        if stock is not None:
            self._kept[stock_id] = (time.monotonic() + self._ttl, stock)
            self._kept.move_to_end(stock_id)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return stock

    def forget(self, stock_id: str) -> None:
        """The catalog refused this showtime: ask it again next time."""
        self._kept.pop(stock_id, None)
