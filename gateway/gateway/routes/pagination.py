"""Query parameters of the list endpoints (`page_size` 1..500, default 50; `page_token`)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from gateway.schemas.common import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


@dataclass(frozen=True)
class PageQuery:
    page_size: int
    page_token: str


async def page_query(
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    page_token: Annotated[str, Query(description="next_page_token of the previous page")] = "",
) -> PageQuery:
    return PageQuery(page_size, page_token)


Paging = Annotated[PageQuery, Depends(page_query)]
